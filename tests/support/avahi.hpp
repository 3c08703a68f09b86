// A private avahi-daemon for tests, isolated from the host: a D-Bus "system" bus of
// its own and avahi-daemon inside a fresh network namespace (loopback only, so no
// mDNS packet reaches a real network) and mount namespace (a tmpfs over /run, so
// its pid file and socket never meet a host avahi-daemon). Needs root.
//
// Clients (the watcher under test, avahi-publish) stay in the host namespaces: they
// talk to avahi-daemon over D-Bus through a socket *path*, which a network namespace
// does not partition. So nothing in the test process has to enter a namespace.
//
// Every child is started with a parent-death signal, so even a test process killed
// by ctest's timeout leaves no daemon behind, and the namespaces die with them (only
// the small directory /tmp/certlab-avahi-<pid> stays after such a kill).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace certlab::test {

class PrivateAvahi {
public:
    struct Options {
        bool bus = true;     ///< start the D-Bus bus at once (else: start_bus())
        bool daemon = true;  ///< start avahi-daemon at once (else: start_daemon())
    };
    /// Creates the namespaces and starts what `opts` says. Points
    /// DBUS_SYSTEM_BUS_ADDRESS of this process (and so of its children) at the
    /// private bus until destroyed. One instance per process at a time: libdbus reads
    /// that variable once per process, so the bus socket path is the same for every
    /// instance of a process. Throws std::runtime_error with the reason and logs.
    PrivateAvahi();
    explicit PrivateAvahi(Options opts);
    ~PrivateAvahi();
    PrivateAvahi(const PrivateAvahi&) = delete;
    PrivateAvahi& operator=(const PrivateAvahi&) = delete;

    /// Starts dbus-daemon; returns once it accepts connections.
    void start_bus();
    /// Starts avahi-daemon; returns once it has announced its host name and serves D-Bus.
    void start_daemon();
    /// Sends `sig` to avahi-daemon and reaps it (SIGKILL after 5 s).
    void stop_daemon(int sig = SIGTERM);

    /// Publishes a service until the returned process ends (ending it withdraws the
    /// service). Returns once avahi-daemon has established it. With `follow_restarts`
    /// the publisher re-publishes when avahi-daemon comes back (avahi-publish -f);
    /// without, it exits when the daemon goes away.
    Process publish(const std::string& name, const std::string& type, uint16_t port,
                    const std::vector<std::string>& txt = {}, bool follow_restarts = false);

    /// The host name avahi-daemon announces, and the address it resolves to.
    static constexpr const char* host_name = "certlab-test.local";
    static constexpr const char* ip = "127.0.0.1";

    /// The daemons' logs, for failure messages.
    [[nodiscard]] std::string logs() const;

private:
    void teardown() noexcept;  ///< ends every process, restores the environment

    std::filesystem::path dir_;  ///< /tmp/certlab-avahi-<pid>: configs, logs, bus socket
    std::string saved_bus_env_;
    bool had_bus_env_ = false;
    Process holder_;  ///< `sleep` inside the namespaces: keeps them alive between daemons
    Process bus_;
    Process daemon_;
    int daemon_starts_ = 0;
    int publishers_ = 0;
};

}  // namespace certlab::test
