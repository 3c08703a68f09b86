// The `escpos` driver: ESC/POS receipt printers and the cash drawer on their kick port.
// I/O only through the sdk::Stream; every read has a deadline (setting response_timeout).
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "escpos/protocol.hpp"
#include "sdk/error.hpp"
#include "sdk/registry.hpp"

namespace certlab::escpos {
namespace {

using Clock = std::chrono::steady_clock;
using sdk::Task;
using sdk::Values;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// Everything DLE EOT tells about the printer, with the raw bytes for messages.
struct Status {
    PrinterStatus printer;
    OfflineCause offline;
    RollPaper paper;
    std::optional<ErrorCause> error;  ///< read only when DLE EOT 2 reports an error
    std::array<std::uint8_t, 5> raw{};  ///< answer byte by DLE EOT n (index n)
};

/// A reason the printer cannot print now; the first that applies is reported.
struct Refusal {
    const char* reason;
    StatusKind source;  ///< the request whose answer shows it
    const char* detail;
    bool (*applies)(const Status&);
};

constexpr std::array refusals{
    Refusal{"paper out", StatusKind::roll_paper, "roll paper end",
            [](const Status& s) { return s.paper.end; }},
    Refusal{"cover open", StatusKind::offline_cause, "cover open",
            [](const Status& s) { return s.offline.cover_open; }},
    Refusal{"paper out", StatusKind::offline_cause, "paper-end stop",
            [](const Status& s) { return s.offline.paper_end_stop; }},
    Refusal{"unrecoverable error", StatusKind::error_cause, "unrecoverable error",
            [](const Status& s) { return s.error && s.error->unrecoverable; }},
    Refusal{"autocutter error", StatusKind::error_cause, "autocutter error",
            [](const Status& s) { return s.error && s.error->autocutter; }},
    Refusal{"recoverable error", StatusKind::error_cause, "recoverable error",
            [](const Status& s) { return s.error && (s.error->recoverable || s.error->auto_recoverable); }},
    Refusal{"printer error", StatusKind::offline_cause, "error occurred",
            [](const Status& s) { return s.offline.error; }},
    Refusal{"offline", StatusKind::printer, "offline",
            [](const Status& s) { return s.printer.offline; }},
};

/// "paper out (DLE EOT 4 = 0x72: roll paper end)", or nullopt when the printer can print.
std::optional<std::string> refusal(const Status& s) {
    for (const auto& r : refusals) {
        if (!r.applies(s)) continue;
        return std::string(r.reason) + " (" + request_name(r.source) + " = " +
               hex(s.raw[static_cast<std::size_t>(r.source)]) + ": " + r.detail + ")";
    }
    return std::nullopt;
}

// ---- arguments (already checked against the catalog; wrong types are still refused)

template <typename T>
std::optional<T> arg(const sdk::Args& args, const char* name) {
    auto it = args.find(name);
    if (it == args.end() || it->second.is_null()) return std::nullopt;
    if (auto* v = std::get_if<T>(&it->second.data)) return *v;
    throw sdk::ConfigError(std::string("argument ") + name + " has the wrong type");
}

std::int64_t int_arg(const sdk::Args& args, const char* name, std::int64_t fallback,
                     std::int64_t min, std::int64_t max) {
    auto v = arg<std::int64_t>(args, name).value_or(fallback);
    if (v < min || v > max)
        throw sdk::ConfigError(std::string("argument ") + name + " must be from " +
                               std::to_string(min) + " to " + std::to_string(max) + ", got " +
                               std::to_string(v));
    return v;
}

constexpr std::int64_t max_generated_lines = 10'000;

/// The lines of a print job: `lines` as given, or a generated receipt of `count` lines
/// whose first line is `title`.
std::vector<std::string> job_lines(const sdk::Args& args) {
    if (auto lines = arg<std::vector<std::string>>(args, "lines")) return *lines;
    if (!args.contains("count")) throw sdk::ConfigError("printer.print needs `lines` or `count`");
    auto count = int_arg(args, "count", 0, 1, max_generated_lines);
    std::vector<std::string> out{arg<std::string>(args, "title").value_or("CERTLAB TEST RECEIPT")};
    auto pad = [](std::int64_t v) {
        auto s = std::to_string(v);
        return std::string(s.size() < 5 ? 5 - s.size() : 0, '0') + s;
    };
    for (std::int64_t i = 2; i <= count; ++i)
        out.push_back(pad(i) + "/" + pad(count) + " 0123456789 ABCDEFGHIJKLMNOP");
    return out;
}

class EscposDriver final : public sdk::Driver {
public:
    explicit EscposDriver(sdk::DriverContext& ctx)
        : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        timeout_ = positive_duration("response_timeout", std::chrono::seconds(1));
        write_timeout_ = positive_duration("write_timeout", std::chrono::seconds(10));
        auto level = ctx.settings.get_string("drawer_open_level", "high");
        if (level != "high" && level != "low") {
            const auto* e = ctx.settings.find("drawer_open_level");
            throw sdk::ConfigError((e && !e->where.empty() ? e->where + ": " : std::string()) +
                                   "drawer_open_level: expected high or low, got '" + level + "'");
        }
        drawer_open_high_ = level == "high";
    }

