// station.yaml `log:`: level, and the rotating log file used outside systemd.
#include <doctest/doctest.h>

#include "config/station_config.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;

namespace {

/// The error loading a station.yaml made of `log_block` gives ("" when it loads).
std::string log_error(const test::TempDir& dir, const std::string& log_block) {
    test::write_file(dir / "station.yaml", "station:\n  id: bench-9\n" + log_block);
    try {
        (void)config::load_station_config(dir / "station.yaml");
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("log config: file, max_size and max_files are read, the file relative to station.yaml") {
    test::TempDir dir;
    test::write_file(dir / "station.yaml",
                     "log:\n  level: debug\n  file: logs/certlabd.log\n  max_size: 2MiB\n  max_files: 3\n");
    auto cfg = config::load_station_config(dir / "station.yaml");
    CHECK(cfg.log_level == "debug");
    CHECK(cfg.log_file == std::filesystem::absolute(dir / "logs/certlabd.log"));
    CHECK(cfg.log_max_size == 2u * 1024 * 1024);
    CHECK(cfg.log_max_files == 3);
}

TEST_CASE("log config: without log.file there is no log file, and the rotation defaults hold") {
    test::TempDir dir;
    test::write_file(dir / "station.yaml", "log:\n  level: warn\n");
    auto cfg = config::load_station_config(dir / "station.yaml");
    CHECK(cfg.log_file.empty());
    CHECK(cfg.log_max_size == 10u * 1024 * 1024);
    CHECK(cfg.log_max_files == 5);
}

TEST_CASE("log config: sizes in bytes, KiB, MiB, GiB, kB and MB") {
    test::TempDir dir;
    const std::pair<const char*, std::uint64_t> cases[] = {
        {"4096", 4096}, {"512KiB", 512 * 1024}, {"10MiB", 10u << 20}, {"1GiB", 1u << 30},
        {"64kB", 64000}, {"3MB", 3000000}, {"2048 B", 2048}};
    for (const auto& [text, bytes] : cases) {
        CAPTURE(text);
        test::write_file(dir / "station.yaml", std::string("log:\n  file: x.log\n  max_size: ") + text + "\n");
        CHECK(config::load_station_config(dir / "station.yaml").log_max_size == bytes);
    }
}

TEST_CASE("log config: bad values are refused with file:line:column") {
    test::TempDir dir;
    const auto file = (dir / "station.yaml").string();
    auto e = log_error(dir, "log:\n  file: x.log\n  max_size: 10 parsecs\n");
    CHECK(e.find(file + ":5:13: max_size: expected a size") != std::string::npos);
    e = log_error(dir, "log:\n  file: x.log\n  max_size: 100\n");
    CHECK(e.find(file + ":5:13: max_size: expected a size of at least 1KiB") != std::string::npos);
    e = log_error(dir, "log:\n  file: x.log\n  max_files: 0\n");
    CHECK(e.find(file + ":5:") != std::string::npos);
    CHECK(e.find("max_files") != std::string::npos);
    e = log_error(dir, "log:\n  max_size: 1MiB\n");
    CHECK(e.find(file + ":4:3: log: max_size and max_files need 'file'") != std::string::npos);
    e = log_error(dir, "log:\n  file: [a, b]\n");
    CHECK(e.find(file + ":4:") != std::string::npos);
    e = log_error(dir, "log:\n  rotate: daily\n");
    CHECK(e.find(file + ":4:3: ") != std::string::npos);
    CHECK(e.find("unknown key 'rotate'") != std::string::npos);
}
