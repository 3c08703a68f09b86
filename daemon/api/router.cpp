#include "api/router.hpp"

#include <algorithm>

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>

#include "api/json.hpp"

namespace certlab::api {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool is_param(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string_view> Request::query_param(std::string_view name) const {
    if (auto it = query.find(name); it != query.end()) return std::string_view(it->second);
    return std::nullopt;
}

Response problem(unsigned status, std::string_view detail) {
    namespace http = boost::beast::http;
    auto reason = http::obsolete_reason(http::int_to_status(status));
    nlohmann::ordered_json doc = {
        // about:blank: the status code says it all; `detail` says what went wrong
        // for this request (RFC 7807 section 4.2).
        {"type", "about:blank"},
        {"title", reason.empty() ? "Error" : std::string(reason)},
        {"status", status},
        {"detail", std::string(detail)},
    };
    return Response{status, "application/problem+json", dump(doc), {}};
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

void parse_target(std::string_view target, Request& req) {
    auto qmark = target.find('?');
    req.path = std::string(target.substr(0, qmark));
    req.query.clear();
    if (qmark == std::string_view::npos) return;
    std::string_view rest = target.substr(qmark + 1);
    // A fragment is never sent by a conforming client; ignore one if it is.
    rest = rest.substr(0, rest.find('#'));
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view{}
                                                                 : pair.substr(eq + 1),
                                    true);
        if (!name || !value) throw HttpError(400, "malformed percent escape in query string");
        req.query[*name] = *value;
    }
}

void Router::add(std::string method, std::string_view pattern, Handler handler, std::size_t max_body,
                 Affinity affinity) {
    Route route{std::move(method), {}, std::move(handler), max_body, affinity};
    largest_body_ = std::max(largest_body_, max_body);
    for (auto segment : split_path(pattern)) route.segments.emplace_back(segment);
    routes_.push_back(std::move(route));
}

std::optional<std::size_t> Router::body_limit(std::string_view method, std::string_view path) const {
    try {
        auto parts = split_path(path);
        for (const auto& route : routes_)
            if (route.max_body != 0 && route.method == method && match(route, parts, nullptr)) return route.max_body;
    } catch (const HttpError&) {
        // A malformed path gets its 400 from dispatch(); the default limit is fine for that.
    }
    return std::nullopt;
}

Affinity Router::affinity(std::string_view method, std::string_view path) const {
    try {
        auto parts = split_path(path);
        for (const auto& route : routes_)
            if (route.method == method && match(route, parts, nullptr)) return route.affinity;
    } catch (const HttpError&) {
        // dispatch() answers the malformed path, wherever it runs.
    }
    return Affinity::station;
}

bool Router::match(const Route& route, const std::vector<std::string_view>& path,
                   StringMap* params) {
    if (route.segments.size() != path.size()) return false;
    StringMap found;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto& want = route.segments[i];
        if (is_param(want)) {
            if (path[i].empty()) return false;
            auto decoded = percent_decode(path[i], false);
            if (!decoded) throw HttpError(400, "malformed percent escape in path");
            found[want.substr(1, want.size() - 2)] = std::move(*decoded);
        } else if (want != path[i]) {
            return false;
        }
    }
    if (params) *params = std::move(found);
    return true;
}

Response Router::dispatch(Request& req) const {
    try {
        auto path = split_path(req.path);
        std::vector<std::string> allowed;  // methods of the routes with this path
        for (const auto& route : routes_) {
            if (!match(route, path, nullptr)) continue;
            if (route.method == req.method) {
                (void)match(route, path, &req.params);
                return route.handler(req);
            }
            if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end())
                allowed.push_back(route.method);
        }
        if (allowed.empty()) throw HttpError(404, "no such endpoint: " + req.path);
        std::string allow;
        for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
        auto res = problem(405, req.method + " is not allowed on " + req.path + "; use " + allow);
        res.headers.emplace_back("Allow", allow);
        return res;
    } catch (const HttpError& e) {
        return problem(e.status(), e.what());
    } catch (const std::exception& e) {
        // One bad request never takes the daemon down: the failure becomes this
        // request's 500 and the connection carries on.
        return problem(500, std::string("internal error: ") + e.what());
    }
}

}  // namespace certlab::api