    Task<void> open() override {
        // ESC @ resets modes and clears the print buffer without printing anything.
        co_await ctx_.io.write(encode_init(), write_timeout_);
        ctx_.io.discard_input();
        log_->debug("initialised (ESC @)");
    }

    Task<sdk::Identity> identify() override {
        ctx_.io.discard_input();
        co_return co_await read_identity();
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        using Handler = Task<Values> (EscposDriver::*)(const sdk::Args&);
        static const std::map<std::string, Handler, std::less<>> actions{
            {"printer.status", &EscposDriver::printer_status},
            {"printer.identify", &EscposDriver::printer_identify},
            {"printer.print", &EscposDriver::printer_print},
            {"printer.cut", &EscposDriver::printer_cut},
            {"cash_drawer.open", &EscposDriver::drawer_open},
            {"cash_drawer.status", &EscposDriver::drawer_status},
        };
        auto it = actions.find(action.qualified());
        if (it == actions.end()) throw sdk::ConfigError("escpos: unsupported action " + action.qualified());
        // Bytes left over from an earlier, failed exchange must not answer this request.
        ctx_.io.discard_input();
        co_return co_await (this->*(it->second))(args);
    }

private:
    sdk::Duration positive_duration(const char* key, std::chrono::microseconds fallback) const {
        auto d = ctx_.settings.get_duration(key, fallback);
        if (d <= std::chrono::microseconds::zero())
            throw sdk::ConfigError(std::string(key) + ": must be more than 0");
        return d;
    }

    void note(const std::string& text) {
        if (auto* t = ctx_.io.transcript()) t->note(text);
        log_->info("{}", text);
    }

    // ---- exchanges --------------------------------------------------------------

    /// Sends `request` and reads one answer byte; a timeout names the request.
    Task<std::uint8_t> exchange_byte(const Bytes& request, const std::string& name) {
        co_await ctx_.io.write(request, timeout_);
        std::string answer;
        try {
            answer = co_await ctx_.io.read_exact(1, timeout_);
        } catch (const sdk::TransportError& e) {
            throw sdk::TransportError(e.kind(), name + ": " + e.what());
        }
        co_return static_cast<std::uint8_t>(answer[0]);
    }

    template <typename T>
    T checked(const Decoded<T>& d) {
        if (d) return *d;
        std::string extra = ctx_.io.buffered() ? " (more bytes followed)" : "";
        log_->warn("{}{}", d.error, extra);
        throw sdk::ProtocolError(d.error + extra);
    }

