// The `template` driver: a cash drawer on an ESC/POS printer's kick port, and nothing
// more. It is small on purpose: copy this folder to start a driver (README.md).
// I/O only through ctx.io (the sdk::Stream); every read has a deadline.
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <map>
#include <string>

#include "sdk/error.hpp"
#include "sdk/plugin.hpp"
#include "template/protocol.hpp"

namespace certlab::tmpl {
namespace {

using sdk::Task;
using sdk::Values;

/// An integer argument in [min, max] (suites are checked against the catalog's types,
/// not against a driver's ranges).
std::int64_t int_arg(const sdk::Args& args, const char* name, std::int64_t fallback, std::int64_t min,
                     std::int64_t max) {
    auto it = args.find(name);
    if (it == args.end() || it->second.is_null()) return fallback;
    const auto* v = std::get_if<std::int64_t>(&it->second.data);
    if (!v || *v < min || *v > max)
        throw sdk::ConfigError(std::string("argument ") + name + ": expected an integer from " +
                               std::to_string(min) + " to " + std::to_string(max) + ", got " +
                               it->second.to_string());
    return *v;
}

class TemplateDriver final : public sdk::Driver {
public:
    /// Reads and checks settings; no I/O here (the lifecycle's "create").
    explicit TemplateDriver(sdk::DriverContext& ctx)
        : ctx_(ctx), log_(ctx.log ? ctx.log : spdlog::default_logger()) {
        timeout_ = ctx.settings.get_duration("response_timeout", std::chrono::seconds(1));
        if (timeout_ <= sdk::Duration::zero()) throw sdk::ConfigError(where("response_timeout") + "response_timeout: must be more than 0");
        auto level = ctx.settings.get_string("open_level", "high");
        if (level != "high" && level != "low")
            throw sdk::ConfigError(where("open_level") + "open_level: expected high or low, got '" + level + "'");
        open_high_ = level == "high";
    }

    Task<void> open() override {
        // Nothing to initialise on the device; only stale input is dropped, so the
        // first answer read is the answer to the first request.
        ctx_.io.discard_input();
        co_return;
    }

    Task<sdk::Identity> identify() override {
        sdk::Identity id;
        id.manufacturer = co_await read_id(IdText::maker);
        id.model = co_await read_id(IdText::model);
        id.serial_number = co_await read_id(IdText::serial);
        id.firmware = co_await read_id(IdText::firmware);
        co_return id;
    }

    Task<Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override {
        // One entry per catalog action the driver implements (DriverInfo::capabilities).
        using Handler = Task<Values> (TemplateDriver::*)(const sdk::Args&);
        static const std::map<std::string, Handler, std::less<>> actions{
            {"cash_drawer.open", &TemplateDriver::drawer_open},
            {"cash_drawer.status", &TemplateDriver::drawer_status},
        };
        auto it = actions.find(action.qualified());
        if (it == actions.end()) throw sdk::ConfigError("template: unsupported action " + action.qualified());
        // A late answer to an earlier, timed-out request must not answer this one.
        ctx_.io.discard_input();
        co_return co_await (this->*(it->second))(args);
    }

private:
    /// "file:line:column: " of a setting, for messages.
    std::string where(const char* key) const {
        const auto* e = ctx_.settings.find(key);
        return e && !e->where.empty() ? e->where + ": " : std::string();
    }

    /// Turns a decoding failure into the device's fault (outcome `fail`).
    template <typename T>
    T checked(const Decoded<T>& d) {
        if (d.value) return *d.value;
        log_->warn("{}", d.error);
        throw sdk::ProtocolError(d.error);
    }

    Task<std::string> read_id(IdText which) {
        co_await ctx_.io.write(encode_id_request(which), timeout_);
        std::string answer = co_await ctx_.io.read_until(std::string_view("\0", 1), max_id_answer, timeout_);
        co_return checked(decode_id_text(answer));
    }

    Task<DrawerStatus> read_status() {
        co_await ctx_.io.write(encode_status_request(), timeout_);
        std::string answer = co_await ctx_.io.read_exact(1, timeout_);
        co_return checked(decode_status(static_cast<std::uint8_t>(answer[0])));
    }

    Task<Values> drawer_open(const sdk::Args& args) {
        auto pin = int_arg(args, "pin", 2, 2, 5);
        if (pin != 2 && pin != 5) throw sdk::ConfigError("argument pin: expected 2 or 5, got " + std::to_string(pin));
        auto requested_on = int_arg(args, "on_ms", 100, 0, 60'000);
        auto requested_off = int_arg(args, "off_ms", 100, 0, 60'000);
        auto pulse = encode_pulse(pin == 2 ? Pin::pin2 : Pin::pin5, requested_on, requested_off);
        if (pulse.on_ms != requested_on || pulse.off_ms != requested_off) {
            // The device can only do 2 ms steps from 2 to 510 ms: say what it was really asked.
            std::string text = "pulse sent as on " + std::to_string(pulse.on_ms) + " ms, off " +
                               std::to_string(pulse.off_ms) + " ms";
            if (auto* t = ctx_.io.transcript()) t->note(text);
            log_->info("{}", text);
        }
        co_await ctx_.io.write(pulse.bytes, timeout_);
        Values result{{"accepted", true}};
        co_return result;
    }

    Task<Values> drawer_status(const sdk::Args&) {
        auto status = co_await read_status();
        Values result{{"open", status.pin3_high == open_high_}};
        co_return result;
    }

    sdk::DriverContext& ctx_;
    std::shared_ptr<spdlog::logger> log_;
    sdk::Duration timeout_{};  ///< deadline of each request/answer exchange
    bool open_high_ = true;    ///< drawer switch level (pin 3) that means "open"
};

sdk::DriverInfo make_info() {
    return {
        "template",
        "1.0",
        "Template driver: the cash drawer on an ESC/POS printer's kick port (copy drivers/template to start a driver)",
        {"cash_drawer"},
        [](sdk::DriverContext& ctx) -> std::unique_ptr<sdk::Driver> { return std::make_unique<TemplateDriver>(ctx); },
    };
}

}  // namespace
}  // namespace certlab::tmpl

// In-process with certlab_add_driver, or a plugin's entry point with certlab_add_plugin.
CERTLAB_DRIVER(certlab::tmpl::make_info);
