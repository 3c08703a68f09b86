// The `scpi` driver: SCPI bench power supplies (capability `power`), over any byte
// transport (TCP 5025, serial). I/O only through the sdk::Stream; every read has a
// deadline (setting response_timeout) and a size limit (scpi::max_message). After
// every command the error queue is drained, so an instrument error is pinned on the
// command that caused it rather than surfacing later on an innocent one.
#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scpi/protocol.hpp"
#include "sdk/error.hpp"
#include "sdk/registry.hpp"

namespace certlab::scpi {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using sdk::Task;
using sdk::Values;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string join(const std::vector<ErrorEntry>& errors) {
    std::string out;
    for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e.to_string();
    return out;
}

std::string format_limit(double v, const char* unit) {
    return format_number(v).value_or("?") + " " + unit;
}

// ---- settings and arguments ------------------------------------------------------

/// The config error for setting `key`, prefixed with where it was written.
sdk::ConfigError setting_error(const sdk::Settings& s, std::string_view key, const std::string& what) {
    const auto* e = s.find(key);
    std::string where = e && !e->where.empty() ? e->where + ": " : std::string();
    return sdk::ConfigError(where + std::string(key) + ": " + what);
}

/// An optional non-negative quantity setting such as `voltage: 12` or `voltage: 12 V`.
std::optional<double> quantity_setting(const sdk::Settings& s, std::string_view key, std::string_view unit) {
    const auto* e = s.find(key);
    if (!e) return std::nullopt;
    std::string_view text = e->value;
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    std::string_view rest(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (ec != std::errc() || !std::isfinite(v) || v < 0 || (!rest.empty() && rest != unit))
        throw setting_error(s, key, "expected a number of " + std::string(unit) + " such as 12 or 12 " +
                                        std::string(unit) + ", got '" + e->value + "'");
    return v;
}

/// A numeric argument (the catalog types it as a number; integers are accepted too).
std::optional<double> number_arg(const sdk::Args& args, const char* name) {
    auto it = args.find(name);
    if (it == args.end() || it->second.is_null()) return std::nullopt;
    auto v = it->second.as_number();
    if (!v || !std::isfinite(*v)) throw sdk::ConfigError(std::string("argument ") + name + " must be a number");
    return v;
}

/// `off_time`: a duration text (`500ms`, `2s`, a bare number is ms) or a number of ms.
std::optional<std::chrono::microseconds> duration_arg(const sdk::Args& args, const char* name) {
    auto it = args.find(name);
    if (it == args.end() || it->second.is_null()) return std::nullopt;
    if (it->second.is_string()) {
        const auto& text = std::get<std::string>(it->second.data);
        auto d = sdk::parse_duration(text);
        if (!d) throw sdk::ConfigError(std::string("argument ") + name + ": expected a duration such as 500ms or 2s, got '" + text + "'");
        return *d;
    }
    auto ms = it->second.as_number();
    if (!ms || !std::isfinite(*ms) || *ms < 0 || *ms > 86'400'000)
        throw sdk::ConfigError(std::string("argument ") + name + ": expected a duration such as 500ms or 2s");
    return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(*ms * 1000)));
}

/// A set-point request checked against the station's own safety limit, before any byte
/// is sent: a typo in a suite must never reach the device under test.
void check_setpoint(const char* name, double v, const std::optional<double>& max, const char* unit,
                    const char* max_key) {
    if (v < 0) throw sdk::ConfigError(std::string("argument ") + name + " must not be negative");
    if (max && v > *max)
        throw sdk::ConfigError(std::string("argument ") + name + " = " + format_limit(v, unit) +
                               " is above the profile's " + max_key + " of " + format_limit(*max, unit));
}

