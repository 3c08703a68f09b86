// certlabd as a systemd service: the unit (verify, security rating), sysusers and
// tmpfiles, sd_notify readiness and the watchdog, and the installed layout.
#include <doctest/doctest.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <regex>

#include "harness.hpp"

using namespace certlab::test;

namespace {

const std::filesystem::path unit_source = source("systemd/certlabd.service");

/// A copy of the unit whose ExecStart names the built certlabd, which verify needs
/// to exist (the rest of the unit is the file as shipped).
std::filesystem::path unit_for_built_daemon(const TempDir& dir) {
    auto text = read_file(unit_source);
    const std::string from = "ExecStart=/usr/bin/certlabd";
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), "ExecStart=" + bin("certlabd").string());
    auto path = dir / "certlabd.service";
    write_file(path, text);
    return path;
}

/// "→ Overall exposure level for certlabd.service: 1.5 OK 🙂" -> 1.5
std::optional<double> exposure(const std::string& report) {
    std::smatch m;
    static const std::regex re(R"(Overall exposure level for certlabd\.service: ([0-9]+\.[0-9]))");
    if (!std::regex_search(report, m, re)) return std::nullopt;
    return std::stod(m[1]);
}

/// An AF_UNIX datagram socket standing in for systemd's notification socket.
class NotifySocket {
public:
    explicit NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path_.string().size() < sizeof addr.sun_path);
        std::strcpy(addr.sun_path, path_.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~NotifySocket() { ::close(fd_); }
    NotifySocket(const NotifySocket&) = delete;
    /// The next datagram, or nullopt when none comes within `timeout`.
    std::optional<std::string> next(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
        char buf[4096];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<std::size_t>(n));
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

/// Sets environment variables for the children started in its lifetime.
class ScopedEnv {
public:
    ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) : vars_(std::move(vars)) {
        for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
    }
    ~ScopedEnv() {
        for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
    }

private:
    std::vector<std::pair<std::string, std::string>> vars_;
};

struct Notifications {
    bool ready = false;
    int watchdog_before_ready = 0;
    int watchdog = 0;
};

/// Reads notifications until `enough` says so or `total` passes.
template <typename Enough>
Notifications listen(NotifySocket& sock, std::chrono::milliseconds total, Enough enough) {
    Notifications n;
    auto until = std::chrono::steady_clock::now() + total;
    while (!enough(n) && std::chrono::steady_clock::now() < until) {
        auto msg = sock.next(100ms);
        if (!msg) continue;
        if (msg->find("READY=1") != std::string::npos) n.ready = true;
        if (msg->find("WATCHDOG=1") != std::string::npos) ++(n.ready ? n.watchdog : n.watchdog_before_ready);
    }
    return n;
}

}  // namespace

TEST_CASE("service: systemd-analyze verify passes on the unit") {
    TempDir dir;
    auto unit = unit_for_built_daemon(dir);
    auto log = dir / "verify.log";
    auto r = run({"/usr/bin/systemd-analyze", "verify", unit.string()}, 60s, log);
    auto complaints = read_file(log);
    INFO("systemd-analyze verify said:\n", complaints);
    CHECK(r.status == 0);
    // verify also reports what it ignores ("Unknown key", "Invalid syntax") with status 0.
    CHECK(complaints.find(unit.filename().string()) == std::string::npos);
}

TEST_CASE("service: systemd-analyze security rates the unit 4.0 or lower") {
    TempDir dir;
    auto unit = unit_for_built_daemon(dir);
    auto r = run({"/usr/bin/systemd-analyze", "security", "--offline=true", "--no-pager", unit.string()}, 60s,
                 dir / "security.log");
    auto report = r.out + read_file(dir / "security.log");
    auto level = exposure(report);
    INFO("systemd-analyze security said:\n", report);
    REQUIRE(level);
    MESSAGE("systemd-analyze security --offline=true: overall exposure " << *level);
    CHECK(*level <= 4.0);
}