    Task<Status> read_status() {
        Status s;
        auto ask = [this, &s](StatusKind k) -> Task<std::uint8_t> {
            auto b = co_await exchange_byte(encode_status_request(k), request_name(k));
            s.raw[static_cast<std::size_t>(k)] = b;
            co_return b;
        };
        s.printer = checked(decode_printer_status(co_await ask(StatusKind::printer)));
        s.offline = checked(decode_offline_cause(co_await ask(StatusKind::offline_cause)));
        s.paper = checked(decode_roll_paper(co_await ask(StatusKind::roll_paper)));
        // DLE EOT 3 only tells more when DLE EOT 2 says an error occurred.
        if (s.offline.error) s.error = checked(decode_error_cause(co_await ask(StatusKind::error_cause)));
        co_return s;
    }

    /// A GS I text answer, or nullopt when the printer stays silent (many clones
    /// implement only the one-byte IDs).
    Task<std::optional<std::string>> read_id_text(IdKind kind) {
        co_await ctx_.io.write(encode_identify_request(kind), timeout_);
        std::string answer;
        bool silent = false;
        try {
            answer = co_await ctx_.io.read_until(std::string_view("\0", 1), max_id_text_answer, timeout_);
        } catch (const sdk::TransportError& e) {
            if (e.kind() != sdk::TransportError::Kind::timeout) throw;
            silent = true;
        } catch (const sdk::ProtocolError& e) {
            throw sdk::ProtocolError(request_name(kind) + ": " + e.what());
        }
        if (silent) {
            ctx_.io.discard_input();  // a late, partial answer must not confuse the next request
            co_return std::nullopt;
        }
        co_return checked(decode_id_text(answer, kind));
    }

    Task<sdk::Identity> read_identity() {
        sdk::Identity id;
        auto one = [this](IdKind k) -> Task<std::int64_t> {
            co_return checked(decode_id_byte(co_await exchange_byte(encode_identify_request(k), request_name(k)), k));
        };
        id.extra["model_id"] = sdk::Value(co_await one(IdKind::model_id));
        id.extra["type_id"] = sdk::Value(co_await one(IdKind::type_id));

        struct Field {
            IdKind kind;
            std::string sdk::Identity::*field;
        };
        static constexpr std::array fields{
            Field{IdKind::firmware, &sdk::Identity::firmware},
            Field{IdKind::maker, &sdk::Identity::manufacturer},
            Field{IdKind::model, &sdk::Identity::model},
            Field{IdKind::serial, &sdk::Identity::serial_number},
        };
        for (const auto& f : fields) {
            auto text = co_await read_id_text(f.kind);
            if (!text) {
                // One silent string form means the printer lacks them all: don't wait
                // out the timeout for each of the others.
                note("no answer to " + request_name(f.kind) + " within the response timeout: "
                     "printer information left empty");
                break;
            }
            id.*(f.field) = std::move(*text);
        }
        co_return id;
    }

    // ---- actions ----------------------------------------------------------------

    Task<Values> printer_status(const sdk::Args&) {
        auto t0 = Clock::now();
        auto s = co_await read_status();
        ErrorCause e = s.error.value_or(ErrorCause{});
        Values result{
            {"online", !s.printer.offline},
            {"paper_out", s.paper.end},
            {"paper_near_end", s.paper.near_end},
            {"cover_open", s.offline.cover_open},
            {"feed_pressed", s.printer.feed_button_pressed || s.offline.feed_button},
            {"error", s.offline.error},
            {"recoverable_error", e.auto_recoverable},
            {"cutter_error", e.autocutter},
            {"unrecoverable_error", e.unrecoverable},
            {"latency", sdk::Value(ms_since(t0), "ms")},
        };
        co_return result;
    }

    Task<Values> printer_identify(const sdk::Args&) {
        auto id = co_await read_identity();
        Values result{
            {"model_id", id.extra["model_id"]},
            {"type_id", id.extra["type_id"]},
            {"firmware", id.firmware},
            {"manufacturer", id.manufacturer},
            {"model", id.model},
            {"serial_number", id.serial_number},
        };
        co_return result;
    }

