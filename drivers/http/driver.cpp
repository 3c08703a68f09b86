// The `http` driver: network devices with HTTP/JSON endpoints, whose actions are
// defined in the device profile (`actions:`): each action is a request (method, path
// template, JSON body template, expected statuses) and JSON pointers that turn the
// response body into the action's typed results. HTTP/1.1 over the sdk::Stream given
// (tcp: or tls:), one request at a time on a kept-alive connection; open() checks the
// health endpoint, identify() reads the version endpoint.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http/protocol.hpp"
#include "sdk/error.hpp"
#include "sdk/registry.hpp"

namespace certlab::http {
namespace {

using sdk::Task;
using sdk::Values;
using Clock = std::chrono::steady_clock;
using Kind = sdk::TransportError::Kind;

sdk::ConfigError field_error(const sdk::ProfileAction& a, std::string_view key, const std::string& what) {
    const auto* e = a.fields.find(key);
    const std::string where = e && !e->where.empty() ? e->where : a.where;
    return sdk::ConfigError(where + ": " + a.name + ": " + std::string(key) + ": " + what);
}

sdk::ConfigError setting_error(const sdk::Settings& s, std::string_view key, const std::string& what) {
    const auto* e = s.find(key);
    const std::string where = e && !e->where.empty() ? e->where + ": " : std::string();
    return sdk::ConfigError(where + std::string(key) + ": " + what);
}

const std::vector<std::string> identity_fields{"manufacturer", "model", "serial_number", "firmware"};
const std::set<std::string, std::less<>> methods{"GET", "POST", "PUT", "PATCH", "DELETE"};

/// One profile action, checked and compiled at creation.
struct Compiled {
    struct Result {
        const sdk::ResultSpec* spec = nullptr;
        JsonPointer pointer;
    };
    const sdk::ProfileAction* source = nullptr;
    std::string method;
    PathTemplate path;
    std::optional<BodyTemplate> body;
    Headers headers;
    StatusSet expect;
    sdk::Duration timeout{};
    std::vector<Result> results;
};

/// Where identify() finds each identity field in the version document.
struct IdentityField {
    std::string name;
    JsonPointer pointer;
    bool required = false;  ///< named by the profile (else a default that may be absent)
};

/// A bearer token: printable ASCII without spaces (RFC 6750 b64token and then some).
std::string read_token(const sdk::Settings& s) {
    const auto* e = s.find("token_file");
    const std::string path = e->value;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw setting_error(s, "token_file", "cannot read '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) throw setting_error(s, "token_file", "'" + path + "' is empty");
    if (token.size() > 8192) throw setting_error(s, "token_file", "'" + path + "' holds more than 8192 bytes");
    for (unsigned char c : token)
        if (c <= 0x20 || c >= 0x7F)
            throw setting_error(s, "token_file", "'" + path + "' holds a byte a bearer token cannot have (only printable ASCII without spaces)");
    return token;
}

std::string request_label(const Request& r) { return r.method + " " + r.target; }

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

/// Adds a header, replacing any of the same name (a profile's Accept replaces the default).
void put_header(Headers& headers, Header h) {
    std::erase_if(headers, [&](const Header& old) { return same_name(old.name, h.name); });
    headers.push_back(std::move(h));
}

std::string status_failure(const Response& resp, const StatusSet& expect) {
    std::string msg = "HTTP " + resp.status_text() + " (expected " + expect.text() + ")";
    if (!resp.body.empty()) msg += ": " + excerpt(resp.body);
    return msg;
}

class HttpDriver final : public sdk::Driver {
public:
    explicit HttpDriver(sdk::DriverContext& ctx) : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        const auto& s = ctx.settings;
        timeout_ = s.get_duration("response_timeout", std::chrono::seconds(2));
        if (timeout_ <= sdk::Duration::zero()) throw setting_error(s, "response_timeout", "must be more than 0");
        open_timeout_ = s.get_duration("open_timeout", std::chrono::seconds(2));
        keep_alive_ = s.get_bool("keep_alive", true);
        limits_.body_bytes = static_cast<std::size_t>(s.get_int("max_body", 1024 * 1024, 1, 64 * 1024 * 1024));
        host_ = s.get_string("host", default_host(ctx.io.transport().address()));
        if (host_.empty())
            throw setting_error(s, "host", "needed: the address '" + ctx.io.transport().address() +
                                               "' is not tcp:HOST:PORT or tls:HOST:PORT");
        try {
            check_header("Host", host_);
        } catch (const std::invalid_argument& e) {
            throw setting_error(s, "host", e.what());
        }
        health_ = path_setting("health", "/health");
        version_ = path_setting("version", "/version");
        identify_path_ = version_;
        headers_.push_back({"User-Agent", "certlab-http/1.0"});
        headers_.push_back({"Accept", "application/json"});
        for (const auto& [key, entry] : s.entries()) {
            if (!key.starts_with("header.")) continue;
            const auto name = key.substr(7);
            try {
                check_header(name, entry.value);
            } catch (const std::invalid_argument& e) {
                throw setting_error(s, key, e.what());
            }
            if (!allowed_header(name)) throw setting_error(s, key, "this header is the driver's to send");
            put_header(headers_, {name, entry.value});
        }
        if (s.has("token_file")) token_ = read_token(s);  // fail at start, not mid-run

        for (const auto& name : identity_fields)
            identify_.push_back({name, JsonPointer::parse("/" + name), false});
        bool any = false;
        for (const auto& a : ctx.actions) {
            if (!a.spec) {
                compile_identify(a);
                continue;
            }
            actions_.emplace(a.spec, compile(a));
            any = true;
        }
        if (!any) throw sdk::ConfigError("http: the profile defines no actions besides identify");
    }

    Task<void> open() override {
        // The station just opened the transport: a fresh connection.
        reconnect_ = false;
        connections_ = 1;
        if (ctx_.settings.has("token_file")) token_ = read_token(ctx_.settings);  // picks up a rotated token
        ctx_.io.discard_input();
        if (health_.empty()) co_return;
        Request req = base_request("GET", health_);
        Response resp = co_await exchange(req, timeout_, "health check");
        if (resp.status / 100 != 2)
            throw sdk::ProtocolError("health check: " + request_label(req) + ": " + status_failure(resp, ok_));
        co_return;
    }

    Task<sdk::Identity> identify() override {
        sdk::Identity id;
        if (identify_path_.empty()) co_return id;
        Request req = base_request("GET", identify_path_);
        Response resp = co_await exchange(req, timeout_, "identify");
        id = identity_from(req, resp);
        co_return id;
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        auto it = actions_.find(&action);
        if (it == actions_.end()) throw sdk::ConfigError("http: the profile does not define " + action.qualified());
        const Compiled& c = it->second;
        Request req = build(c, args);
        Response resp = co_await exchange(req, c.timeout, c.source->name);
        Values out = results_from(c, req, resp);
        co_return out;
    }

    void close() noexcept override { reconnect_ = false; }

private:
    std::string path_setting(std::string_view key, std::string_view fallback) const {
        auto v = ctx_.settings.get_string(key, fallback);
        if (v.empty()) return v;  // switched off
        try {
            (void)PathTemplate::parse(v);
        } catch (const std::invalid_argument& e) {
            throw setting_error(ctx_.settings, key, e.what());
        }
        if (v.find('{') != std::string::npos) throw setting_error(ctx_.settings, key, "takes no {placeholders}");
        return v;
    }

    static bool allowed_header(std::string_view name) {
        for (const char* own : {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Authorization", "Upgrade",
                                "TE", "Trailer", "Expect"})
            if (same_name(name, own)) return false;
        return true;
    }

    void compile_identify(const sdk::ProfileAction& a) {
        identify_path_.clear();
        for (const auto& [key, entry] : a.fields.entries()) {
            if (key == "path") continue;
            auto at = std::find_if(identify_.begin(), identify_.end(), [&](const auto& f) { return f.name == key; });
            if (at == identify_.end())
                throw field_error(a, key, "unknown field (identify reads path, manufacturer, model, serial_number, firmware)");
        }
        // Named fields only: the defaults do not apply once the profile says where to look.
        identify_.clear();
        for (const auto& name : identity_fields) {
            const auto* e = a.fields.find(name);
            if (!e) continue;
            try {
                identify_.push_back({name, JsonPointer::parse(e->value), true});
            } catch (const std::invalid_argument& x) {
                throw field_error(a, name, x.what());
            }
        }
        if (const auto* p = a.fields.find("path")) {
            try {
                (void)PathTemplate::parse(p->value);
            } catch (const std::invalid_argument& x) {
                throw field_error(a, "path", x.what());
            }
            if (p->value.find('{') != std::string::npos) throw field_error(a, "path", "takes no {placeholders}");
            identify_path_ = p->value;
        } else {
            identify_path_ = version_;
        }
        if (identify_path_.empty()) throw field_error(a, "path", "identify needs a path (the version setting is empty)");
    }

    Compiled compile(const sdk::ProfileAction& a) const {
        Compiled c;
        c.source = &a;
        for (const auto& [key, entry] : a.fields.entries()) {
            static const std::set<std::string, std::less<>> known{"method", "path", "body", "expect_status", "timeout"};
            if (known.contains(key) || key.starts_with("headers.")) continue;
            if (key.starts_with("results.")) {
                const auto dot = key.find('.', 8);
                const auto name = key.substr(8, dot == std::string::npos ? std::string::npos : dot - 8);
                if (dot == std::string::npos || key.substr(dot + 1) != "pointer")
                    throw field_error(a, key, "unknown field (a result takes a JSON 'pointer')");
                if (!a.spec->result(name)) throw field_error(a, key, name + " is not a result of " + a.name);
                continue;
            }
            throw field_error(a, key,
                              "unknown field (the http driver reads method, path, body, expect_status, timeout, "
                              "headers.<name>, results.<name>.pointer)");
        }
        const auto* path = a.fields.find("path");
        if (!path) throw sdk::ConfigError(a.where + ": " + a.name + ": missing required field 'path'");
        try {
            c.path = PathTemplate::parse(path->value);
        } catch (const std::invalid_argument& e) {
            throw field_error(a, "path", e.what());
        }
        for (const auto& name : c.path.names()) {
            const auto* p = a.spec->param(name);
            if (!p || !p->required)
                throw field_error(a, "path", "{" + name + "} is not a required parameter of " + a.name);
        }
        if (const auto* body = a.fields.find("body")) {
            try {
                c.body = BodyTemplate::parse(body->value);
            } catch (const std::invalid_argument& e) {
                throw field_error(a, "body", e.what());
            }
            for (const auto& name : c.body->names()) {
                const auto* p = a.spec->param(name);
                if (!p) throw field_error(a, "body", "{" + name + "} is not a parameter of " + a.name);
                const auto& whole = c.body->whole_names();
                const bool may_be_absent = std::find(whole.begin(), whole.end(), name) != whole.end();
                if (!p->required && !may_be_absent)
                    throw field_error(a, "body", "{" + name + "} is optional, so it can only be a whole \"{" + name +
                                                     "}\" string (left out when absent)");
            }
        }
        c.method = a.fields.get_string("method", c.body ? "POST" : "GET");
        if (!methods.contains(c.method)) throw field_error(a, "method", "expected GET, POST, PUT, PATCH or DELETE");
        if (c.body && c.method == "GET") throw field_error(a, "body", "a GET request carries no body");
        for (const auto& [key, entry] : a.fields.entries()) {
            if (!key.starts_with("headers.")) continue;
            const auto name = key.substr(8);
            try {
                check_header(name, entry.value);
            } catch (const std::invalid_argument& e) {
                throw field_error(a, key, e.what());
            }
            if (!allowed_header(name)) throw field_error(a, key, "this header is the driver's to send");
            c.headers.push_back({name, entry.value});
        }
        try {
            c.expect = StatusSet::parse(a.fields.get_string("expect_status", "2xx"));
        } catch (const std::invalid_argument& e) {
            throw field_error(a, "expect_status", e.what());
        }
        c.timeout = a.fields.get_duration("timeout", std::chrono::duration_cast<std::chrono::microseconds>(timeout_));
        if (c.timeout <= sdk::Duration::zero()) throw field_error(a, "timeout", "must be more than 0");
        for (const auto& r : a.spec->results) {
            const std::string key = "results." + r.name + ".pointer";
            const auto* e = a.fields.find(key);
            if (!e) throw sdk::ConfigError(a.where + ": " + a.name + ": result " + r.name + " has no " + key);
            try {
                c.results.push_back({&r, JsonPointer::parse(e->value)});
            } catch (const std::invalid_argument& x) {
                throw field_error(a, key, x.what());
            }
        }
        return c;
    }

    Request base_request(std::string method, std::string target) const {
        Request r;
        r.method = std::move(method);
        r.target = std::move(target);
        r.headers = headers_;
        if (!keep_alive_) r.headers.push_back({"Connection", "close"});
        return r;
    }

    Request build(const Compiled& c, const sdk::Args& args) const {
        Request r = base_request(c.method, "");
        try {
            r.target = c.path.render(args);
            if (c.body) r.body = c.body->render(args);
        } catch (const std::invalid_argument& e) {
            throw sdk::ConfigError(c.source->name + ": " + e.what());
        }
        if (c.body) put_header(r.headers, {"Content-Type", "application/json"});
        for (const auto& h : c.headers) put_header(r.headers, h);  // the action's own win
        return r;
    }

    sdk::Identity identity_from(const Request& req, const Response& resp) const {
        sdk::Identity id;
        if (resp.status / 100 != 2)
            throw sdk::ProtocolError("identify: " + request_label(req) + ": " + status_failure(resp, ok_));
        std::optional<JsonDocument> doc;
        try {
            doc = JsonDocument::parse(resp.body);
        } catch (const std::invalid_argument& e) {
            throw sdk::ProtocolError("identify: " + request_label(req) + ": the body is " + e.what() + ": " +
                                     excerpt(resp.body));
        }
        for (const auto& f : identify_) {
            if (!f.required && !doc->has(f.pointer)) continue;
            Lookup l = doc->get(f.pointer, sdk::ValueType::string);
            if (!l.value) throw sdk::ProtocolError("identify: " + request_label(req) + ": " + f.name + ": " + l.error);
            const auto& text = std::get<std::string>(l.value->data);
            if (f.name == "manufacturer") id.manufacturer = text;
            else if (f.name == "model") id.model = text;
            else if (f.name == "serial_number") id.serial_number = text;
            else id.firmware = text;
        }
        return id;
    }

    Values results_from(const Compiled& c, const Request& req, const Response& resp) const {
        const std::string what = c.source->name + ": " + request_label(req) + ": ";
        if (!c.expect.contains(resp.status)) {
            log_->warn("{}{}", what, "HTTP " + resp.status_text());
            throw sdk::ProtocolError(what + status_failure(resp, c.expect));
        }
        Values out;
        if (c.results.empty()) return out;
        std::optional<JsonDocument> doc;
        try {
            doc = JsonDocument::parse(resp.body);
        } catch (const std::invalid_argument& e) {
            throw sdk::ProtocolError(what + "the body is " + e.what() + ": '" + excerpt(resp.body) + "'");
        }
        for (const auto& r : c.results) {
            Lookup l = doc->get(r.pointer, r.spec->type, r.spec->unit);
            if (!l.value) throw sdk::ProtocolError(what + r.spec->name + ": " + l.error);
            out[r.spec->name] = std::move(*l.value);
        }
        return out;
    }

    /// Sends `req` and reads its response on the kept-alive connection, opening a new
    /// one first when the last exchange did not end cleanly or the server said it closes.
    Task<Response> exchange(const Request& req, sdk::Duration timeout, const std::string& what) {
        const std::string label = what + ": " + request_label(req);
        auto* transcript = ctx_.io.transcript();
        auto& transport = ctx_.io.transport();
        if (!reconnect_ && transport.peer_closed()) {
            log_->debug("the server closed the idle connection; connecting again");
            if (transcript) transcript->note("the server closed the idle connection; connecting again");
            reconnect_ = true;
        }
        if (reconnect_) {
            try {
                co_await transport.open(open_timeout_);
            } catch (const sdk::TransportError& e) {
                throw sdk::TransportError(e.kind(), label + ": reconnect: " + e.what());
            }
            ++connections_;
            if (transcript) transcript->note("new connection (" + std::to_string(connections_) + " since bring-up)");
        }
        // Until a whole response is read, the connection is not fit for another request:
        // a late answer must not be taken for the next request's.
        reconnect_ = true;
        ctx_.io.discard_input();

        std::string wire;
        try {
            wire = encode_request(req, host_);
        } catch (const std::invalid_argument& e) {
            throw sdk::ConfigError(label + ": " + e.what());
        }
        const auto deadline = Clock::now() + timeout;
        try {
            if (token_.empty()) {
                co_await ctx_.io.write(wire, timeout);
            } else {
                // The token goes past the transcript: the step's record shows it redacted.
                const auto head_end = wire.find("\r\n\r\n") + 2;
                co_await ctx_.io.write(std::string_view(wire).substr(0, head_end), timeout);
                if (transcript) transcript->note("Authorization: Bearer <redacted>");
                const std::string auth = "Authorization: Bearer " + token_ + "\r\n";
                co_await transport.write(auth, remaining(deadline, label));
                co_await ctx_.io.write(std::string_view(wire).substr(head_end), remaining(deadline, label));
            }
        } catch (const sdk::TransportError& e) {
            throw sdk::TransportError(e.kind(), label + ": sending the request: " + e.what());
        }

        ResponseParser parser(limits_);
        for (;;) {
            const auto left = remaining(deadline, label);
            std::string chunk;
            bool closed = false;
            try {
                // At least a byte, waiting for it; then all that arrived with it.
                chunk = co_await ctx_.io.read_exact(1, left);
                if (const auto more = ctx_.io.buffered(); more > 0) {
                    std::string rest = co_await ctx_.io.read_exact(more, left);
                    chunk += rest;
                }
            } catch (const sdk::TransportError& e) {
                if (e.kind() != Kind::closed) throw sdk::TransportError(e.kind(), label + ": " + read_failure(parser, e));
                closed = true;
            }
            if (closed) {
                parser.feed_eof();
                if (!parser.done())
                    throw sdk::TransportError(Kind::closed, label + ": " + parser.error());
                break;
            }
            const std::size_t used = parser.feed(chunk);
            if (parser.failed()) throw sdk::ProtocolError(label + ": " + parser.error());
            if (parser.done()) {
                const std::size_t extra = chunk.size() - used;
                if (extra > 0)
                    throw sdk::ProtocolError(label + ": " + std::to_string(extra) +
                                             " bytes after the response, which no request asked for");
                break;
            }
        }
        Response resp = parser.response();
        reconnect_ = !resp.keep_alive || !keep_alive_;
        log_->debug("{} -> {} ({} body bytes{})", label, resp.status_text(), resp.body.size(),
                    resp.chunked ? ", chunked" : "");
        co_return resp;
    }

    static sdk::Duration remaining(Clock::time_point deadline, const std::string& label) {
        const auto left = deadline - Clock::now();
        if (left <= sdk::Duration::zero())
            throw sdk::TransportError(Kind::timeout, label + ": no complete response in time");
        return left;
    }

    static std::string read_failure(const ResponseParser& parser, const sdk::TransportError& e) {
        if (parser.taken() == 0) return std::string("no response: ") + e.what();
        return "the response stopped after " + std::to_string(parser.taken()) + " bytes: " + e.what();
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Duration timeout_{};
    sdk::Duration open_timeout_{};
    bool keep_alive_ = true;
    Limits limits_;
    std::string host_;
    std::string health_;
    std::string version_;
    std::string identify_path_;  ///< GET for identify(); empty: no identity
    Headers headers_;
    std::string token_;  ///< never logged, never in a transcript
    std::vector<IdentityField> identify_;
    std::map<const sdk::ActionSpec*, Compiled> actions_;
    StatusSet ok_ = StatusSet::parse("2xx");
    bool reconnect_ = false;
    int connections_ = 1;
};

sdk::DriverInfo make_info() {
    sdk::DriverInfo info{
        "http",
        "1.0",
        "HTTP/JSON network devices over tcp: or tls:; actions (requests and JSON pointers) defined in the device profile",
        {},
        [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> { return std::make_unique<HttpDriver>(ctx); },
    };
    info.profile_actions = true;
    return info;
}

}  // namespace
}  // namespace certlab::http

CERTLAB_REGISTER_DRIVER(certlab::http::make_info);
