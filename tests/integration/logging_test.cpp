// Where certlabd logs: a rotating log.file when the configuration names one, the
// journal when systemd connected stderr to it, stderr otherwise.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <csignal>

#include "harness.hpp"

using namespace certlab::test;

namespace {

std::uintmax_t size_of(const std::filesystem::path& p) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : n;
}

}  // namespace

TEST_CASE("logging: with log.file certlabd logs to that file and rotates it") {
    TempDir dir;
    auto log_file = dir / "logs" / "certlabd.log";
    std::filesystem::create_directories(log_file.parent_path());
    // 1 KiB, two rotated files: a few reloads (two lines each) fill them.
    Daemon d(dir, station_yaml({}, dir / "store.db") + "log:\n  file: logs/certlabd.log\n  max_size: 1KiB\n  max_files: 2\n");
    REQUIRE(wait_until([&] { return read_file(log_file).find("certlabd ") != std::string::npos; }, 5s));
    CHECK(read_file(log_file).find(" ready") != std::string::npos);
    // Nothing of the log went to stderr.
    CHECK(d.log().find(" ready") == std::string::npos);

    auto rotated1 = dir / "logs" / "certlabd.1.log";
    auto rotated2 = dir / "logs" / "certlabd.2.log";
    for (int i = 0; i < 40 && !std::filesystem::exists(rotated2); ++i) {
        d.process().signal(SIGHUP);
        // One reload at a time: each logs its lines before the next signal.
        const auto before = size_of(log_file) + size_of(rotated1);
        wait_until([&] { return size_of(log_file) + size_of(rotated1) != before; }, 5s);
    }
    REQUIRE(std::filesystem::exists(rotated1));
    REQUIRE(std::filesystem::exists(rotated2));
    CHECK_FALSE(std::filesystem::exists(dir / "logs" / "certlabd.3.log"));  // max_files: 2
    for (const auto& f : {log_file, rotated1, rotated2}) {
        CAPTURE(f);
        CHECK(size_of(f) <= 1024);
    }
    // The newest rotated file holds reload lines (the start lines have rotated away).
    CHECK(read_file(rotated1).find("reloaded ") != std::string::npos);
    CHECK(d.process().running());
}

TEST_CASE("logging: an unwritable log.file is a configuration error at start") {
    TempDir dir;
    write_file(dir / "station.yaml",
               station_yaml({}, dir / "store.db") + "log:\n  file: " + (dir / "no-such-dir/x/certlabd.log").string() + "\n");
    // spdlog creates missing directories; a file where a directory must be is refused.
    write_file(dir / "no-such-dir", "a file, not a directory\n");
    auto r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string()}, 10s, dir / "err.log");
    CHECK(r.status == 2);
    CHECK(read_file(dir / "err.log").find("configuration error: log.file") != std::string::npos);
}

TEST_CASE("logging: stderr named by JOURNAL_STREAM means journald, a stale JOURNAL_STREAM does not") {
    TempDir dir;
    const auto yaml = station_yaml({}, dir / "store.db");
    {
        // JOURNAL_STREAM naming another file (inherited from a parent): stderr as usual.
        ::setenv("JOURNAL_STREAM", "1:1", 1);
        Daemon d(dir, yaml);
        ::unsetenv("JOURNAL_STREAM");
        CHECK(wait_until([&] { return d.log().find(" ready") != std::string::npos; }, 5s));
    }
    {
        // stderr is the stream JOURNAL_STREAM names: lines go to the journal, none to stderr.
        TempDir dir2;
        auto err = dir2 / "certlabd.log";
        write_file(err, "");
        struct stat st {};
        REQUIRE(::stat(err.c_str(), &st) == 0);
        const auto stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
        ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
        Daemon d(dir2, yaml);
        ::unsetenv("JOURNAL_STREAM");
        CHECK(http_get(d.port(), "/v1/health").status == 200);
        CHECK(d.log().find(" ready") == std::string::npos);
    }
}
