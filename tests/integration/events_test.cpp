// GET /v1/events (docs/API.md, "Events") from a raw socket: a client that reads a run's
// events, disconnects mid-run and resumes with Last-Event-ID (the header, then the
// query parameter) ends up with every event exactly once and every step of the run.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <thread>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// ~80 steps over a few seconds: long enough to drop the stream twice mid-run.
const char* soak_yaml = R"(suite: event-soak
title: Status and a short pause, many times
requires: [printer]
scenarios:
  - id: EV-1
    title: Status, then a pause
    iterations: 40
    steps:
      - call: printer.status
        expect: { online: true }
      - wait: 60ms
)";

struct SseEvent {
    std::optional<std::int64_t> id;
    std::string type;
    std::string data;
};

/// A server-sent events client on a plain socket; every read is bounded.
class SseClient {
public:
    SseClient(std::uint16_t port, const std::string& target, const std::string& extra_headers = {}) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                                extra_headers + "\r\n";
        REQUIRE(send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    }
    ~SseClient() { close(fd_); }
    SseClient(const SseClient&) = delete;
    SseClient& operator=(const SseClient&) = delete;

    /// The response head (status line and headers), once read.
    [[nodiscard]] const std::string& head() const { return head_; }
    [[nodiscard]] bool closed() const { return closed_; }
    /// Comments (`: ping`) seen so far.
    [[nodiscard]] int comments() const { return comments_; }

    /// Reads until `done` says so for an event, the server closes, or `timeout`;
    /// returns every event read (comments are counted, not returned).
    std::vector<SseEvent> read_until(const std::function<bool(const SseEvent&)>& done,
                                     std::chrono::milliseconds timeout) {
        std::vector<SseEvent> out;
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            while (auto e = next_frame()) {
                out.push_back(*e);
                if (done(*e)) return out;
            }
            if (closed_) return out;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return out;
            pollfd pfd{fd_, POLLIN, 0};
            if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return out;
            char buf[16384];
            const ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed_ = true;
                continue;
            }
            buf_.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    /// The next complete event from the buffer (the head first), if there is one.
    std::optional<SseEvent> next_frame() {
        if (head_.empty()) {
            const auto end = buf_.find("\r\n\r\n");
            if (end == std::string::npos) return std::nullopt;
            head_ = buf_.substr(0, end);
            buf_.erase(0, end + 4);
        }
        for (;;) {
            const auto end = buf_.find("\n\n");
            if (end == std::string::npos) return std::nullopt;
            const std::string block = buf_.substr(0, end);
            buf_.erase(0, end + 2);
            SseEvent e;
            bool any = false;
            std::size_t pos = 0;
            while (pos <= block.size()) {
                auto nl = block.find('\n', pos);
                if (nl == std::string::npos) nl = block.size();
                const std::string line = block.substr(pos, nl - pos);
                pos = nl + 1;
                if (line.empty()) continue;
                if (line.front() == ':') {
                    ++comments_;
                    continue;
                }
                const auto colon = line.find(": ");
                const auto field = line.substr(0, colon);
                const auto value = colon == std::string::npos ? std::string() : line.substr(colon + 2);
                if (field == "id") e.id = std::stoll(value), any = true;
                else if (field == "event") e.type = value, any = true;
                else if (field == "data") e.data += value, any = true;
            }
            if (any && !e.type.empty()) return e;
            // retry: or a comment alone: not an event; look at the next block.
        }
    }

    int fd_ = -1;
    std::string buf_;
    std::string head_;
    bool closed_ = false;
    int comments_ = 0;
};

struct Bench {
    TempDir dir;
    Sim printer = start_printer(Link::pty);
    Daemon daemon;
    Bench() : daemon(dir, yaml(dir, printer)) {}

    static std::string yaml(const TempDir& dir, const Sim& printer) {
        std::filesystem::create_directory(dir / "suites");
        write_file(dir / "suites" / "event-soak.yaml", soak_yaml);
        return station_yaml({{"p1", printer.address, ""}}, dir / "s.db", dir / "suites");
    }
};

bool is_step_of(const SseEvent& e, std::int64_t run) {
    return e.type == "step" && json::parse(e.data)["run"] == run;
}

}  // namespace

