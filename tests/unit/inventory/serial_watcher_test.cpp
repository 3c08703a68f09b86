#include "inventory/serial_watcher.hpp"

#include <doctest/doctest.h>
#include <pty.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace certlab;
using namespace std::chrono_literals;
using inventory::SerialWatcher;
using inventory::SerialWatchOptions;
namespace fs = std::filesystem;

namespace {

/// A pseudo-terminal pair standing in for a device cable; closing both ends makes
/// its /dev/pts node vanish, as unplugging an adapter does.
struct Pty {
    int master = -1, slave = -1;
    std::string path;
    Pty() {
        std::array<char, PATH_MAX> name{};
        REQUIRE(::openpty(&master, &slave, name.data(), nullptr, nullptr) == 0);
        path = name.data();
    }
    void close() {
        if (master >= 0) ::close(master);
        if (slave >= 0) ::close(slave);
        master = slave = -1;
    }
    ~Pty() { close(); }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;
};

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "certlab-serialwatch-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

/// Records what a watcher reports, in order.
struct Recorder {
    std::vector<std::string> arrived, departed;
    std::vector<sdk::Resource> resources;
    inventory::WatcherSink sink() {
        return {[this](const sdk::Resource& r) {
                    arrived.push_back(r.address);
                    resources.push_back(r);
                },
                [this](const std::string& a) { departed.push_back(a); }};
    }
    [[nodiscard]] bool saw_arrival(const std::string& a) const {
        return std::ranges::find(arrived, a) != arrived.end();
    }
    [[nodiscard]] bool saw_departure(const std::string& a) const {
        return std::ranges::find(departed, a) != departed.end();
    }
};

/// Runs the io_context in this thread until `done` holds or the limit passes.
bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 3s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
        ioc.restart();
        ioc.run_for(10ms);
    }
    return done();
}

std::string addr(const fs::path& p) { return "serial:" + p.string(); }

}  // namespace

TEST_CASE("inventory: serial pty symlinks matching a glob appear and depart") {
    TempDir dir;
    boost::asio::io_context ioc;
    SerialWatchOptions opts;
    opts.globs = {(dir.path / "tty-*").string()};
    opts.exclude_globs = {(dir.path / "tty-skip*").string()};  // defaults still apply
    opts.poll_interval = 20ms;

    Pty a, b, skipped;
    const auto link_a = dir.path / "tty-a", link_b = dir.path / "tty-b";
    fs::create_symlink(a.path, link_a);
    fs::create_symlink(skipped.path, dir.path / "tty-skip-me");
    fs::create_symlink("/dev/ttyS0", dir.path / "tty-console");  // excluded by its target
    std::ofstream(dir.path / "tty-plainfile") << "not a tty";     // not a character device

    SerialWatcher watcher(ioc.get_executor(), opts);
    CHECK(watcher.name() == "serial");
    Recorder rec;
    watcher.start(rec.sink());
    REQUIRE(run_until(ioc, [&] { return rec.saw_arrival(addr(link_a)); }));
    const auto it = std::ranges::find(rec.resources, addr(link_a), &sdk::Resource::address);
    CHECK(it->kind == sdk::Resource::Kind::serial);
    CHECK(it->source == "serial");

    fs::create_symlink(b.path, link_b);
    REQUIRE(run_until(ioc, [&] { return rec.saw_arrival(addr(link_b)); }));

    a.close();
    fs::remove(link_a);
    REQUIRE(run_until(ioc, [&] { return rec.saw_departure(addr(link_a)); }));
    ioc.restart();
    ioc.run_for(100ms);  // a few more polls: b stays, nothing flaps

    CHECK(std::ranges::count(rec.arrived, addr(link_a)) == 1);
    CHECK(std::ranges::count(rec.arrived, addr(link_b)) == 1);
    CHECK_FALSE(rec.saw_departure(addr(link_b)));
    for (const auto& address : rec.arrived) {
        INFO(address);
        CHECK(address.find("tty-skip") == std::string::npos);
        CHECK(address.find("tty-console") == std::string::npos);
        CHECK(address.find("tty-plainfile") == std::string::npos);
        CHECK(address != "serial:/dev/ttyS0");
        CHECK(address != "serial:/dev/console");
    }
    watcher.stop();
}

TEST_CASE("inventory: serial a closed pty departs even if its symlink stays") {
    TempDir dir;
    boost::asio::io_context ioc;
    Pty pty;
    const auto link = dir.path / "tty-dangling";
    fs::create_symlink(pty.path, link);

    SerialWatchOptions opts;
    opts.globs = {(dir.path / "tty-*").string()};
    opts.paths = {pty.path};  // an explicit path is watched the same way
    opts.enumerate = false;
    opts.poll_interval = 20ms;
    SerialWatcher watcher(ioc.get_executor(), opts);
    Recorder rec;
    watcher.start(rec.sink());
    REQUIRE(run_until(ioc, [&] {
        return rec.saw_arrival(addr(link)) && rec.saw_arrival("serial:" + pty.path);
    }));

    pty.close();  // the /dev/pts node goes away; the symlink now dangles
    REQUIRE(run_until(ioc, [&] {
        return rec.saw_departure(addr(link)) && rec.saw_departure("serial:" + pty.path);
    }));
}

TEST_CASE("inventory: serial stop ends all reports") {
    TempDir dir;
    boost::asio::io_context ioc;
    SerialWatchOptions opts;
    opts.globs = {(dir.path / "tty-*").string()};
    opts.poll_interval = 10ms;
    SerialWatcher watcher(ioc.get_executor(), opts);
    Recorder rec;
    Pty a, b;
    fs::create_symlink(a.path, dir.path / "tty-a");
    watcher.start(rec.sink());
    REQUIRE(run_until(ioc, [&] { return rec.arrived.size() == 1; }));
    CHECK_THROWS_AS(watcher.start(rec.sink()), std::runtime_error);

    watcher.stop();
    fs::create_symlink(b.path, dir.path / "tty-b");
    fs::remove(dir.path / "tty-a");
    ioc.restart();
    ioc.run_for(100ms);
    CHECK(rec.arrived.size() == 1);
    CHECK(rec.departed.empty());
    CHECK(ioc.stopped());  // the cancelled timer left no work behind
}

TEST_CASE("inventory: serial the VM console is never reported, whatever the options") {
    SerialWatchOptions opts;
    opts.enumerate = true;  // libserialport lists /dev/ttyS0 on these machines
    opts.paths = {"/dev/ttyS0", "/dev/console", "/dev/tty"};
    opts.globs = {"/dev/ttyS*", "/dev/tty"};
    opts.exclude_globs.clear();  // the built-in excludes must still hold
    for (const auto& r : inventory::scan_serial_ports(opts)) {
        INFO(r.address);
        CHECK(r.address != "serial:/dev/ttyS0");
        CHECK(r.address != "serial:/dev/console");
        CHECK(r.address != "serial:/dev/tty");
        CHECK(r.kind == sdk::Resource::Kind::serial);
    }
    CHECK(inventory::serial_path_excluded(opts, "/dev/ttyS0"));
    CHECK(inventory::serial_path_excluded(opts, "/dev/console"));
    CHECK_FALSE(inventory::serial_path_excluded(opts, "/dev/ttyUSB0"));

    opts.exclude_globs = {"/dev/ttyUSB*"};
    CHECK(inventory::serial_path_excluded(opts, "/dev/ttyUSB3"));
    CHECK(inventory::serial_path_excluded(opts, "/dev/ttyS0"));
}
