// The dashboard's static routes: the embedded files are the source tree's, served
// with their content types, an ETag that revalidates to 304, and the page's strict
// security headers; anything else under /dashboard/ is a 404.
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "api/dashboard.hpp"
#include "support/process.hpp"

using namespace certlab::api;
namespace fs = std::filesystem;

namespace {

Router dashboard_router() {
    Router r;
    add_dashboard_routes(r);
    return r;
}

Response get(const Router& r, const std::string& target, const std::string& method = "GET") {
    Request req;
    req.method = method;
    req.target = target;
    parse_target(req.target, req);
    return r.dispatch(req);
}

std::optional<std::string> header(const Response& res, const std::string& name) {
    for (const auto& [n, v] : res.headers)
        if (n == name) return v;
    return std::nullopt;
}

const fs::path asset_dir = certlab::test::source("daemon/api/dashboard");

}  // namespace

TEST_CASE("dashboard: every file of api/dashboard is embedded byte for byte") {
    std::set<std::string> on_disk;
    for (const auto& entry : fs::directory_iterator(asset_dir)) {
        const auto name = entry.path().filename().string();
        // What cmake/embed.cmake leaves out: hidden files and editor backups.
        if (entry.is_regular_file() && name.front() != '.' && name.back() != '~') on_disk.insert(name);
    }
    REQUIRE(on_disk.count("index.html") == 1);
    REQUIRE(on_disk.count("app.js") == 1);
    REQUIRE(on_disk.count("style.css") == 1);

    std::set<std::string> embedded;
    std::set<std::string_view> etags;
    for (const auto& a : dashboard::embedded_assets()) {
        embedded.insert(std::string(a.name));
        CHECK_MESSAGE(a.bytes == certlab::test::read_file(asset_dir / std::string(a.name)), a.name);
        CHECK(a.etag.size() > 2);
        CHECK(a.etag.front() == '"');
        CHECK(a.etag.back() == '"');
        etags.insert(a.etag);
    }
    CHECK(embedded == on_disk);
    CHECK(etags.size() == embedded.size());  // content-derived: different files, different tags
}

TEST_CASE("dashboard: the page and its assets are served with their content types and strict headers") {
    auto r = dashboard_router();
    auto page = get(r, "/");
    REQUIRE(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body == certlab::test::read_file(asset_dir / "index.html"));
    CHECK(header(page, "ETag") == std::string(dashboard::find_asset("index.html")->etag));
    CHECK(header(page, "Cache-Control") == "no-cache");
    auto csp = header(page, "Content-Security-Policy");
    REQUIRE(csp);
    CHECK(csp->find("default-src 'self'") == 0);
    CHECK(csp->find("frame-ancestors 'none'") != std::string::npos);
    CHECK(csp->find("unsafe-inline") == std::string::npos);
    CHECK(header(page, "X-Content-Type-Options") == "nosniff");
    CHECK(header(page, "Referrer-Policy") == "no-referrer");

    const std::pair<const char*, const char*> types[] = {
        {"/dashboard/app.js", "text/javascript; charset=utf-8"},
        {"/dashboard/style.css", "text/css; charset=utf-8"},
        {"/dashboard/icon.svg", "image/svg+xml"},
        {"/dashboard/index.html", "text/html; charset=utf-8"},
    };
    for (const auto& [target, type] : types) {
        auto res = get(r, target);
        CHECK_MESSAGE(res.status == 200, target);
        CHECK_MESSAGE(res.content_type == type, target);
        CHECK(header(res, "X-Content-Type-Options") == "nosniff");
        CHECK(header(res, "ETag").has_value());
    }
    CHECK(dashboard::content_type("data.bin") == "application/octet-stream");
    CHECK(dashboard::content_type(".js") == "application/octet-stream");  // a name, not only an extension
}

TEST_CASE("dashboard: a matching If-None-Match is answered 304 without a body") {
    const auto* app = dashboard::find_asset("app.js");
    REQUIRE(app != nullptr);
    const std::string etag(app->etag);

    auto fresh = dashboard::asset_response("app.js", etag);
    CHECK(fresh.status == 304);
    CHECK(fresh.body.empty());
    CHECK(header(fresh, "ETag") == etag);
    CHECK(header(fresh, "Cache-Control") == "no-cache");

    CHECK(dashboard::asset_response("app.js", "W/" + etag).status == 304);               // weak comparison
    CHECK(dashboard::asset_response("app.js", "\"old\", " + etag + " ").status == 304);  // a list
    CHECK(dashboard::asset_response("app.js", "*").status == 304);
    auto stale = dashboard::asset_response("app.js", "\"0123456789abcdef0123\"");
    CHECK(stale.status == 200);
    CHECK(stale.body == app->bytes);
    CHECK(dashboard::asset_response("app.js", "").status == 200);
    // Another file's tag is not this one's.
    CHECK(dashboard::asset_response("style.css", etag).status == 200);
}

TEST_CASE("dashboard: unknown assets are 404 and the routes are GET only") {
    auto r = dashboard_router();
    for (auto target : {"/dashboard/nothing.js", "/dashboard/..%2Fapp.js", "/dashboard/APP.JS", "/dashboard/",
                        "/dashboard/app.js/x"}) {
        auto res = get(r, target);
        CHECK_MESSAGE(res.status == 404, target);
        CHECK(res.content_type == "application/problem+json");
    }
    CHECK_THROWS_AS((void)dashboard::asset_response("missing.css"), HttpError);
    auto post = get(r, "/", "POST");
    CHECK(post.status == 405);
    CHECK(header(post, "Allow") == "GET");
}

TEST_CASE("dashboard: the page runs under its policy - no inline script, style or handler") {
    // default-src 'self' refuses inline code: the page would load and do nothing.
    const auto html = certlab::test::read_file(asset_dir / "index.html");
    const std::regex script_tag(R"(<script\b([^>]*)>)", std::regex::icase);
    int scripts = 0;
    for (std::sregex_iterator it(html.begin(), html.end(), script_tag), end; it != end; ++it) {
        ++scripts;
        CHECK_MESSAGE((*it)[1].str().find("src=\"/dashboard/") != std::string::npos, it->str());
    }
    CHECK(scripts >= 1);
    CHECK_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
    CHECK_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=|<style\b)", std::regex::icase)));
    // Nothing from elsewhere: every link and script points into the daemon.
    CHECK_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*"(https?:)?//)", std::regex::icase)));
    for (const auto& entry : fs::directory_iterator(asset_dir)) {
        const auto text = certlab::test::read_file(entry.path());
        CHECK_MESSAGE(text.find("https://cdn") == std::string::npos, entry.path());
        CHECK_MESSAGE(text.find("fonts.googleapis") == std::string::npos, entry.path());
    }
}