TEST_CASE("events: a client that drops mid-run and resumes with Last-Event-ID misses nothing and gets no duplicate") {
    Bench b;
    auto& d = b.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());

    std::vector<SseEvent> all;
    std::int64_t run = 0;
    {
        SseClient first(d.port(), "/v1/events");
        // The head comes at once, before any event.
        all = first.read_until([](const SseEvent&) { return false; }, 300ms);
        REQUIRE_MESSAGE(first.head().rfind("HTTP/1.1 200", 0) == 0, first.head());
        CHECK(first.head().find("Content-Type: text/event-stream") != std::string::npos);
        run = d.start_run("p1", "event-soak");
        REQUIRE_MESSAGE(run > 0, d.log());
        int steps = 0;
        auto got = first.read_until([&](const SseEvent& e) { return is_step_of(e, run) && ++steps == 10; }, 20s);
        REQUIRE_MESSAGE(steps == 10, d.log());
        all.insert(all.end(), got.begin(), got.end());
    }  // dropped mid-run

    // Steps go on being committed while nobody listens.
    const auto last_seen = *all.back().id;
    std::this_thread::sleep_for(400ms);
    {
        SseClient second(d.port(), "/v1/events", "Last-Event-ID: " + std::to_string(last_seen) + "\r\n");
        int steps = 0;
        auto got = second.read_until([&](const SseEvent& e) { return is_step_of(e, run) && ++steps == 20; }, 20s);
        REQUIRE_MESSAGE(steps == 20, d.log());
        REQUIRE(!got.empty());
        CHECK(got.front().id == last_seen + 1);
        all.insert(all.end(), got.begin(), got.end());
    }
    std::this_thread::sleep_for(300ms);
    {
        // A client that cannot set headers resumes with the query parameter.
        SseClient third(d.port(), "/v1/events?last_event_id=" + std::to_string(*all.back().id));
        auto got = third.read_until(
            [&](const SseEvent& e) { return e.type == "run.ended" && json::parse(e.data)["run"] == run; }, 60s);
        REQUIRE_MESSAGE(!got.empty(), d.log());
        REQUIRE_MESSAGE(got.back().type == "run.ended", d.log());
        all.insert(all.end(), got.begin(), got.end());
    }

    // The union: consecutive ids, none missed, none twice, no gap announced.
    std::vector<std::int64_t> ids;
    for (const auto& e : all) {
        CHECK(e.type != "gap");
        REQUIRE(e.id.has_value());
        ids.push_back(*e.id);
    }
    for (std::size_t i = 1; i < ids.size(); ++i) {
        CAPTURE(i);
        REQUIRE(ids[i] == ids[0] + static_cast<std::int64_t>(i));
    }

    // Every step of the run, in order, compact (no transcript).
    const auto detail = d.wait_for_run(run, 10s);
    const auto step_count = detail["step_count"].get<std::int64_t>();
    CHECK(step_count == 80);
    std::vector<std::int64_t> seqs;
    bool queued = false, started = false;
    for (const auto& e : all) {
        const auto data = json::parse(e.data);
        if (e.type == "run.queued" && data["run"] == run) queued = true;
        if (e.type == "run.started" && data["run"] == run) started = true;
        if (e.type != "step" || data["run"] != run) continue;
        seqs.push_back(data["seq"].get<std::int64_t>());
        CHECK(data["scenario"] == "EV-1");
        CHECK(data["outcome"] == "pass");
        CHECK_FALSE(data.contains("transcript"));
    }
    CHECK(queued);
    CHECK(started);
    REQUIRE(static_cast<std::int64_t>(seqs.size()) == step_count);
    for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == static_cast<std::int64_t>(i + 1));

    const auto& ended = all.back();
    const auto end = json::parse(ended.data);
    CHECK(end["status"] == "completed");
    CHECK(end["outcome"] == "pass");
    bool scenario_ended = false, device_busy = false;
    for (const auto& e : all) {
        const auto data = json::parse(e.data);
        if (e.type == "scenario.ended" && data["scenario"] == "EV-1") {
            scenario_ended = true;
            CHECK(data["iterations"] == 40);
            CHECK(data["iterations_planned"] == 40);
            CHECK(data["pass_rate"] == 1.0);
        }
        if (e.type == "device.state" && data["device"] == "p1" && data["state"] == "busy") device_busy = true;
    }
    CHECK(scenario_ended);
    CHECK(device_busy);
}

TEST_CASE("events: an id older than the ring is answered with a gap, then what the ring holds") {
    Bench b;
    auto& d = b.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());
    // Bringing p1 up published device.state events: the ring is not empty.
    SseClient client(d.port(), "/v1/events", "Last-Event-ID: 1\r\n");
    auto got = client.read_until([](const SseEvent& e) { return e.type == "device.state"; }, 5s);
    REQUIRE(got.size() >= 2);
    CHECK(got[0].type == "gap");
    CHECK_FALSE(got[0].id.has_value());
    const auto gap = json::parse(got[0].data);
    CHECK(gap["last_event_id"] == 1);
    CHECK(got[1].id == gap["first_id"].get<std::int64_t>());
}

TEST_CASE("events: filters and a bad Last-Event-ID") {
    Bench b;
    auto& d = b.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());
    auto bad = http_get(d.port(), "/v1/events?last_event_id=abc");
    CHECK(bad.status == 400);
    CHECK(bad.content_type == "application/problem+json");
    CHECK(http_get(d.port(), "/v1/events?run=x").status == 400);

    // ?device= of a device that does nothing: no events, only the stream's head.
    SseClient none(d.port(), "/v1/events?device=nobody&last_event_id=0");
    auto got = none.read_until([](const SseEvent& e) { return e.type != "gap"; }, 500ms);
    for (const auto& e : got) CHECK(e.type == "gap");
    SseClient p1(d.port(), "/v1/events?device=p1&last_event_id=0");
    got = p1.read_until([](const SseEvent& e) { return e.type == "device.state"; }, 5s);
    REQUIRE(!got.empty());
    CHECK(got.back().type == "device.state");
    CHECK(json::parse(got.back().data)["device"] == "p1");
}

TEST_CASE("events: an open stream does not hold the daemon up at shutdown") {
    Bench b;
    auto& d = b.daemon;
    REQUIRE_MESSAGE(d.wait_for_state({"p1"}, "ready"), d.log());
    SseClient client(d.port(), "/v1/events");
    client.read_until([](const SseEvent&) { return false; }, 300ms);
    REQUIRE_MESSAGE(client.head().rfind("HTTP/1.1 200", 0) == 0, client.head());
    const auto asked = Clock::now();
    d.process().signal(SIGTERM);
    // The stream ends (the server closes it) and the daemon exits, well within the
    // 15 s heartbeat that would otherwise be the first thing to notice.
    client.read_until([](const SseEvent&) { return false; }, 10s);
    CHECK(client.closed());
    CHECK(Clock::now() - asked < 5s);
    const auto status = d.process().wait(10s);
    REQUIRE_MESSAGE(status.has_value(), d.log());
    CHECK(*status == 0);
}