TEST_CASE("service: the sysusers and tmpfiles files make the account and directories") {
    TempDir root;
    std::filesystem::create_directories(root / "etc");
    // Debian's own groups, as in a fresh system: sysusers adds certlab to them.
    write_file(root / "etc/group", "lp:x:7:\ndialout:x:20:\nplugdev:x:46:\n");
    write_file(root / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    auto r = run({"/usr/bin/systemd-sysusers", "--root=" + root.path().string(),
                  source("systemd/certlab.sysusers").string()}, 30s, root / "sysusers.log");
    INFO(read_file(root / "sysusers.log"));
    REQUIRE(r.status == 0);
    auto passwd = read_file(root / "etc/passwd");
    auto group = read_file(root / "etc/group");
    CHECK(std::regex_search(passwd, std::regex("\ncertlab:x:[0-9]+:[0-9]+:[^:]*:/var/lib/certlab:/usr/sbin/nologin\n")));
    for (const char* g : {"lp:x:7:certlab", "dialout:x:20:certlab", "plugdev:x:46:certlab"}) CHECK(group.find(g) != std::string::npos);
    CHECK(std::regex_search(group, std::regex("\ncertlab:x:[0-9]+:")));

    r = run({"/usr/bin/systemd-tmpfiles", "--root=" + root.path().string(), "--create",
             source("systemd/certlab.tmpfiles").string()}, 30s, root / "tmpfiles.log");
    INFO(read_file(root / "tmpfiles.log"));
    REQUIRE(r.status == 0);
    CHECK(std::filesystem::is_directory(root / "var/lib/certlab"));
    CHECK(std::filesystem::is_directory(root / "var/log/certlab"));
    // The tokens file exists (LoadCredential= needs it) and is readable by root alone.
    auto tokens = std::filesystem::status(root / "etc/certlab/api-tokens");
    CHECK(tokens.type() == std::filesystem::file_type::regular);
    using std::filesystem::perms;
    CHECK((tokens.permissions() & (perms::group_all | perms::others_all)) == perms::none);
}

TEST_CASE("service: certlabd notifies READY=1 and then feeds the watchdog from its loop") {
    TempDir dir;
    NotifySocket sock(dir / "notify");
    // 400 ms: a ping every 200 ms, several within the test's bound.
    ScopedEnv env({{"NOTIFY_SOCKET", sock.path().string()}, {"WATCHDOG_USEC", "400000"}});
    Daemon d(dir, station_yaml({}, dir / "store.db"));
    auto n = listen(sock, 10s, [](const Notifications& n) { return n.watchdog >= 4; });
    CHECK(n.ready);
    CHECK(n.watchdog_before_ready == 0);
    CHECK(n.watchdog >= 4);
    // A loop that stops stops feeding: the process held still sends nothing.
    d.process().signal(SIGSTOP);
    while (sock.next(300ms)) {}  // what was sent before it stopped
    CHECK_FALSE(sock.next(600ms));
    d.process().signal(SIGCONT);
    // No READY=1 comes again, so the pings count as "before ready" in this listen().
    CHECK(listen(sock, 5s, [](const Notifications& n) { return n.watchdog_before_ready >= 1; }).watchdog_before_ready >= 1);
}

TEST_CASE("service: without WATCHDOG_USEC certlabd notifies READY=1 and sends no watchdog pings") {
    TempDir dir;
    NotifySocket sock(dir / "notify");
    ScopedEnv env({{"NOTIFY_SOCKET", sock.path().string()}});
    Daemon d(dir, station_yaml({}, dir / "store.db"));
    auto n = listen(sock, 1500ms, [](const Notifications&) { return false; });
    CHECK(n.ready);
    CHECK(n.watchdog == 0);
    CHECK(n.watchdog_before_ready == 0);
}

TEST_CASE("install: cmake --install puts everything in FHS places and the installed certlabd runs") {
    TempDir dest;
    const std::filesystem::path prefix = CERTLAB_INSTALL_PREFIX;
    RunResult r;
    {
        // DESTDIR: never the machine's own /usr and /etc.
        ScopedEnv env({{"DESTDIR", dest.path().string()}});
        r = run({CERTLAB_CMAKE, "--install", CERTLAB_BUILD_DIR}, 120s, dest / "install.log");
    }
    INFO(r.out, read_file(dest / "install.log"));
    REQUIRE(r.status == 0);
    auto root = [&](const std::filesystem::path& p) { return dest.path() / p.relative_path(); };
    const auto usr = root(prefix);
    for (const char* f : {"bin/certlabd", "bin/certlab", "lib/systemd/system/certlabd.service",
                          "lib/sysusers.d/certlab.conf", "lib/tmpfiles.d/certlab.conf", "lib/udev/rules.d/60-certlab.rules",
                          "share/doc/certlab/README.md", "share/certlab/lab-config/devices/escpos-generic.yaml",
                          "share/certlab/lab-config/suites/receipt-printer.yaml"}) {
        CAPTURE(f);
        CHECK(std::filesystem::is_regular_file(usr / f));
    }
    CHECK(std::filesystem::is_directory(usr / "lib/certlab/plugins"));
    CHECK_FALSE(std::filesystem::exists(usr / "bin/certlab-sim"));  // a test fixture
    CHECK(std::filesystem::is_regular_file(root("/etc/certlab/station.yaml")));
    // The installed unit starts the installed daemon.
    CHECK(read_file(usr / "lib/systemd/system/certlabd.service").find("ExecStart=" + (prefix / "bin/certlabd").string() + " ") !=
          std::string::npos);

    auto version = run({(usr / "bin/certlabd").string(), "--version"}, 10s);
    CHECK(version.status == 0);
    CHECK(version.out.rfind("certlabd ", 0) == 0);
    CHECK(version.out == run({bin("certlabd").string(), "--version"}, 10s).out);

    // The packaged station.yaml is valid with the installed profiles and suites (its
    // absolute paths moved under DESTDIR, the store into the temporary directory).
    auto yaml = read_file(root("/etc/certlab/station.yaml"));
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {prefix.string() + "/", usr.string() + "/"}, {"/var/lib/certlab/", (dest / "var-lib/").string()}}) {
        for (auto at = yaml.find(from); at != std::string::npos; at = yaml.find(from, at + to.size()))
            yaml.replace(at, from.size(), to);
    }
    write_file(dest / "station.yaml", yaml);
    auto check = run({(usr / "bin/certlabd").string(), "--config", (dest / "station.yaml").string(), "--check-config"},
                     30s, dest / "check.log");
    INFO(check.out, read_file(dest / "check.log"));
    CHECK(check.status == 0);
    CHECK(std::regex_search(check.out, std::regex("configuration ok: [1-9][0-9]* profile\\(s\\), 0 device\\(s\\), [1-9][0-9]* suite\\(s\\)")));
}
