#include "support/avahi.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace certlab::test {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_instance{false};

/// Absolute path of a tool (posix_spawn does not search PATH; sbin may be missing from it).
std::string tool(const std::string& name) {
    for (const char* d : {"/usr/bin", "/usr/sbin", "/bin", "/sbin"})
        if (auto p = fs::path(d) / name; access(p.c_str(), X_OK) == 0) return p.string();
    throw std::runtime_error("PrivateAvahi: '" + name + "' is not installed");
}

/// argv prefix: the child gets SIGKILL when this process dies, whatever kills it.
std::vector<std::string> dies_with_us(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {tool("setpriv"), "--pdeathsig", "KILL", "--"});
    return argv;
}

std::string joined(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
}

std::string ns_link(const std::string& pid, const char* ns) {
    std::error_code ec;
    return fs::read_symlink("/proc/" + pid + "/ns/" + ns, ec).string();
}

std::string tail(const fs::path& p) {
    auto text = read_file(p);
    if (text.size() > 2000) text = "…" + text.substr(text.size() - 2000);
    return p.filename().string() + ":\n" + text;
}

/// Waits until `log` shows `marker`, or throws when the process ends or time runs out.
void await_log(Process& p, const fs::path& log, const std::string& marker, const std::string& what,
               std::chrono::milliseconds limit) {
    bool ended = false;
    const bool seen = wait_until(
        [&] {
            if (read_file(log).find(marker) != std::string::npos) return true;
            ended = !p.running();
            return ended;
        },
        limit);
    if (!seen || ended)
        throw std::runtime_error("PrivateAvahi: " + what + (ended ? " exited" : " did not get ready in time") +
                                 "\n" + tail(log));
}

}  // namespace

PrivateAvahi::PrivateAvahi() : PrivateAvahi(Options{}) {}

PrivateAvahi::PrivateAvahi(Options opts) {
    if (g_instance.exchange(true)) throw std::runtime_error("PrivateAvahi: one instance per process at a time");
    if (const char* old = std::getenv("DBUS_SYSTEM_BUS_ADDRESS")) {  // restored by teardown()
        had_bus_env_ = true;
        saved_bus_env_ = old;
    }
    try {
        dir_ = fs::path("/tmp") / ("certlab-avahi-" + std::to_string(getpid()));
        fs::remove_all(dir_);  // left by an earlier process with our pid
        fs::create_directories(dir_ / "services");

        auto bus_conf = read_file(source("tests/support/avahi/dbus-system.conf.in"));
        bus_conf.replace(bus_conf.find("@SOCKET@"), 8, (dir_ / "bus").string());
        write_file(dir_ / "dbus-system.conf", bus_conf);

        setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + (dir_ / "bus").string()).c_str(), 1);

        // The namespaces: unshare execs `sleep` inside them once they exist, so the
        // holder is ready when its comm reads "sleep" and its netns is not ours.
        const auto holder_log = dir_ / "holder.log";
        holder_ = Process::start(dies_with_us({tool("unshare"), "--net", "--mount", "--propagation", "private", "--",
                                               tool("sleep"), "infinity"}),
                                 holder_log);
        const auto pid = std::to_string(holder_.pid());
        const bool ready = wait_until(
            [&] {
                return !holder_.running() ||
                       (read_file("/proc/" + pid + "/comm") == "sleep\n" &&
                        ns_link(pid, "net") != ns_link("self", "net"));
            },
            5s);
        if (!ready || !holder_.running())
            throw std::runtime_error("PrivateAvahi: cannot create network and mount namespaces (needs root)\n" +
                                     tail(holder_log));

        // Inside: loopback up and multicast-capable (the kernel leaves a fresh lo down),
        // a private /run, and no static services from the host's /etc/avahi/services.
        const auto setup_log = dir_ / "setup.log";
        for (std::vector<std::string> cmd : {
                 std::vector<std::string>{tool("ip"), "link", "set", "dev", "lo", "up", "multicast", "on"},
                 std::vector<std::string>{tool("mount"), "-t", "tmpfs", "-o", "mode=0755,size=1m", "certlab-avahi",
                                          "/run"},
                 std::vector<std::string>{tool("mount"), "--bind", (dir_ / "services").string(),
                                          "/etc/avahi/services"},
             }) {
            cmd.insert(cmd.begin(), {tool("nsenter"), "--target", pid, "--net", "--mount", "--"});
            if (const auto r = run(cmd, 10s, setup_log); r.status != 0)
                throw std::runtime_error("PrivateAvahi: setting up the namespace failed: " + joined(cmd) +
                                         "\n" + tail(setup_log));
        }

        if (opts.bus) start_bus();
        if (opts.daemon) start_daemon();
    } catch (...) {
        teardown();
        throw;
    }
}

