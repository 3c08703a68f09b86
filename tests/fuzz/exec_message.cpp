// The exec driver protocol's message parser on arbitrary child output. It may only
// return a message or throw MalformedJson / ProtocolViolation (anything else escaping
// is a bug the bridge would misreport); what it returns keeps the protocol's bounds;
// result values survive the trip through the daemon's own value encoding; the hex
// and command-line helpers keep their promises.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "exec/protocol.hpp"
#include "sdk/capability.hpp"
#include "sdk/error.hpp"

namespace exec = certlab::exec;
namespace sdk = certlab::sdk;
using json = nlohmann::json;

namespace {

/// A property that must hold: reports the line that broke it, then aborts (a crash
/// for libFuzzer, with the input saved).
void require_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "property at %s:%d does not hold\n", __FILE__, line);
    std::abort();
}
#define require(ok) require_at((ok), __LINE__)

/// Parses `line`; nullopt when the parser refused it the documented way.
std::optional<exec::Message> parse(std::string_view line) {
    try {
        return exec::parse_message(line);
    } catch (const exec::MalformedJson& e) {
        require(*e.what() != '\0');
    } catch (const exec::ProtocolViolation& e) {
        require(*e.what() != '\0');
    }
    return std::nullopt;
}

/// A result's values written back the way encode_invoke writes arguments, read again.
void round_trip(const exec::Result& r) {
    static const sdk::ActionSpec action{"fuzz", "echo", "", {}, {}};
    json line = json::parse(exec::encode_invoke(r.id, action, r.values));
    line["type"] = "result";
    line["values"] = line["args"];
    line.erase("args");
    line.erase("action");
    auto again = parse(line.dump());
    require(again && std::holds_alternative<exec::Result>(*again));
    const auto& back = std::get<exec::Result>(*again);
    require(back.id == r.id && back.values == r.values);
}

void check(const exec::Message& m) {
    if (const auto* h = std::get_if<exec::Hello>(&m)) {
        require(!h->driver.empty() && h->protocol >= 0 && h->protocol <= 1'000'000);
    } else if (const auto* r = std::get_if<exec::Result>(&m)) {
        round_trip(*r);
        if (const auto* a = sdk::find_action("power.measure")) (void)exec::check_results(*a, r->values);
        (void)exec::identity_from(r->values);
    } else if (const auto* e = std::get_if<exec::Error>(&m)) {
        (void)e;
    } else if (const auto* io = std::get_if<exec::Io>(&m)) {
        switch (io->op) {
            case exec::Io::Op::write:
                require(io->data.size() <= exec::max_io_bytes);
                break;
            case exec::Io::Op::read: require(io->n >= 1 && io->n <= exec::max_io_bytes); break;
            case exec::Io::Op::read_until:
                require(!io->data.empty() && io->data.size() <= 16);
                require(io->n >= 1 && io->n <= exec::max_io_bytes);
                break;
            case exec::Io::Op::discard: return;
        }
        require(io->timeout.count() >= 1 && io->timeout <= exec::max_io_timeout);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto m = parse(text)) check(*m);

    require(exec::from_hex(exec::to_hex(text)) == std::string(text));
    if (auto bytes = exec::from_hex(text)) require(bytes->size() * 2 == text.size());

    try {
        auto argv = exec::split_command(text);
        require(!argv.empty());
    } catch (const sdk::ConfigError&) {
    }
    return 0;
}
