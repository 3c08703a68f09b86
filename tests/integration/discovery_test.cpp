// Discovery: what no profile matches is listed as unclaimed and never written to;
// `certlab devices suggest` output, saved as a profile, claims it on the next start.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

std::string discovery_yaml(const TempDir& dir) {
    return "station:\n  id: disc\n  reconnect_interval: 200ms\n  shutdown_grace: 3s\n"
           "store:\n  path: " + (dir / "s.db").string() + "\n  sync: normal\n"
           "profiles: " + (dir / "profiles").string() + "\n"
           "suites: " + source("lab-config/suites").string() + "\n"
           "discovery:\n  serial:\n    enumerate: false\n    poll_interval: 100ms\n"
           "    globs: [\"" + (dir / "tty-*").string() + "\"]\n";
}

json resource(const Daemon& d, const std::string& address) {
    const json all = d.get("/v1/resources");  // named: a temporary would die before the loop
    for (const auto& r : all["resources"])
        if (r["address"] == address) return r;
    return nullptr;
}

}  // namespace

TEST_CASE("discovery: an unmatched tty is unclaimed and never written, and a suggested profile claims it") {
    TempDir dir;
    std::filesystem::create_directory(dir / "profiles");
    std::filesystem::copy_file(source("lab-config/devices/escpos-generic.yaml"), dir / "profiles" / "escpos-generic.yaml");
    write_file(dir / "station.yaml", discovery_yaml(dir));
    const auto link = dir / "tty-printer";
    const auto address = "serial:" + link.string();

    // A bare pty stands in for an unknown device: its master shows any byte written.
    int master = -1, slave = -1;
    REQUIRE(openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
    std::filesystem::create_symlink(ttyname(slave), link);
    {
        Daemon d(dir, "");
        REQUIRE_MESSAGE(wait_until([&] { return !resource(d, address).is_null(); }, 10s), d.log());
        auto r = resource(d, address);
        CHECK(r["claimed"] == false);
        CHECK(r["reason"].get<std::string>().find("no profile") != std::string::npos);
        CHECK(d.get("/v1/devices")["devices"].empty());
        std::this_thread::sleep_for(500ms);  // several polls
        pollfd p{master, POLLIN, 0};
        CHECK(poll(&p, 1, 0) == 0);  // not one byte reached the port

        auto suggested = cli(d, {"devices", "suggest", address, "--driver", "escpos", "--profile", "bench-printer"});
        REQUIRE(suggested.status == 0);
        INFO(suggested.out);
        CHECK(suggested.out.find("match:") != std::string::npos);
        write_file(dir / "profiles" / "bench-printer.yaml", suggested.out);
        d.process().signal(SIGTERM);
        REQUIRE(d.process().wait(10s));
    }
    close(master);
    close(slave);

    // Next start, with a printer behind the same port: the saved profile claims it.
    auto sim = start_printer_at(link);
    Daemon d(dir, "");
    REQUIRE_MESSAGE(wait_until([&] { return resource(d, address)["claimed"] == true; }, 10s), d.log());
    auto id = resource(d, address)["device"].get<std::string>();
    CHECK(id.rfind("bench-printer-", 0) == 0);
    REQUIRE_MESSAGE(d.wait_for_state({id}, "ready"), d.log());
    auto run = d.start_run(id, "receipt-printer");
    REQUIRE(run > 0);
    CHECK(d.wait_for_run(run)["run"]["outcome"] == "pass");
}

namespace {

/// Discovers one simulated printer through a profile that matches its port and
/// checks its identification; returns the resource as the API shows it.
json discover_with_identify(const TempDir& dir, std::vector<std::string> sim_options, const std::string& model_glob) {
    std::filesystem::create_directories(dir / "profiles");
    write_file(dir / "profiles" / "strict.yaml",
               "profile: strict-printer\ndriver: escpos\nmatch:\n  kind: serial\n  address: \"serial:" +
                   (dir / "tty-*").string() + "\"\nprobe: escpos.gs_i\nidentify:\n  model: \"" + model_glob + "\"\n");
    write_file(dir / "station.yaml", discovery_yaml(dir));
    auto sim = start_printer_at(dir / "tty-p", std::move(sim_options));
    Daemon d(dir, "");
    json r;
    wait_until(
        [&] {
            r = resource(d, sim.address);
            return r.is_object() && r["claimed"] == false && r["reason"].get<std::string>().find("identif") != std::string::npos;
        },
        10s);
    INFO(d.log());
    CHECK(d.get("/v1/devices")["devices"].empty());
    return r;
}

}  // namespace

TEST_CASE("discovery: an identify answer outside the profile leaves the device unclaimed, with the reason") {
    TempDir dir;
    auto r = discover_with_identify(dir, {}, "TM-*");
    REQUIRE(r.is_object());
    CHECK(r["claimed"] == false);
    CHECK(r["reason"].get<std::string>().find("identify answer does not match profile strict-printer") == 0);
}

TEST_CASE("discovery: a device whose identify probe answers garbage stays unclaimed, with the reason") {
    TempDir dir;
    auto r = discover_with_identify(dir, {"--garbage-identify"}, "*");
    REQUIRE(r.is_object());
    CHECK(r["claimed"] == false);
    CHECK(r["reason"].get<std::string>().find("identify probe answered garbage") == 0);
}

namespace {

/// A loopback TCP service no profile knows: accepts connections and counts every byte
/// a client sends, which must stay zero.
class SilentService {
public:
    SilentService() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~SilentService() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    SilentService(const SilentService&) = delete;
    SilentService& operator=(const SilentService&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] int accepted() const { return accepted_; }
    [[nodiscard]] std::size_t bytes() const { return bytes_; }

private:
    void serve() {
        std::vector<pollfd> fds{{fd_, POLLIN, 0}};
        while (!stop_) {
            if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
            if (fds[0].revents & POLLIN) {
                int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c >= 0) {
                    ++accepted_;
                    fds.push_back({c, POLLIN, 0});
                }
            }
            for (std::size_t i = 1; i < fds.size();) {
                if (fds[i].revents == 0) {
                    ++i;
                    continue;
                }
                char buf[256];
                const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
                if (n > 0) {
                    bytes_ += static_cast<std::size_t>(n);
                    ++i;
                    continue;
                }
                ::close(fds[i].fd);  // the prober hung up (or reset): done with it
                fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
        for (std::size_t i = 1; i < fds.size(); ++i) ::close(fds[i].fd);
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::atomic<std::size_t> bytes_{0};
    std::thread thread_;
};

}  // namespace

TEST_CASE("discovery: an unmatched network service is unclaimed and never sent a byte") {
    TempDir dir;
    std::filesystem::create_directory(dir / "profiles");
    std::filesystem::copy_file(source("lab-config/devices/escpos-generic.yaml"), dir / "profiles" / "escpos-generic.yaml");
    SilentService service;
    const auto address = "tcp:127.0.0.1:" + std::to_string(service.port());
    write_file(dir / "station.yaml",
               "station:\n  id: disc\n  shutdown_grace: 3s\n"
               "store:\n  path: " + (dir / "s.db").string() + "\n  sync: normal\n"
               "profiles: " + (dir / "profiles").string() + "\n"
               "suites: " + source("lab-config/suites").string() + "\n"
               "discovery:\n  net:\n    cidrs: [\"127.0.0.1/32\"]\n    ports: [\"" + std::to_string(service.port()) +
                   "\"]\n    interval: 100ms\n");
    Daemon d(dir, "");
    REQUIRE_MESSAGE(wait_until([&] { return !resource(d, address).is_null(); }, 10s), d.log());
    auto r = resource(d, address);
    CHECK(r["claimed"] == false);
    CHECK(r["reason"].get<std::string>().find("no profile") != std::string::npos);
    CHECK(d.get("/v1/devices")["devices"].empty());
    // Several sweeps later: probed by connecting only, never sent a byte.
    REQUIRE(wait_until([&] { return service.accepted() >= 3; }, 10s));
    CHECK(service.bytes() == 0);
    const auto listed = cli(d, {"devices", "resources"});
    CHECK(listed.status == 0);
    CHECK(listed.out.find(address) != std::string::npos);
}