class ScpiDriver final : public sdk::Driver {
public:
    explicit ScpiDriver(sdk::DriverContext& ctx)
        : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        const auto& s = ctx.settings;
        timeout_ = positive_duration("response_timeout", std::chrono::seconds(1));
        off_time_ = positive_duration("off_time", std::chrono::seconds(1));
        max_error_reads_ = static_cast<int>(s.get_int("max_error_reads", 16, 1, 1000));
        default_voltage_ = quantity_setting(s, "voltage", "V");
        default_current_ = quantity_setting(s, "current", "A");
        max_voltage_ = quantity_setting(s, "max_voltage", "V");
        max_current_ = quantity_setting(s, "max_current", "A");
        if (default_voltage_ && max_voltage_ && *default_voltage_ > *max_voltage_)
            throw setting_error(s, "voltage", "is above max_voltage");
        if (default_current_ && max_current_ && *default_current_ > *max_current_)
            throw setting_error(s, "current", "is above max_current");
        auto trip = s.get_string("trip_query", "CURR:PROT:TRIP?");
        if (!trip.empty()) {
            trip_query_ = custom_query(trip);
            if (!trip_query_)
                throw setting_error(s, "trip_query", "expected one SCPI query such as CURR:PROT:TRIP? (or empty), got '" + trip + "'");
        }
    }

    Task<void> open() override {
        // *CLS empties the error queue: errors left by an earlier session or the front
        // panel must not be blamed on our first command. It leaves the output alone, so
        // a reconnect in the middle of a soak never power-cycles the device under test.
        ctx_.io.discard_input();
        co_await send(cmd::clear_status());
        log_->debug("error queue cleared (*CLS)");
    }

    Task<sdk::Identity> identify() override {
        ctx_.io.discard_input();
        Identity id = co_await read_identity();
        sdk::Identity out;
        out.manufacturer = id.manufacturer;
        out.model = id.model;
        out.serial_number = id.serial_number;
        out.firmware = id.firmware;
        co_return out;
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        using Handler = Task<Values> (ScpiDriver::*)(const sdk::Args&);
        static const std::map<std::string, Handler, std::less<>> actions{
            {"power.identify", &ScpiDriver::power_identify},
            {"power.on", &ScpiDriver::power_on},
            {"power.off", &ScpiDriver::power_off},
            {"power.cycle", &ScpiDriver::power_cycle},
            {"power.measure", &ScpiDriver::power_measure},
            {"power.set", &ScpiDriver::power_set},
            {"power.status", &ScpiDriver::power_status},
        };
        auto it = actions.find(action.qualified());
        if (it == actions.end()) throw sdk::ConfigError("scpi: unsupported action " + action.qualified());
        // A late answer from an earlier, failed exchange must not answer this request.
        ctx_.io.discard_input();
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

    template <typename T>
    T checked(const std::string& request, const Decoded<T>& d) {
        if (d) return *d;
        log_->warn("{}: {}", request, d.error);
        throw sdk::ProtocolError(request + ": " + d.error);
    }

    // ---- exchanges --------------------------------------------------------------

    Task<void> write(const Command& c) { co_await ctx_.io.write(c.wire(), timeout_); }

    /// One response message, terminator removed; failures name `request`.
    Task<std::string> read_answer(const std::string& request) {
        std::string raw;
        try {
            raw = co_await ctx_.io.read_until(std::string_view(&terminator, 1), max_message, timeout_);
        } catch (const sdk::TransportError& e) {
            throw sdk::TransportError(e.kind(), request + ": " + e.what());
        } catch (const sdk::ProtocolError& e) {
            throw sdk::ProtocolError(request + ": " + e.what());
        }
        co_return checked(request, decode_message(raw));
    }

    /// Reads the error queue until it reports `0,...`, at most max_error_reads times.
    Task<std::vector<ErrorEntry>> collect_errors(const Command& after) {
        const auto ask = cmd::next_error();
        const std::string name = ask.text + " (after " + after.text + ")";
        std::vector<ErrorEntry> errors;
        for (int i = 0; i < max_error_reads_; ++i) {
            co_await write(ask);
            std::string answer = co_await read_answer(name);
            ErrorEntry entry = checked(name, decode_error(answer));
            if (!entry.is_error()) co_return errors;
            errors.push_back(std::move(entry));
        }
        // A queue that never empties is an instrument stuck repeating itself.
        std::string first;
        if (!errors.empty()) first = ": " + errors.front().to_string();
        throw sdk::ProtocolError(after.text + ": the error queue was not empty after " +
                                 std::to_string(max_error_reads_) + " reads of SYST:ERR?" + first);
    }

    Task<void> drain_errors(const Command& after) {
        std::vector<ErrorEntry> errors = co_await collect_errors(after);
        if (errors.empty()) co_return;
        std::string what = after.text + ": instrument reported " + join(errors);
        log_->warn("{}", what);
        throw sdk::ProtocolError(what);
    }

    /// A command without an answer, then the error queue.
    Task<void> send(const Command& c) {
        co_await write(c);
        co_await drain_errors(c);
    }

    /// A query: its one answer, then the error queue.
    Task<std::string> query(const Command& c) {
        co_await write(c);
        std::string answer;
        std::string silence;
        try {
            answer = co_await read_answer(c.text);
        } catch (const sdk::TransportError& e) {
            if (e.kind() != sdk::TransportError::Kind::timeout) throw;
            silence = e.what();
        }
        if (!silence.empty()) co_await explain_silence(c, silence);
        co_await drain_errors(c);
        co_return answer;
    }

    /// Always throws. An instrument does not answer a query it could not parse or
    /// execute; it queues an error instead. Asking for it turns a bare timeout into
    /// the instrument's own reason (`-113,"Undefined header"`).
    Task<void> explain_silence(const Command& c, const std::string& timeout_message) {
        ctx_.io.discard_input();
        const auto ask = cmd::next_error();
        std::optional<ErrorEntry> first;
        try {
            co_await write(ask);
            std::string answer = co_await read_answer(ask.text + " (after no answer to " + c.text + ")");
            auto entry = decode_error(answer);
            if (entry && entry->is_error()) first = *entry;
        } catch (const sdk::TransportError& e) {
            // Silent again: a stalled link, reported as the original timeout below.
            if (e.kind() != sdk::TransportError::Kind::timeout) throw;
        } catch (const sdk::ProtocolError&) {
            // a late answer to `c` rather than an error entry: the instrument is slow
        }
        if (!first) throw sdk::TransportError(sdk::TransportError::Kind::timeout, timeout_message);
        std::vector<ErrorEntry> errors{*first};
        std::vector<ErrorEntry> rest = co_await collect_errors(c);
        errors.insert(errors.end(), rest.begin(), rest.end());
        std::string what = c.text + ": no answer; instrument reported " + join(errors);
        log_->warn("{}", what);
        throw sdk::ProtocolError(what);
    }

    Task<double> query_number(const Command& c) {
        std::string answer = co_await query(c);
        co_return checked(c.text, decode_number(answer));
    }

    Task<bool> query_bool(const Command& c) {
        std::string answer = co_await query(c);
        co_return checked(c.text, decode_bool(answer));
    }

    Task<Identity> read_identity() {
        const auto c = cmd::identify();
        std::string answer = co_await query(c);
        co_return checked(c.text, decode_identity(answer));
    }

    // ---- actions ----------------------------------------------------------------

    Task<Values> power_identify(const sdk::Args&) {
        Identity id = co_await read_identity();
        Values result{
            {"manufacturer", id.manufacturer},
            {"model", id.model},
            {"serial_number", id.serial_number},
            {"firmware", id.firmware},
        };
        co_return result;
    }

    /// Switches the output and reads it back: an instrument that accepts OUTP ON but
    /// stays off (a latched protection) shows as output=false, not as success.
    Task<Values> switch_output(bool on) {
        co_await send(cmd::output(on));
        bool state = co_await query_bool(cmd::output_query());
        Values result{{"output", state}};
        co_return result;
    }

    Task<Values> power_on(const sdk::Args&) { co_return co_await switch_output(true); }
    Task<Values> power_off(const sdk::Args&) { co_return co_await switch_output(false); }

    Task<Values> power_cycle(const sdk::Args& args) {
        auto dwell = duration_arg(args, "off_time").value_or(
            std::chrono::duration_cast<std::chrono::microseconds>(off_time_));
        co_await send(cmd::output(false));
        bool still_on = co_await query_bool(cmd::output_query());
        if (still_on) throw sdk::ProtocolError("OUTP OFF: the output still reads on (OUTP? = 1); nothing was cycled");
        const auto off_since = Clock::now();
        note("output off; dwelling " + format_number(std::chrono::duration<double, std::milli>(dwell).count()).value_or("?") +
             " ms before switching it on");
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex, dwell);
        co_await timer.async_wait(asio::use_awaitable);
        // Measured up to the moment OUTP ON leaves: a lower bound of the real off time.
        double off_ms = ms_since(off_since);
        co_await send(cmd::output(true));
        bool state = co_await query_bool(cmd::output_query());
        Values result{{"output", state}, {"off_time", sdk::Value(off_ms, "ms")}};
        co_return result;
    }

    Task<Values> power_measure(const sdk::Args&) {
        double volts = co_await query_number(cmd::measure_voltage());
        double amps = co_await query_number(cmd::measure_current());
        bool state = co_await query_bool(cmd::output_query());
        Values result{
            {"voltage", sdk::Value(volts, "V")},
            {"current", sdk::Value(amps, "A")},
            {"output", state},
        };
        co_return result;
    }

    Task<Values> power_set(const sdk::Args& args) {
        std::optional<double> volts = number_arg(args, "voltage");
        if (!volts) volts = default_voltage_;
        std::optional<double> amps = number_arg(args, "current");
        if (!amps) amps = default_current_;
        if (!volts && !amps)
            throw sdk::ConfigError("power.set: give voltage and/or current, or defaults `voltage` and `current` in the profile's settings");
        if (volts) check_setpoint("voltage", *volts, max_voltage_, "V", "max_voltage");
        if (amps) check_setpoint("current", *amps, max_current_, "A", "max_current");
        // The limit goes first: when both change, the device never sees the new
        // voltage behind the old, possibly higher, current limit.
        if (amps) co_await send(cmd::current(*amps));
        if (volts) co_await send(cmd::voltage(*volts));
        double volts_set = co_await query_number(cmd::voltage_query());
        double amps_set = co_await query_number(cmd::current_query());
        Values result{{"voltage", sdk::Value(volts_set, "V")}, {"current", sdk::Value(amps_set, "A")}};
        co_return result;
    }

    Task<Values> power_status(const sdk::Args&) {
        bool state = co_await query_bool(cmd::output_query());
        double volts = co_await query_number(cmd::voltage_query());
        double amps = co_await query_number(cmd::current_query());
        Values result{
            {"output", state},
            {"voltage_setpoint", sdk::Value(volts, "V")},
            {"current_limit", sdk::Value(amps, "A")},
        };
        // A supply without the query leaves `tripped` unreported rather than guessed.
        if (trip_query_) {
            bool tripped = co_await query_bool(*trip_query_);
            result["tripped"] = tripped;
        }
        co_return result;
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Duration timeout_{};             ///< deadline of each request/answer exchange
    sdk::Duration off_time_{};            ///< default dwell of power.cycle
    int max_error_reads_ = 16;            ///< bound on SYST:ERR? reads after one command
    std::optional<double> default_voltage_;  ///< power.set default [V]
    std::optional<double> default_current_;  ///< power.set default limit [A]
    std::optional<double> max_voltage_;      ///< station-side safety limit [V]
    std::optional<double> max_current_;      ///< station-side safety limit [A]
    std::optional<Command> trip_query_;      ///< over-current trip query; none: not reported
};

sdk::DriverInfo make_info() {
    return {
        "scpi",
        "1.0",
        "SCPI bench power supplies (TCP 5025, serial): output on/off/cycle, set and measure voltage and current",
        {"power"},
        [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> { return std::make_unique<ScpiDriver>(ctx); },
    };
}

}  // namespace
}  // namespace certlab::scpi

CERTLAB_REGISTER_DRIVER(certlab::scpi::make_info);
