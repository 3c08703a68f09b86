// Network discovery by DNS-SD over mDNS: services of the configured types that the
// machine's avahi-daemon sees become net resources. The watcher only asks
// avahi-daemon (over D-Bus) to browse and resolve; it never contacts what it finds.
// The station keeps running without avahi-daemon: the watcher logs a warning and
// picks browsing up whenever the daemon (or the D-Bus system bus) appears.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inventory/watcher.hpp"

namespace certlab::inventory {

struct MdnsWatchOptions {
    /// DNS-SD service types, e.g. "_pdl-datastream._tcp", "_scpi-raw._tcp",
    /// "_printer._sub._http._tcp". TCP only: a resource's address is tcp:IP:PORT.
    std::vector<std::string> service_types;
    std::string domain = "local";  ///< browsing is over IPv4 only
    /// When avahi-daemon goes away, whether its services are still there is unknown.
    /// Each stays present this long without being seen again, counted from the loss
    /// and counted afresh when the daemon is back (so a daemon restart does not make
    /// busy devices "lost"); then it departs.
    std::chrono::milliseconds daemon_loss_grace{15000};
    /// Pause between attempts to reach the D-Bus system bus while it is down. (While
    /// only avahi-daemon is down, the client is told the moment it appears.)
    std::chrono::milliseconds retry_interval{5000};
};

/// What avahi resolved for one service instance, in plain types.
struct MdnsService {
    std::string name;    ///< instance name, "Receipt Printer 3"
    std::string type;    ///< "_pdl-datastream._tcp"
    std::string domain;  ///< "local"
    std::string host;    ///< target host name, "prn-3.local"
    std::string ip;      ///< "10.0.0.5" (an IPv6 text is bracketed in the address)
    uint16_t port = 0;
    std::vector<std::string> txt;  ///< raw TXT strings: "key=value", "key" (binary allowed)
};

/// The resource for a resolved service: kind net, address "tcp:IP:PORT" (IPv6 in
/// brackets), source "mdns", attributes mdns_service, mdns_type, host, ip, port and
/// txt.<key>. TXT keys are lower-cased (RFC 6763 §6.4: keys are case-insensitive);
/// a repeated key keeps its first value in `txt` (avahi's list order, which need not
/// be the order on the wire); a key without '=' has an empty value. Bytes
/// that are not printable UTF-8 are written as \xNN so every attribute is valid text.
[[nodiscard]] sdk::Resource mdns_resource(const MdnsService& service);

/// Checks the options; throws std::invalid_argument naming a bad service type,
/// domain or duration.
void check_mdns_options(const MdnsWatchOptions& opts);

class MdnsWatcher final : public Watcher {
public:
    /// Validates the options (std::invalid_argument). `ex` must run handlers in
    /// order on one thread (the station's io_context): findings are posted to it.
    MdnsWatcher(boost::asio::any_io_executor ex, MdnsWatchOptions opts);
    ~MdnsWatcher() override;
    MdnsWatcher(const MdnsWatcher&) = delete;
    MdnsWatcher& operator=(const MdnsWatcher&) = delete;

    [[nodiscard]] std::string name() const override { return "mdns"; }
    /// Starts avahi's poll thread, which connects and browses. A missing daemon or bus
    /// is not an error (logged, retried). Throws std::runtime_error only when the
    /// poll thread cannot be created.
    void start(WatcherSink sink) override;
    /// Joins the poll thread and frees every avahi handle. Call on the executor's
    /// thread. May wait for a D-Bus call in flight (libdbus bounds it at 25 s).
    void stop() noexcept override;

private:
    struct State;
    std::shared_ptr<State> state_;  ///< shared with handlers posted by the poll thread
};

}  // namespace certlab::inventory
