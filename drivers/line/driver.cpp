// The `line` driver: partner devices with simple text protocols, whose actions are
// defined in the device profile (`actions:`) rather than in code. Each action sends a
// request rendered from a template and matches the response lines against a regular
// expression whose named captures become the action's results, typed and with units.
// I/O only through the sdk::Stream, every read bounded by a deadline and a size limit.
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "line/protocol.hpp"
#include "sdk/error.hpp"
#include "sdk/registry.hpp"

namespace certlab::line {
namespace {

using sdk::Task;
using sdk::Values;
using Clock = std::chrono::steady_clock;

const std::set<std::string, std::less<>> identity_fields{"manufacturer", "model", "serial_number", "firmware"};

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

std::optional<Pattern> compile_setting(const sdk::Settings& s, std::string_view key) {
    const auto* e = s.find(key);
    if (!e || e->value.empty()) return std::nullopt;
    try {
        return Pattern::compile(e->value);
    } catch (const std::invalid_argument& x) {
        throw setting_error(s, key, x.what());
    }
}

/// One profile action, checked and compiled at creation.
struct Compiled {
    const sdk::ProfileAction* source = nullptr;
    Template request;
    std::optional<Pattern> expect;
    std::optional<Pattern> error;  ///< the action's own, else the profile's
    int lines = 0;
    sdk::Duration timeout{};
};

class LineDriver final : public sdk::Driver {
public:
    explicit LineDriver(sdk::DriverContext& ctx) : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        const auto& s = ctx.settings;
        timeout_ = s.get_duration("response_timeout", std::chrono::seconds(1));
        if (timeout_ <= sdk::Duration::zero()) throw setting_error(s, "response_timeout", "must be more than 0");
        try {
            terminator_ = unescape(s.get_string("terminator", "\\n"));
        } catch (const std::invalid_argument& e) {
            throw setting_error(s, "terminator", e.what());
        }
        if (terminator_.empty()) throw setting_error(s, "terminator", "must not be empty");
        echo_ = s.get_bool("echo", false);
        error_ = compile_setting(s, "error");
        if (ctx.actions.empty()) throw sdk::ConfigError("line: the profile defines no actions");
        for (const auto& a : ctx.actions) {
            Compiled c = compile(a);
            if (!a.spec) identify_ = std::move(c);
            else actions_.emplace(a.spec, std::move(c));
        }
    }

    Task<void> open() override {
        ctx_.io.discard_input();
        co_return;
    }

    Task<sdk::Identity> identify() override {
        sdk::Identity id;
        if (!identify_) co_return id;
        ctx_.io.discard_input();
        std::map<std::string, std::string> captured = co_await exchange(*identify_, {});
        for (const auto& [name, text] : captured) {
            if (name == "manufacturer") id.manufacturer = text;
            else if (name == "model") id.model = text;
            else if (name == "serial_number") id.serial_number = text;
            else if (name == "firmware") id.firmware = text;
        }
        co_return id;
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        auto it = actions_.find(&action);
        if (it == actions_.end())
            throw sdk::ConfigError("line: the profile does not define " + action.qualified());
        // A late answer to an earlier, failed exchange must not answer this request.
        ctx_.io.discard_input();
        const Compiled& c = it->second;
        std::map<std::string, std::string> captured = co_await exchange(c, args);
        Values out;
        for (const auto& r : action.results) {
            auto found = captured.find(r.name);
            if (found == captured.end())
                throw sdk::ProtocolError(action.qualified() + ": the response did not contain " + r.name);
            auto value = to_value(found->second, r.type, r.unit);
            if (!value)
                throw sdk::ProtocolError(action.qualified() + ": " + r.name + ": expected " +
                                         std::string(sdk::to_string(r.type)) + ", the device sent '" +
                                         sdk::render_bytes(found->second) + "'");
            out[r.name] = std::move(*value);
        }
        co_return out;
    }

private:
    Compiled compile(const sdk::ProfileAction& a) const {
        static const std::set<std::string, std::less<>> known{"send", "expect", "lines", "timeout", "error"};
        for (const auto& [key, entry] : a.fields.entries())
            if (!known.contains(key))
                throw field_error(a, key, "unknown field (the line driver reads send, expect, lines, timeout, error)");
        Compiled c;
        c.source = &a;
        const auto* send = a.fields.find("send");
        if (!send) throw sdk::ConfigError(a.where + ": " + a.name + ": missing required field 'send'");
        try {
            c.request = Template::parse(send->value);
        } catch (const std::invalid_argument& e) {
            throw field_error(a, "send", e.what());
        }
        for (const auto& name : c.request.names()) {
            const auto* p = a.spec ? a.spec->param(name) : nullptr;
            if (!p || !p->required)
                throw field_error(a, "send", "{" + name + "} is not a required parameter of " + a.name);
        }
        if (const auto* e = a.fields.find("expect")) {
            try {
                c.expect = Pattern::compile(e->value);
            } catch (const std::invalid_argument& x) {
                throw field_error(a, "expect", x.what());
            }
        }
        try {
            if (const auto* e = a.fields.find("error"); e && !e->value.empty()) c.error = Pattern::compile(e->value);
        } catch (const std::invalid_argument& x) {
            throw field_error(a, "error", x.what());
        }
        if (!c.error && error_) c.error = Pattern::compile(error_->text());
        c.lines = static_cast<int>(a.fields.get_int("lines", c.expect ? 1 : 0, 0, 64));
        if (c.lines > 0 && !c.expect) throw field_error(a, "lines", "needs an 'expect' pattern for the response");
        if (c.expect && c.lines == 0) throw field_error(a, "lines", "must be at least 1 when 'expect' is given");
        c.timeout = a.fields.get_duration("timeout", std::chrono::duration_cast<std::chrono::microseconds>(timeout_));
        if (c.timeout <= sdk::Duration::zero()) throw field_error(a, "timeout", "must be more than 0");

        // Every result is captured, and every capture is a result: a typo fails here.
        const std::vector<std::string> none;
        const auto& names = c.expect ? c.expect->names() : none;
        for (const auto& n : names) {
            const bool ok = a.spec ? a.spec->result(n) != nullptr : identity_fields.contains(n);
            if (!ok)
                throw field_error(a, "expect",
                                  "capture (?<" + n + ">...) is not a result of " + a.name +
                                      (a.spec ? "" : " (identify captures manufacturer, model, serial_number, firmware)"));
        }
        if (a.spec)
            for (const auto& r : a.spec->results) {
                if (r.type == sdk::ValueType::string_list)
                    throw field_error(a, "expect", "result " + r.name + " is a list, which a line response cannot give");
                if (std::find(names.begin(), names.end(), r.name) == names.end())
                    throw field_error(a, "expect", "result " + r.name + " has no capture (?<" + r.name + ">...)");
            }
        return c;
    }

