// station.yaml `api:`: access control, TLS, limits, and the refusal of an open bind.
#include <doctest/doctest.h>

#include <cstdlib>

#include "config/station_config.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;

namespace {

std::string station(const std::string& api) {
    return "profiles: " + test::source("lab-config/devices").string() + "\napi:\n" + api;
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

/// Sets an environment variable for one test and puts the old value back.
struct ScopedEnv {
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("api config: tokens, TLS and limits are read; paths are relative to station.yaml") {
    test::TempDir dir;
    test::write_file(dir / "station.yaml", station("  bind: 127.0.0.1\n  tokens: secrets/api-tokens\n"
                                                   "  tls: { cert: tls/api.crt, key: /etc/certlab/api.key }\n"
                                                   "  limits: { max_body: 128KiB, max_header: 4096, idle_timeout: 5s,"
                                                   " request_timeout: 3s, max_connections: 10 }\n"));
    auto cfg = config::load_station_config(dir / "station.yaml");
    CHECK(cfg.api.tokens_file == dir / "secrets/api-tokens");
    CHECK(cfg.api.tls_cert == dir / "tls/api.crt");
    CHECK(cfg.api.tls_key == "/etc/certlab/api.key");
    CHECK(cfg.api.tls());
    CHECK(cfg.api.max_body == 128 * 1024);
    CHECK(cfg.api.max_header == 4096);
    CHECK(cfg.api.idle_timeout == std::chrono::seconds(5));
    CHECK(cfg.api.request_timeout == std::chrono::seconds(3));
    CHECK(cfg.api.max_connections == 10);
    CHECK(cfg.api.insecure_warning.empty());
}

TEST_CASE("api config: systemd's credential is the default tokens file") {
    test::TempDir dir, creds;
    test::write_file(dir / "station.yaml", station("  port: 8470\n"));
    {
        ScopedEnv env("CREDENTIALS_DIRECTORY", creds.path().string());
        CHECK(config::load_station_config(dir / "station.yaml").api.tokens_file.empty());
        test::write_file(creds / "api-tokens", "x");
        CHECK(config::load_station_config(dir / "station.yaml").api.tokens_file == creds / "api-tokens");
    }
    // An explicit api.tokens wins over the credential.
    test::write_file(dir / "station.yaml", station("  tokens: /etc/certlab/tokens\n"));
    ScopedEnv env("CREDENTIALS_DIRECTORY", creds.path().string());
    CHECK(config::load_station_config(dir / "station.yaml").api.tokens_file == "/etc/certlab/tokens");
}

TEST_CASE("api config: a non-loopback bind needs TLS and tokens, or an explicit allow_insecure") {
    test::TempDir dir;
    const auto file = (dir / "station.yaml").string();
    auto e = load_error(dir, station("  bind: 0.0.0.0\n"));
    CHECK(e == file + ":3:9: api.bind 0.0.0.0 is reachable from other machines, but the API has no TLS (api.tls) and "
                      "tokens (api.tokens); add them, bind 127.0.0.1, or set api.allow_insecure: true to serve it anyway");
    e = load_error(dir, station("  bind: \"::\"\n  tokens: t\n"));
    CHECK(e.find("api.bind :: is reachable from other machines, but the API has no TLS (api.tls);") != std::string::npos);
    e = load_error(dir, station("  bind: 192.168.7.2\n  tls: { cert: c, key: k }\n"));
    CHECK(e.find("has no tokens (api.tokens);") != std::string::npos);
    CHECK(load_error(dir, station("  bind: 192.168.7.2\n  tls: { cert: c, key: k }\n  tokens: t\n")) == "");
    CHECK(load_error(dir, station("  bind: 127.0.0.2\n")) == "");
    CHECK(load_error(dir, station("  bind: \"::1\"\n")) == "");

    test::write_file(dir / "station.yaml", station("  bind: 0.0.0.0\n  allow_insecure: true\n"));
    auto cfg = config::load_station_config(dir / "station.yaml");
    CHECK(cfg.api.insecure_warning.find("serving it anyway because api.allow_insecure is true") != std::string::npos);
}

TEST_CASE("api config: bad values name file:line:column") {
    test::TempDir dir;
    const auto file = (dir / "station.yaml").string();
    CHECK(load_error(dir, station("  token: x\n")).find(file + ":3:3: unknown key 'token'") == 0);
    CHECK(load_error(dir, station("  limits: { max_body: 64kb }\n")) ==
          file + ":3:23: max_body: expected a size in bytes such as 65536, 64KiB or 1MiB, got '64kb'");
    CHECK(load_error(dir, station("  limits: { max_body: 10 }\n")) ==
          file + ":3:23: max_body: expected a size from 1024 to 67108864 bytes");
    CHECK(load_error(dir, station("  limits: { idle_timeout: 10ms }\n")) ==
          file + ":3:27: idle_timeout: expected at least 1s");
    CHECK(load_error(dir, station("  tls: { cert: c }\n")).find(file + ":3:8: ") == 0);
}
