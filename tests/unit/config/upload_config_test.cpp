// station.yaml `upload:`: the record's URL, CA, token and retry timing.
#include <doctest/doctest.h>

#include "config/station_config.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;

namespace {

std::string station(const std::string& upload) {
    return "profiles: " + test::source("lab-config/devices").string() + "\nupload:\n" + upload;
}

std::string load_error(const test::TempDir& dir, const std::string& yaml) {
    test::write_file(dir / "station.yaml", yaml);
    try {
        (void)config::load_station_config(dir / "station.yaml");
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("upload config: url, CA and token file are read, relative paths against the station file") {
    test::TempDir dir;
    test::write_file(dir / "station.yaml", station("  url: https://record.example.net:8443/certlab/\n"
                                                   "  ca: pki/record-ca.pem\n"
                                                   "  token_file: /etc/certlab/record-token\n"
                                                   "  timeout: 2s\n"
                                                   "  backoff: { initial: 100ms, max: 30s }\n"));
    auto cfg = config::load_station_config(dir / "station.yaml");
    const auto& u = cfg.upload;
    CHECK(u.enabled);
    CHECK(u.host == "record.example.net");
    CHECK(u.port == 8443);
    CHECK(u.base == "/certlab");
    CHECK(u.ca_file == dir / "pki/record-ca.pem");
    CHECK(u.token_file == "/etc/certlab/record-token");
    CHECK(u.timeout == std::chrono::seconds(2));
    CHECK(u.backoff_initial == std::chrono::milliseconds(100));
    CHECK(u.backoff_max == std::chrono::seconds(30));
}

TEST_CASE("upload config: without upload: nothing is uploaded") {
    test::TempDir dir;
    test::write_file(dir / "station.yaml", "profiles: " + test::source("lab-config/devices").string() + "\n");
    CHECK_FALSE(config::load_station_config(dir / "station.yaml").upload.enabled);
}

TEST_CASE("upload config: mistakes name file:line:column and what was expected") {
    test::TempDir dir;
    const auto file = (dir / "station.yaml").string();
    CHECK(load_error(dir, station("  url: http://record.example.net\n  token_file: t\n")) ==
          file + ":3:8: url: expected https://host[:port][/path], got 'http://record.example.net'");
    CHECK(load_error(dir, station("  url: https://record.example.net:0\n  token_file: t\n")) ==
          file + ":3:8: url: expected a port from 1 to 65535, got 0");
    CHECK(load_error(dir, station("  url: https://record.example.net\n")).find(
              file + ":3:3: upload: expected token_file") == 0);
    CHECK(load_error(dir, station("  url: https://r\n  token_file: t\n  backoff: { initial: 2s, max: 1s }\n")) ==
          file + ":5:32: max: expected at least the initial backoff");
    CHECK(load_error(dir, station("  url: https://r\n  token_file: t\n  retry: 3\n")) ==
          file + ":5:3: unknown key 'retry' in upload (expected one of: url, ca, token_file, timeout, backoff)");
}