    /// Sends the request and, when the action expects an answer, reads and matches it.
    Task<std::map<std::string, std::string>> exchange(const Compiled& c, const sdk::Args& args) {
        std::string request;
        try {
            request = c.request.render(args);
        } catch (const std::invalid_argument& e) {
            throw sdk::ConfigError(c.source->name + ": " + e.what());
        }
        co_await ctx_.io.write(request, c.timeout);
        const auto deadline = Clock::now() + c.timeout;
        if (echo_) {
            std::string echoed = co_await read_line(c, deadline);
            std::string sent = strip(request);
            if (echoed != sent)
                throw sdk::ProtocolError(c.source->name + ": the device echoed '" + sdk::render_bytes(echoed) +
                                         "' for '" + sdk::render_bytes(sent) + "'");
        }
        std::map<std::string, std::string> none;
        if (!c.expect) co_return none;
        std::string response;
        for (int i = 0; i < c.lines; ++i) {
            std::string line = co_await read_line(c, deadline);
            if (i) response += '\n';
            response += line;
            // A device error ends the answer early: it does not send the lines that follow.
            if (c.error && matches(*c.error, response, c)) break;
        }
        if (c.error && matches(*c.error, response, c)) {
            log_->warn("{}: device reported an error: {}", c.source->name, sdk::render_bytes(response));
            throw sdk::ProtocolError(c.source->name + ": the device reported an error: '" +
                                     sdk::render_bytes(response) + "'");
        }
        std::optional<std::map<std::string, std::string>> captured;
        try {
            captured = c.expect->match(response);
        } catch (const std::runtime_error& e) {
            throw sdk::ProtocolError(c.source->name + ": " + e.what());
        }
        if (!captured)
            throw sdk::ProtocolError(c.source->name + ": the response '" + sdk::render_bytes(response) +
                                     "' does not match " + c.expect->text());
        co_return *captured;
    }

    static bool matches(const Pattern& p, const std::string& text, const Compiled& c) {
        try {
            return p.match(text).has_value();
        } catch (const std::runtime_error& e) {
            throw sdk::ProtocolError(c.source->name + ": " + e.what());
        }
    }

    /// One response line without its terminator (and without a CR before an LF one).
    Task<std::string> read_line(const Compiled& c, Clock::time_point deadline) {
        const auto now = Clock::now();
        if (now >= deadline)
            throw sdk::TransportError(sdk::TransportError::Kind::timeout, c.source->name + ": no complete response in time");
        std::string raw;
        try {
            raw = co_await ctx_.io.read_until(terminator_, max_response, deadline - now);
        } catch (const sdk::TransportError& e) {
            throw sdk::TransportError(e.kind(), c.source->name + ": " + e.what());
        } catch (const sdk::ProtocolError& e) {
            throw sdk::ProtocolError(c.source->name + ": " + e.what());
        }
        co_return strip(raw);
    }

    std::string strip(std::string text) const {
        if (text.ends_with(terminator_)) text.resize(text.size() - terminator_.size());
        if (terminator_ == "\n" && text.ends_with('\r')) text.pop_back();
        return text;
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Duration timeout_{};
    std::string terminator_;
    bool echo_ = false;
    std::optional<Pattern> error_;
    std::map<const sdk::ActionSpec*, Compiled> actions_;
    std::optional<Compiled> identify_;
};

sdk::DriverInfo make_info() {
    sdk::DriverInfo info{
        "line",
        "1.0",
        "Generic send/expect driver for simple text protocols; actions defined in the device profile",
        {},
        [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> { return std::make_unique<LineDriver>(ctx); },
    };
    info.profile_actions = true;
    return info;
}

}  // namespace
}  // namespace certlab::line

CERTLAB_REGISTER_DRIVER(certlab::line::make_info);
