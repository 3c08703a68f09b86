// The `scale` driver: POS and bench scales speaking the NCI General Purpose protocol
// (capability `scale`), over any byte transport (serial 9600 7E1 as the scales ship,
// or TCP through a terminal server). I/O only through the sdk::Stream; every exchange
// has one deadline (setting response_timeout) and a size limit (scale::max_response).
// A response is decoded byte by byte as it arrives, so garbage fails at once rather
// than after a timeout.
#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scale/protocol.hpp"
#include "sdk/error.hpp"
#include "sdk/registry.hpp"

namespace certlab::scale {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using sdk::Task;
using sdk::Values;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double to_ms(sdk::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string hex_bytes(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        if (!out.empty()) out += ' ';
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    return out;
}

sdk::ConfigError setting_error(const sdk::Settings& s, std::string_view key, const std::string& what) {
    const auto* e = s.find(key);
    std::string where = e && !e->where.empty() ? e->where + ": " : std::string();
    return sdk::ConfigError(where + std::string(key) + ": " + what);
}

/// `settle`: a duration text (`2s`, `500ms`, a bare number is ms) or a number of ms.
std::optional<sdk::Duration> duration_arg(const sdk::Args& args, const char* name) {
    auto it = args.find(name);
    if (it == args.end() || it->second.is_null()) return std::nullopt;
    if (it->second.is_string()) {
        const auto& text = std::get<std::string>(it->second.data);
        auto d = sdk::parse_duration(text);
        if (!d || d->count() < 0)
            throw sdk::ConfigError(std::string("argument ") + name + ": expected a duration such as 500ms or 2s, got '" + text + "'");
        return *d;
    }
    auto ms = it->second.as_number();
    if (!ms || !std::isfinite(*ms) || *ms < 0 || *ms > 3'600'000)
        throw sdk::ConfigError(std::string("argument ") + name + ": expected a duration such as 500ms or 2s");
    return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(*ms * 1000)));
}

/// The status flags every action reports under the catalog's names.
void put_status(Values& v, const Status& s) {
    v["at_zero"] = s.at_zero;
    v["under_load"] = s.under_capacity;
    v["over_load"] = s.over_capacity;
}

class ScaleDriver final : public sdk::Driver {
public:
    explicit ScaleDriver(sdk::DriverContext& ctx) : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        const auto& s = ctx.settings;
        timeout_ = positive_duration("response_timeout", std::chrono::seconds(1));
        settle_time_ = ctx.settings.get_duration("settle_time", std::chrono::seconds(3));
        if (settle_time_ < sdk::Duration::zero()) throw setting_error(s, "settle_time", "must not be negative");
        poll_interval_ = positive_duration("poll_interval", std::chrono::milliseconds(200));
        max_unit_presses_ = static_cast<int>(s.get_int("max_unit_presses", 8, 1, 16));
        const auto prefix = s.get_string("status_prefix", "S");
        if (prefix == "S") dialect_.status_prefix = true;
        else if (prefix.empty() || prefix == "none") dialect_.status_prefix = false;
        else throw setting_error(s, "status_prefix", "expected S (POS scales) or none (SCP-01 as printed), got '" + prefix + "'");
        manufacturer_ = s.get_string("manufacturer", "");
        model_ = s.get_string("model", "");
    }

    Task<void> open() override {
        // Nothing to set up: the NCI protocol has no modes or sessions, and every request
        // but Z and U only reads. Stale bytes from before the link came up are dropped.
        ctx_.io.discard_input();
        co_return;
    }

    Task<sdk::Identity> identify() override {
        // NCI has no identification command: a valid answer to S shows the device speaks
        // the protocol; maker and model come from the profile.
        Response r = co_await exchange(Request::status);
        sdk::Identity id;
        id.manufacturer = manufacturer_;
        id.model = model_;
        id.extra["protocol"] = std::string("NCI general purpose (SCP-01)");
        id.extra["status"] = r.status.describe();
        co_return id;
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        using Handler = Task<Values> (ScaleDriver::*)(const sdk::Args&);
        static const std::map<std::string, Handler, std::less<>> actions{
            {"scale.status", &ScaleDriver::scale_status},
            {"scale.weigh", &ScaleDriver::scale_weigh},
            {"scale.zero", &ScaleDriver::scale_zero},
            {"scale.set_unit", &ScaleDriver::scale_set_unit},
        };
        auto it = actions.find(action.qualified());
        if (it == actions.end()) throw sdk::ConfigError("scale: unsupported action " + action.qualified());
        co_return co_await (this->*(it->second))(args);
    }

