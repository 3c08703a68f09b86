// Runs the real certlab-sim binary and talks ESC/POS to it over a pty or TCP.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "escpos/protocol.hpp"

extern char** environ;

using namespace certlab::escpos;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto start_timeout = 5s;
constexpr auto answer_timeout = 1s;
constexpr auto silence = 200ms;  // how long "no answer" is waited for

int ms_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

/// An owned descriptor.
struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

/// certlab-sim as a child process; stopped (SIGTERM, then SIGKILL) when destroyed.
class Sim {
public:
    explicit Sim(const std::vector<std::string>& args) {
        int pipe_fds[2];
        REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
        Fd read_end(pipe_fds[0]);
        Fd write_end(pipe_fds[1]);

        std::vector<std::string> argv_s{CERTLAB_BIN_DIR "/certlab-sim", "printer"};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, write_end.fd, STDOUT_FILENO);
        int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0]);
        ::close(write_end.fd);
        write_end.fd = -1;
        line_ = read_line(read_end.fd);
        REQUIRE_MESSAGE(!line_.empty(), "certlab-sim printed no ready line");
    }
    Sim(const Sim&) = delete;
    Sim& operator=(const Sim&) = delete;
    ~Sim() {
        if (pid_ > 0) (void)stop();
    }

    [[nodiscard]] const std::string& ready_line() const { return line_; }
    /// The part after "pty " or "tcp ".
    [[nodiscard]] std::string address() const { return line_.substr(4); }

    /// Sends SIGTERM and returns the exit status (-1 if it had to be killed).
    int stop() {
        ::kill(pid_, SIGTERM);
        return wait_exit(2s);
    }
    /// Waits for the process to end by itself; -1 when it did not within `timeout`.
    int wait_exit(Clock::duration timeout) {
        auto deadline = Clock::now() + timeout;
        int status = 0;
        while (Clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(5ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
    }

private:
    static std::string read_line(int fd) {
        std::string line;
        auto deadline = Clock::now() + start_timeout;
        char c;
        while (ms_left(deadline) > 0) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, ms_left(deadline)) <= 0) break;
            if (::read(fd, &c, 1) != 1) break;
            if (c == '\n') return line;
            line += c;
        }
        return {};
    }

    pid_t pid_ = -1;
    std::string line_;
};

