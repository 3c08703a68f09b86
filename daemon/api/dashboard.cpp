#include "api/dashboard.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace certlab::api {

namespace dashboard {

namespace {

// The page runs only its own files: no inline script or style, nothing from another
// origin, and nobody may frame it (a framed answer button is a clickjacking target).
constexpr std::string_view content_security_policy =
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void add_headers(Response& res, std::string_view etag) {
    res.headers.emplace_back("ETag", std::string(etag));
    // Set after the server's `no-store`, so it wins: the browser may keep a copy but
    // must ask (If-None-Match) before using it, so a new certlabd's page shows at once.
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("Content-Security-Policy", std::string(content_security_policy));
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace

const EmbeddedAsset* find_asset(std::string_view name) {
    for (const auto& a : embedded_assets())
        if (a.name == name) return &a;
    return nullptr;
}

std::string_view content_type(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> types{{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    }};
    for (const auto& [ext, type] : types)
        if (name.size() > ext.size() && name.ends_with(ext)) return type;
    return "application/octet-stream";
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    // RFC 9110 13.1.2: a comma-separated list compared weakly, or `*` for any.
    while (!if_none_match.empty()) {
        auto comma = if_none_match.find(',');
        auto tag = trim(if_none_match.substr(0, comma));
        if_none_match = comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
        if (tag == "*") return true;
        if (tag.starts_with("W/")) tag.remove_prefix(2);
        if (!tag.empty() && tag == etag) return true;
    }
    return false;
}

Response asset_response(std::string_view name, std::string_view if_none_match) {
    const auto* asset = find_asset(name);
    if (!asset) throw HttpError(404, "no dashboard asset '" + std::string(name) + "'");
    Response res;
    res.content_type = std::string(content_type(asset->name));
    if (etag_matches(if_none_match, asset->etag)) {
        res.status = 304;
    } else {
        res.status = 200;
        res.body = std::string(asset->bytes);
    }
    add_headers(res, asset->etag);
    return res;
}

}  // namespace dashboard

void add_dashboard_routes(Router& r) {
    // Public: the files hold no station data, and a browser must load the page before
    // it can ask for a token. What the page shows comes from the API, which checks one.
    // A browser revalidating with the ETag it holds gets 304 and no body.
    r.add_any("GET", "/", [](const Request& req) { return dashboard::asset_response("index.html", req.if_none_match); });
    r.add_any("GET", "/dashboard/{asset}",
              [](const Request& req) { return dashboard::asset_response(req.params.at("asset"), req.if_none_match); });
}

}  // namespace certlab::api