private:
    sdk::Duration positive_duration(const char* key, std::chrono::microseconds fallback) const {
        auto d = ctx_.settings.get_duration(key, fallback);
        if (d <= std::chrono::microseconds::zero()) throw setting_error(ctx_.settings, key, "must be more than 0");
        return d;
    }

    void note(const std::string& text) {
        if (auto* t = ctx_.io.transcript()) t->note(text);
        log_->info("{}", text);
    }

    [[noreturn]] void malformed(Request r, const std::string& what) {
        const std::string message = std::string(name(r)) + ": " + what;
        log_->warn("{}", message);
        throw sdk::ProtocolError(message);
    }

    // ---- exchanges --------------------------------------------------------------

    /// One request and its whole response frame, decoded as the bytes arrive.
    Task<Response> exchange(Request r) {
        const std::string req(name(r));
        // A late answer from an earlier, failed exchange must not answer this request.
        ctx_.io.discard_input();
        try {
            co_await ctx_.io.write(encode(r), timeout_);
        } catch (const sdk::TransportError& e) {
            throw sdk::TransportError(e.kind(), req + ": " + e.what());
        }
        Decoder decoder(dialect_);
        const auto deadline = Clock::now() + timeout_;
        while (!decoder.done()) {
            const auto left = deadline - Clock::now();
            std::string chunk;
            try {
                if (left <= sdk::Duration::zero())
                    throw sdk::TransportError(sdk::TransportError::Kind::timeout, "timed out");
                chunk = co_await ctx_.io.read_exact(1, left);
                if (const auto more = ctx_.io.buffered(); more > 0) {
                    std::string rest = co_await ctx_.io.read_exact(more, left);
                    chunk += rest;
                }
            } catch (const sdk::TransportError& e) {
                std::string got;
                if (!decoder.seen().empty()) got = "; incomplete answer " + quote(decoder.seen());
                throw sdk::TransportError(e.kind(), req + ": no complete answer within " +
                                                        std::to_string(std::lround(to_ms(timeout_))) + " ms (" +
                                                        e.what() + ")" + got);
            }
            const std::size_t used = decoder.feed(chunk);
            if (decoder.failed()) malformed(r, decoder.error());
            if (used < chunk.size())
                malformed(r, "bytes after the end of the answer " + quote(decoder.seen()) + ": " +
                                 quote(std::string_view(chunk).substr(used)));
        }
        const Response& response = decoder.response();
        if (response.unrecognised)
            malformed(r, "the scale did not recognise the command (answered <LF>?<CR><ETX>); is it set to the NCI protocol?");
        const bool wants_data = r == Request::weight || r == Request::units;
        if (!wants_data && response.data)
            malformed(r, "expected a status-only answer, got the data line " + quote(*response.data));
        if (r == Request::units && !response.data)
            malformed(r, "expected the new unit before the status, got status only " + quote(decoder.seen()));
        log_->debug("{}: {} ({})", req, quote(decoder.seen()), response.status.describe());
        co_return response;
    }

    /// What a weight response says; refuses a display without a weight that its own
    /// status does not explain.
    std::optional<Reading> reading_of(const Response& resp) {
        const Status& s = resp.status;
        const bool explained = s.motion || s.under_capacity || s.over_capacity || s.fault();
        if (!resp.data) {
            if (!explained) malformed(Request::weight, "no weight in the answer, although the status reports " + s.describe());
            return std::nullopt;
        }
        auto r = decode_reading(*resp.data);
        if (!r) malformed(Request::weight, r.error);
        if (!r->value && !explained)
            malformed(Request::weight, "the display shows no weight (" + quote(r->display) +
                                           ") and the status reports no reason (" + s.describe() + ")");
        last_unit_ = r->unit;
        return *r;
    }

    // ---- actions ----------------------------------------------------------------

    Task<Values> scale_status(const sdk::Args&) {
        const auto t0 = Clock::now();
        Response r = co_await exchange(Request::status);
        const double latency = ms_since(t0);
        const Status& s = r.status;
        Values v;
        v["motion"] = s.motion;
        put_status(v, s);
        v["ram_error"] = s.ram_error;
        v["rom_error"] = s.rom_error;
        v["eeprom_error"] = s.eeprom_error;
        v["calibration_error"] = s.calibration_error;
        v["fault"] = s.fault();
        // Byte 3 is optional: what a scale does not send is not reported rather than guessed.
        if (s.net) v["net"] = *s.net;
        if (s.high_range) v["high_range"] = *s.high_range;
        if (s.initial_zero_error) v["initial_zero_error"] = *s.initial_zero_error;
        v["status_bytes"] = hex_bytes(s.bytes);
        v["latency"] = sdk::Value(latency, "ms");
        co_return v;
    }

    /// Asks for the weight until the scale reports it stable, out of range, or the settle
    /// time is over; then reports the last reading (stable=false when still in motion).
    Task<Values> scale_weigh(const sdk::Args& args) {
        const sdk::Duration settle = duration_arg(args, "settle").value_or(settle_time_);
        const auto start = Clock::now();
        int readings = 0;
        double latency = 0;
        Response resp;
        for (;;) {
            const auto t0 = Clock::now();
            resp = co_await exchange(Request::weight);
            latency = ms_since(t0);
            ++readings;
            const Status& s = resp.status;
            if (!s.motion || s.over_capacity || s.under_capacity) break;
            if (Clock::now() - start + poll_interval_ > settle) {
                note("still in motion after " + std::to_string(readings) + " readings in " +
                     std::to_string(std::lround(ms_since(start))) + " ms: reporting stable=false");
                break;
            }
            if (readings == 1)
                note("in motion; asking again every " + std::to_string(std::lround(to_ms(poll_interval_))) +
                     " ms for up to " + std::to_string(std::lround(to_ms(settle))) + " ms");
            auto ex = co_await asio::this_coro::executor;
            asio::steady_timer timer(ex, poll_interval_);
            co_await timer.async_wait(asio::use_awaitable);
        }
        const double settle_ms = ms_since(start);
        const std::optional<Reading> reading = reading_of(resp);
        const Status& s = resp.status;
        Values v;
        if (reading && reading->value) v["weight"] = sdk::Value(*reading->value, std::string(to_string(reading->unit)));
        if (reading) v["unit"] = std::string(to_string(reading->unit));
        else if (last_unit_) v["unit"] = std::string(to_string(*last_unit_));
        v["stable"] = !s.motion;
        put_status(v, s);
        v["readings"] = static_cast<std::int64_t>(readings);
        v["settle_time"] = sdk::Value(settle_ms, "ms");
        v["latency"] = sdk::Value(latency, "ms");
        if (s.over_capacity || s.under_capacity || s.fault()) note("scale reports " + s.describe());
        co_return v;
    }

    Task<Values> scale_zero(const sdk::Args&) {
        Response r = co_await exchange(Request::zero);
        const Status& s = r.status;
        // A scale zeroes only a stable load within its zero range; it says whether it did
        // only through the status that follows.
        std::string reason;
        if (s.over_capacity) reason = "not zeroed: the scale is over capacity";
        else if (s.motion && !s.at_zero) reason = "not zeroed: the scale is in motion";
        else if (!s.at_zero) reason = "not zeroed: the scale is not at zero after Z (load outside its zero range?)";
        const bool accepted = reason.empty();
        if (!accepted) note(reason + " (status: " + s.describe() + ")");
        Values v;
        v["accepted"] = accepted;
        v["reason"] = reason;
        v["at_zero"] = s.at_zero;
        v["motion"] = s.motion;
        co_return v;
    }

    /// Presses Units (U) until the scale shows the unit asked for; refused when its cycle
    /// comes round without it.
    Task<Values> scale_set_unit(const sdk::Args& args) {
        auto it = args.find("unit");
        std::optional<Unit> want;
        if (it != args.end() && it->second.is_string()) want = parse_unit(std::get<std::string>(it->second.data));
        if (!want) throw sdk::ConfigError("argument unit: expected lb, kg, oz or g");
        const std::string wanted(to_string(*want));

        Response w = co_await exchange(Request::weight);
        std::optional<Unit> current;
        if (auto r = reading_of(w)) current = r->unit;
        std::vector<Unit> seen;
        if (current) seen.push_back(*current);
        int presses = 0;
        std::string reason;
        while (current != want) {
            if (presses >= max_unit_presses_) {
                reason = "the scale did not show " + wanted + " after " + std::to_string(presses) + " presses of U";
                break;
            }
            Response u = co_await exchange(Request::units);
            ++presses;
            auto unit = decode_units_line(*u.data);
            if (!unit) malformed(Request::units, unit.error);
            current = *unit;
            last_unit_ = current;
            if (current == want) break;
            if (std::find(seen.begin(), seen.end(), *current) != seen.end()) {
                std::string offered;
                for (Unit x : seen) offered += (offered.empty() ? "" : ", ") + std::string(to_string(x));
                reason = "the scale does not offer " + wanted + " (its units: " + offered + ")";
                break;
            }
            seen.push_back(*current);
        }
        const bool accepted = reason.empty();
        if (!accepted) note(reason);
        Values v;
        v["accepted"] = accepted;
        v["reason"] = reason;
        if (current) v["unit"] = std::string(to_string(*current));
        v["presses"] = static_cast<std::int64_t>(presses);
        co_return v;
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Duration timeout_{};        ///< deadline of each request/answer exchange
    sdk::Duration settle_time_{};    ///< how long weigh waits for a stable weight by default
    sdk::Duration poll_interval_{};  ///< pause between weight requests while in motion
    int max_unit_presses_ = 8;       ///< bound on U requests in set_unit
    Dialect dialect_;
    std::string manufacturer_;       ///< identity from the profile (NCI cannot tell)
    std::string model_;
    std::optional<Unit> last_unit_;  ///< the unit of the last weight or U answer
};

sdk::DriverInfo make_info() {
    // Fields by name: DriverInfo grows, and a positional initialiser would shift.
    sdk::DriverInfo info;
    info.name = "scale";
    info.version = "1.0";
    info.doc = "POS and bench scales speaking the NCI general purpose protocol (SCP-01; Brecknell, "
               "Avery Weigh-Tronix, NCI), serial 9600 7E1: weigh with stability, zero, status, units";
    info.capabilities = {"scale"};
    info.create = [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> {
        return std::make_unique<ScaleDriver>(ctx);
    };
    return info;
}

}  // namespace
}  // namespace certlab::scale

CERTLAB_REGISTER_DRIVER(certlab::scale::make_info);