PrivateAvahi::~PrivateAvahi() { teardown(); }

void PrivateAvahi::teardown() noexcept {
    daemon_ = Process();
    bus_ = Process();
    holder_ = Process();
    if (had_bus_env_) setenv("DBUS_SYSTEM_BUS_ADDRESS", saved_bus_env_.c_str(), 1);
    else unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    std::error_code ec;
    if (!dir_.empty() && !std::getenv("CERTLAB_KEEP_TEST_DIRS")) fs::remove_all(dir_, ec);
    dir_.clear();
    g_instance = false;
}

void PrivateAvahi::start_bus() {
    if (bus_.pid() > 0 && bus_.running()) throw std::runtime_error("PrivateAvahi: the bus is already running");
    fs::remove(dir_ / "bus");
    const auto log = dir_ / "dbus-daemon.log";
    bus_ = Process::start(dies_with_us({tool("dbus-daemon"), "--config-file=" + (dir_ / "dbus-system.conf").string(),
                                        "--nofork", "--print-address"}),
                          log);
    // It prints its address once it listens.
    if (!bus_.read_line(10s)) throw std::runtime_error("PrivateAvahi: dbus-daemon did not start\n" + tail(log));
}

void PrivateAvahi::start_daemon() {
    if (daemon_.pid() > 0 && daemon_.running())
        throw std::runtime_error("PrivateAvahi: avahi-daemon is already running");
    const auto log = dir_ / ("avahi-daemon-" + std::to_string(++daemon_starts_) + ".log");
    // Root stays root, no chroot, no rlimits: the namespaces are the isolation here,
    // and the daemon must read our config (-f) and reach the bus socket where the test
    // put them.
    daemon_ = Process::start(
        dies_with_us({tool("nsenter"), "--target", std::to_string(holder_.pid()), "--net", "--mount", "--",
                      tool("avahi-daemon"), "-f", source("tests/support/avahi/avahi-daemon.conf").string(),
                      "--no-drop-root", "--no-chroot", "--no-rlimits"}),
        log);
    // Logged when the host name is established, after the D-Bus name was taken.
    await_log(daemon_, log, "Server startup complete", "avahi-daemon", 15s);
}

void PrivateAvahi::stop_daemon(int sig) {
    if (daemon_.pid() <= 0) return;  // never started (wait() would reap any child)
    daemon_.signal(sig);
    if (!daemon_.wait(5s)) {
        daemon_.signal(SIGKILL);
        (void)daemon_.wait(5s);
    }
}

Process PrivateAvahi::publish(const std::string& name, const std::string& type, uint16_t port,
                              const std::vector<std::string>& txt, bool follow_restarts) {
    const auto log = dir_ / ("publish-" + std::to_string(++publishers_) + ".log");
    std::vector<std::string> argv{tool("avahi-publish")};
    if (follow_restarts) argv.emplace_back("--no-fail");
    argv.insert(argv.end(), {"--service", name, type, std::to_string(port)});
    argv.insert(argv.end(), txt.begin(), txt.end());
    auto p = Process::start(dies_with_us(std::move(argv)), log);
    // Printed once the service survived probing (RFC 6762 §8.1) and is announced.
    await_log(p, log, "Established under name", "avahi-publish " + name, 10s);
    return p;
}

std::string PrivateAvahi::logs() const {
    std::string out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec))
        if (e.path().extension() == ".log") out += tail(e.path()) + "\n";
    return out;
}

}  // namespace certlab::test
