// `certlab watch` and `certlab fleet status` against real daemons.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

const char* soak_suite = R"(suite: watch-soak
title: Something to watch
requires: [printer]
scenarios:
  - id: W-1
    title: Online
    steps:
      - call: printer.status
        expect: { online: true }
  - id: W-2
    title: Short soak
    iterations: 60
    interval: 40ms
    steps:
      - call: printer.status
        expect: { online: true }
)";

const char* failing_suite = R"(suite: watch-fail
title: Expects the impossible
requires: [printer]
scenarios:
  - id: F-1
    title: Offline, it says
    steps:
      - call: printer.status
        expect: { online: false }
)";

}  // namespace

TEST_CASE("watch: plain lines follow a run's scenarios and soak iterations to its end and exit code") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "soak.yaml", soak_suite);
    write_file(dir / "suites" / "fail.yaml", failing_suite);
    auto sim = start_printer(Link::tcp);
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db", dir / "suites"));
    REQUIRE(d.wait_for_state({"p"}, "ready"));

    const auto id = d.start_run("p", "watch-soak");
    REQUIRE(id > 0);
    auto w = certlab_cli(dir, {"--station", d.station_url(), "watch", "--run", std::to_string(id)});
    INFO(w.out);
    INFO(w.err);
    CHECK(w.status == 0);
    // The first scenario's end, soak progress with its count, and the run's end.
    CHECK(w.out.find(" p  run " + std::to_string(id) + " W-1 pass") != std::string::npos);
    std::set<int> iterations;
    std::regex iteration_re("iteration (\\d+)/60");
    for (std::sregex_iterator it(w.out.begin(), w.out.end(), iteration_re), end; it != end; ++it)
        iterations.insert(std::stoi((*it)[1]));
    CHECK(iterations.size() >= 3);
    CHECK(*iterations.rbegin() <= 60);
    CHECK(w.out.find("ETA ") != std::string::npos);
    CHECK(w.out.find("run " + std::to_string(id) + " watch-soak  100%  pass") != std::string::npos);
    // Not a terminal: no escape sequences.
    CHECK(w.out.find('\x1b') == std::string::npos);

    // A run that fails ends the watch with the run's exit code.
    const auto bad = d.start_run("p", "watch-fail");
    REQUIRE(bad > 0);
    w = certlab_cli(dir, {"--station", d.station_url(), "watch", "--run", std::to_string(bad)});
    CHECK(w.status == 1);
    CHECK(w.out.find("F-1 fail") != std::string::npos);

    // --until-idle on an idle station returns at once.
    w = certlab_cli(dir, {"--station", d.station_url(), "watch", "--until-idle"});
    CHECK(w.status == 0);
    CHECK(w.out.find("p  ready") != std::string::npos);
}

TEST_CASE("fleet: status of every station in the stations file, an unreachable one reported, names usable") {
    TempDir dir;
    auto sim = start_printer(Link::tcp);
    Daemon d(dir, station_yaml({{"p", sim.address, ""}}, dir / "store.db"));
    REQUIRE(d.wait_for_state({"p"}, "ready"));
    // Port 1 on loopback: nobody listens there.
    write_file(dir / "stations", "# the lab\nbench-1  " + d.station_url() + "\nbench-2 http://127.0.0.1:1  # away\n");
    const auto stations = (dir / "stations").string();

    auto f = certlab_cli(dir, {"--stations", stations, "--timeout", "3", "fleet", "status"});
    CHECK(f.status == 3);
    CHECK_MESSAGE(f.out.find("bench-1") != std::string::npos, f.out);
    CHECK(f.out.find("1 ready") != std::string::npos);
    CHECK(f.out.find("unreachable") != std::string::npos);
    CHECK(f.err.find("bench-2: cannot reach certlabd at http://127.0.0.1:1") != std::string::npos);

    f = certlab_cli(dir, {"--stations", stations, "--timeout", "3", "fleet", "status", "--json"});
    auto doc = json::parse(f.out);
    REQUIRE(doc.size() == 2);
    CHECK(doc[0]["station"] == "bench-1");
    CHECK(doc[0]["reachable"] == true);
    CHECK(doc[0]["devices"][0]["id"] == "p");
    CHECK(doc[1]["reachable"] == false);

    // A station's name stands for its URL.
    f = certlab_cli(dir, {"--stations", stations, "--station", "bench-1", "status", "--json"});
    CHECK(f.status == 0);
    CHECK(json::parse(f.out)["devices"]["devices"][0]["id"] == "p");

    write_file(dir / "stations", "bench-1 " + d.station_url() + " tokenfile=x\n");
    f = certlab_cli(dir, {"--stations", stations, "fleet", "status"});
    CHECK(f.status == 3);
    CHECK(f.err.find(stations + ":1:") != std::string::npos);
    CHECK(f.err.find("expected ca=FILE or token-file=FILE, found 'tokenfile=x'") != std::string::npos);
}