    Task<Values> printer_print(const sdk::Args& args) {
        auto t0 = Clock::now();
        auto lines = job_lines(args);
        auto result = [&](std::optional<std::string> why, std::size_t n, std::size_t bytes) {
            return Values{
                {"accepted", !why},
                {"reason", why.value_or("")},
                {"lines", sdk::Value(static_cast<std::int64_t>(n))},
                {"bytes", sdk::Value(static_cast<std::int64_t>(bytes), "B")},
                {"latency", sdk::Value(ms_since(t0), "ms")},
            };
        };
        if (auto why = refusal(co_await read_status())) {
            note("print job refused, nothing sent: " + *why);
            co_return result(why, 0, 0);
        }
        Bytes job;
        for (const auto& l : lines) job += encode_text_line(l);
        co_await ctx_.io.write(job, write_timeout_);
        auto why = refusal(co_await read_status());
        if (why) *why = "after the job: " + *why;
        co_return result(why, lines.size(), job.size());
    }

    Task<Values> printer_cut(const sdk::Args& args) {
        auto kind = arg<bool>(args, "partial").value_or(false) ? CutKind::partial : CutKind::full;
        auto feed = arg<std::int64_t>(args, "feed");
        if (feed) int_arg(args, "feed", 0, 0, 255);
        if (auto why = refusal(co_await read_status())) {
            note("cut refused, nothing sent: " + *why);
            Values result{{"accepted", false}, {"reason", *why}};
            co_return result;
        }
        // GCC 12 destroys string temporaries of a ?: inside co_await/co_return twice:
        // coroutine bodies here keep such expressions in plain statements.
        Bytes command = encode_cut(kind);
        if (feed) command = encode_feed_and_cut(kind, static_cast<std::uint8_t>(*feed));
        co_await ctx_.io.write(command, timeout_);
        auto why = refusal(co_await read_status());
        std::string reason;
        if (why) reason = "after the cut: " + *why;
        Values result{{"accepted", !why}, {"reason", reason}};
        co_return result;
    }

    Task<Values> drawer_open(const sdk::Args& args) {
        auto pin = int_arg(args, "pin", 2, 2, 5);
        if (pin != 2 && pin != 5) throw sdk::ConfigError("argument pin must be 2 or 5");
        constexpr std::int64_t max_ms = 60'000;
        auto on_ms = int_arg(args, "on_ms", 100, 0, max_ms);
        auto off_ms = int_arg(args, "off_ms", 100, 0, max_ms);
        auto on = pulse_units(on_ms);
        auto off = pulse_units(off_ms);
        if (on * 2 != on_ms || off * 2 != off_ms)
            note("pulse sent as on " + std::to_string(on * 2) + " ms, off " + std::to_string(off * 2) +
                 " ms (ESC p counts 2 ms units from 1 to 255)");
        co_await ctx_.io.write(encode_drawer_pulse(pin == 2 ? DrawerPin::pin2 : DrawerPin::pin5, on, off),
                               timeout_);
        Values result{{"accepted", true}};
        co_return result;
    }

    Task<Values> drawer_status(const sdk::Args&) {
        auto k = StatusKind::printer;
        auto s = checked(decode_printer_status(co_await exchange_byte(encode_status_request(k), request_name(k))));
        Values result{{"open", s.drawer_pin3_high == drawer_open_high_}};
        co_return result;
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Duration timeout_{};        ///< deadline of each request/answer exchange
    sdk::Duration write_timeout_{};  ///< deadline of writing a print job
    bool drawer_open_high_ = true;   ///< drawer sensor (pin 3) level that means "open"
};

sdk::DriverInfo make_info() {
    return {
        "escpos",
        "1.0",
        "ESC/POS receipt printers (serial, TCP 9100, USB) and the cash drawer on their kick port",
        {"printer", "cash_drawer"},
        [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> {
            return std::make_unique<EscposDriver>(ctx);
        },
    };
}

}  // namespace
}  // namespace certlab::escpos

CERTLAB_REGISTER_DRIVER(certlab::escpos::make_info);