/// The host end of a link to the simulator.
class Link {
public:
    static Link pty(const std::string& path) {
        Link l(::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
        REQUIRE_MESSAGE(l.fd_.fd >= 0, "cannot open " << path);
        termios tio{};
        REQUIRE(::tcgetattr(l.fd_.fd, &tio) == 0);
        ::cfmakeraw(&tio);
        REQUIRE(::tcsetattr(l.fd_.fd, TCSANOW, &tio) == 0);
        return l;
    }
    static Link tcp(const std::string& host_port) {
        auto colon = host_port.rfind(':');
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1))));
        REQUIRE(::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &sa.sin_addr) == 1);
        Link l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(l.fd_.fd >= 0);
        REQUIRE(::connect(l.fd_.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        return l;
    }

    void send(const Bytes& data) {
        REQUIRE(::write(fd_.fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    }
    /// Reads until `want` bytes arrived, the link ended, or `timeout` passed.
    Bytes receive(std::size_t want, Clock::duration timeout = answer_timeout) {
        Bytes out;
        auto deadline = Clock::now() + timeout;
        while (out.size() < want && ms_left(deadline) > 0) {
            pollfd p{fd_.fd, POLLIN, 0};
            if (::poll(&p, 1, ms_left(deadline)) <= 0) break;
            char buf[256];
            ssize_t n = ::read(fd_.fd, buf, sizeof buf);
            if (n <= 0) {
                ended_ = true;
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
    Bytes ask(StatusKind k, std::size_t want = 1) {
        send(encode_status_request(k));
        return receive(want);
    }
    [[nodiscard]] bool ended() const { return ended_; }

private:
    explicit Link(int fd) : fd_(fd) {}
    Fd fd_;
    bool ended_ = false;
};

std::uint8_t byte0(const Bytes& b) {
    REQUIRE(!b.empty());
    return static_cast<std::uint8_t>(b[0]);
}

/// A fresh directory under /tmp, removed with its files afterwards.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/certlab-escpos-sim-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        for (const char* f : {"/paper.log", "/printer"}) ::unlink((path + f).c_str());
        ::rmdir(path.c_str());
    }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("sim: escpos printer on a pty answers real-time status") {
    Sim sim({"--pty"});
    REQUIRE(sim.ready_line().rfind("pty /dev/pts/", 0) == 0);
    auto link = Link::pty(sim.address());
    auto printer = decode_printer_status(byte0(link.ask(StatusKind::printer)));
    REQUIRE(printer);
    CHECK_FALSE(printer->offline);
    CHECK_FALSE(printer->drawer_pin3_high);
    CHECK(byte0(link.ask(StatusKind::offline_cause)) == 0x12);
    CHECK(byte0(link.ask(StatusKind::error_cause)) == 0x12);
    CHECK(byte0(link.ask(StatusKind::roll_paper)) == 0x12);
}

TEST_CASE("sim: escpos printer with --paper-out is offline and reports paper end") {
    Sim sim({"--pty", "--paper-out"});
    auto link = Link::pty(sim.address());
    auto printer = decode_printer_status(byte0(link.ask(StatusKind::printer)));
    REQUIRE(printer);
    CHECK(printer->offline);
    auto cause = decode_offline_cause(byte0(link.ask(StatusKind::offline_cause)));
    REQUIRE(cause);
    CHECK(cause->paper_end_stop);
    CHECK_FALSE(cause->cover_open);
    CHECK(byte0(link.ask(StatusKind::roll_paper)) == 0x72);
}

TEST_CASE("sim: escpos printer with --cover-open and --paper-near-end") {
    Sim sim({"--pty", "--cover-open", "--paper-near-end"});
    auto link = Link::pty(sim.address());
    CHECK(byte0(link.ask(StatusKind::printer)) == 0x1A);
    CHECK(decode_offline_cause(byte0(link.ask(StatusKind::offline_cause)))->cover_open);
    auto paper = decode_roll_paper(byte0(link.ask(StatusKind::roll_paper)));
    REQUIRE(paper);
    CHECK(paper->near_end);
    CHECK_FALSE(paper->end);
}

TEST_CASE("sim: escpos printer with --stall never answers") {
    Sim sim({"--pty", "--stall"});
    auto link = Link::pty(sim.address());
    link.send(encode_status_request(StatusKind::printer));
    CHECK(link.receive(1, silence).empty());
}

TEST_CASE("sim: escpos printer with --stall-after 2 answers twice, then stalls") {
    Sim sim({"--pty", "--stall-after", "2"});
    auto link = Link::pty(sim.address());
    CHECK(link.ask(StatusKind::printer).size() == 1);
    CHECK(link.ask(StatusKind::roll_paper).size() == 1);
    link.send(encode_status_request(StatusKind::printer));
    CHECK(link.receive(1, silence).empty());
}

TEST_CASE("sim: escpos printer with --garbage answers bytes that break the fixed bits") {
    Sim sim({"--pty", "--garbage"});
    auto link = Link::pty(sim.address());
    auto answer = link.ask(StatusKind::printer, 2);
    REQUIRE(answer.size() == 2);
    auto decoded = decode_printer_status(byte0(answer));
    CHECK_FALSE(decoded);
    CHECK(decoded.error.find("0xFF") != std::string::npos);
}

TEST_CASE("sim: escpos printer with --garbage-after 1 answers once properly") {
    Sim sim({"--pty", "--garbage-after", "1"});
    auto link = Link::pty(sim.address());
    CHECK(decode_printer_status(byte0(link.ask(StatusKind::printer))));
    CHECK_FALSE(decode_printer_status(byte0(link.ask(StatusKind::printer, 2))));
}

TEST_CASE("sim: escpos printer answers GS I with its identity") {
    Sim sim({"--pty", "--model", "TM-SIM", "--serial", "X42", "--firmware", "2.1", "--maker", "ACME"});
    auto link = Link::pty(sim.address());
    link.send(encode_identify_request(IdKind::type_id));
    CHECK(decode_id_byte(byte0(link.receive(1)), IdKind::type_id));
    struct Want {
        IdKind kind;
        std::string text;
    };
    for (const auto& w : {Want{IdKind::firmware, "2.1"}, Want{IdKind::maker, "ACME"},
                          Want{IdKind::model, "TM-SIM"}, Want{IdKind::serial, "X42"}}) {
        link.send(encode_identify_request(w.kind));
        auto text = decode_id_text(link.receive(w.text.size() + 2), w.kind);
        REQUIRE_MESSAGE(text, text.error);
        CHECK(*text == w.text);
    }
}

TEST_CASE("sim: escpos printer logs paper, cuts, and opens the drawer for a while") {
    TempDir dir;
    auto log = dir.path + "/paper.log";
    Sim sim({"--pty", "--paper-log", log, "--drawer-close-ms", "300"});
    auto link = Link::pty(sim.address());
    link.send(encode_init() + encode_text_line("first") + encode_text_line("second") +
              encode_feed_and_cut(CutKind::partial, 3) + encode_drawer_pulse(DrawerPin::pin2, 50, 50));
    CHECK(decode_printer_status(byte0(link.ask(StatusKind::printer)))->drawer_pin3_high);
    std::this_thread::sleep_for(400ms);
    CHECK_FALSE(decode_printer_status(byte0(link.ask(StatusKind::printer)))->drawer_pin3_high);
    CHECK(slurp(log) == "first\nsecond\n--- cut ---\n");
}

TEST_CASE("sim: escpos printer with --paper-out discards print data") {
    TempDir dir;
    auto log = dir.path + "/paper.log";
    Sim sim({"--pty", "--paper-out", "--paper-log", log});
    auto link = Link::pty(sim.address());
    link.send(encode_text_line("lost") + encode_cut(CutKind::full));
    CHECK(link.ask(StatusKind::printer).size() == 1);  // the sim has read the job by now
    CHECK(slurp(log).empty());
}

TEST_CASE("sim: escpos --link makes a symlink, removed on SIGTERM with exit 0") {
    TempDir dir;
    auto path = dir.path + "/printer";
    Sim sim({"--pty", "--link", path});
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    auto link = Link::pty(path);
    CHECK(link.ask(StatusKind::printer).size() == 1);
    CHECK(sim.stop() == 0);
    CHECK(::lstat(path.c_str(), &st) != 0);
}

TEST_CASE("sim: escpos --disconnect-after on a pty closes it and exits 0") {
    Sim sim({"--pty", "--disconnect-after", "1"});
    auto link = Link::pty(sim.address());
    CHECK(link.ask(StatusKind::printer).size() == 1);
    CHECK(link.ask(StatusKind::printer).empty());
    CHECK(sim.wait_exit(2s) == 0);
}

TEST_CASE("sim: escpos printer on tcp: --disconnect-after drops one connection only") {
    Sim sim({"--tcp", "0", "--disconnect-after", "1"});
    REQUIRE(sim.ready_line().rfind("tcp 127.0.0.1:", 0) == 0);
    {
        auto link = Link::tcp(sim.address());
        CHECK(byte0(link.ask(StatusKind::printer)) == 0x12);
        CHECK(link.ask(StatusKind::printer).empty());
        CHECK(link.ended());
    }
    auto again = Link::tcp(sim.address());  // still listening, and the fault is spent
    CHECK(byte0(again.ask(StatusKind::roll_paper)) == 0x12);
    CHECK(byte0(again.ask(StatusKind::printer)) == 0x12);
}

TEST_CASE("sim: escpos --response-delay-ms delays each answer") {
    Sim sim({"--pty", "--response-delay-ms", "150"});
    auto link = Link::pty(sim.address());
    link.send(encode_status_request(StatusKind::printer));
    CHECK(link.receive(1, 100ms).empty());
    CHECK(link.receive(1, answer_timeout).size() == 1);
}

TEST_CASE("sim: escpos certlab-sim rejects bad arguments with exit 2") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--tcp", "0", "--pty"}, {"--pty", "--stall-after", "x"}, {"--bogus"}, {}}) {
        std::vector<std::string> argv_s{CERTLAB_BIN_DIR "/certlab-sim", "printer"};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        pid_t pid = -1;
        REQUIRE(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
        posix_spawn_file_actions_destroy(&actions);
        int status = 0;
        auto deadline = Clock::now() + 2s;
        while (::waitpid(pid, &status, WNOHANG) != pid) {
            if (Clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                FAIL("certlab-sim did not exit on bad arguments");
            }
            std::this_thread::sleep_for(5ms);
        }
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 2);
    }
}
