// A bad configuration stops certlabd at start with file:line:column and what was expected.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;

namespace {

RunResult check_config(const TempDir& dir, const std::string& yaml) {
    write_file(dir / "station.yaml", yaml);
    return run({bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0"}, 20s,
               dir / "stderr.txt");
}

}  // namespace

TEST_CASE("config: a bad baud rate names file, line, column and what was expected") {
    TempDir dir;
    auto yaml = station_yaml({{"p", "serial:/dev/null", "    serial: { baud: fast }\n"}}, dir / "s.db");
    auto r = check_config(dir, yaml);
    auto err = read_file(dir / "stderr.txt");
    INFO(err);
    CHECK(r.status == 2);
    // `fast` sits at line 18, column 21 of the generated file.
    CHECK(err.find((dir / "station.yaml").string() + ":18:21:") != std::string::npos);
    CHECK(err.find("baud") != std::string::npos);
    CHECK(err.find("expected") != std::string::npos);
    CHECK(err.find("fast") != std::string::npos);
}

TEST_CASE("config: a suite step naming an unknown action fails with its location") {
    TempDir dir;
    std::filesystem::create_directory(dir / "suites");
    write_file(dir / "suites" / "bad.yaml",
               "suite: bad\ntitle: Bad\nrequires: [printer]\nscenarios:\n"
               "  - id: B-1\n    title: t\n    steps:\n      - call: printer.explode\n");
    auto r = check_config(dir, station_yaml({}, dir / "s.db", dir / "suites"));
    auto err = read_file(dir / "stderr.txt");
    INFO(err);
    CHECK(r.status == 2);
    CHECK(err.find((dir / "suites" / "bad.yaml").string() + ":8:15:") != std::string::npos);
    CHECK(err.find("unknown action 'printer.explode'") != std::string::npos);
    CHECK(err.find("printer.status") != std::string::npos);  // lists what is valid
}

TEST_CASE("config: unknown keys, unknown profiles and bad durations are rejected") {
    TempDir dir;
    SUBCASE("unknown key") {
        auto r = check_config(dir, "station:\n  id: x\n  colour: blue\n");
        auto err = read_file(dir / "stderr.txt");
        CHECK(r.status == 2);
        CHECK(err.find(":3:3: unknown key 'colour'") != std::string::npos);
    }
    SUBCASE("unknown profile") {
        auto yaml = station_yaml({{"p", "tcp:127.0.0.1:9", ""}}, dir / "s.db");
        auto pos = yaml.find("escpos-generic");
        yaml.replace(pos, 14, "no-such-thing");
        auto r = check_config(dir, yaml);
        auto err = read_file(dir / "stderr.txt");
        CHECK(r.status == 2);
        CHECK(err.find("no profile is named 'no-such-thing'") != std::string::npos);
    }
    SUBCASE("bad duration in a driver setting") {
        auto yaml = station_yaml({{"p", "tcp:127.0.0.1:9", "    settings: { response_timeout: soon }\n"}}, dir / "s.db");
        auto r = check_config(dir, yaml);
        auto err = read_file(dir / "stderr.txt");
        INFO(err);
        CHECK(r.status == 2);
        CHECK(err.find("response_timeout") != std::string::npos);
        CHECK(err.find(":18:") != std::string::npos);
    }
    SUBCASE("YAML syntax error") {
        auto r = check_config(dir, "station: [unclosed\n");
        auto err = read_file(dir / "stderr.txt");
        CHECK(r.status == 2);
        CHECK(err.find("station.yaml:") != std::string::npos);
        CHECK(err.find("YAML syntax error") != std::string::npos);
    }
}
