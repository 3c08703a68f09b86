// certlab-record-server (fixtures/record-server) as a child process for tests: on
// ephemeral or given ports, with its faults switched through its admin port.
#pragma once

#include <doctest/doctest.h>

#include <csignal>
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "support/http.hpp"
#include "support/https_client.hpp"
#include "support/pki.hpp"
#include "support/process.hpp"

namespace certlab::test {

/// The token the record accepts (the tokens file also accepts "another-token").
inline constexpr const char* record_token = "record-test-token-7f3a";

/// A record server on ephemeral ports with its log in dir/record-server.log.
class RecordServer {
public:
    /// `port` 0: an ephemeral one; a restart passes the port it had, so a client's URL stays right.
    RecordServer(const TempDir& dir, const Pki& pki, bool expired = false, std::uint16_t port = 0) : pki_(pki) {
        write_file(dir / "tokens", std::string("# accepted tokens\n") + record_token + "\nanother-token\n");
        // Each start its own log, so a restarted server's does not overwrite the first's.
        static int starts = 0;
        log_ = dir / ("record-server-" + std::to_string(++starts) + ".log");
        process_ = Process::start({bin("certlab-record-server").string(), "--tls-cert",
                                   (expired ? pki.expired_server_cert : pki.server_cert).string(), "--tls-key",
                                   (expired ? pki.expired_server_key : pki.server_key).string(), "--db",
                                   (dir / "record.db").string(), "--token-file", (dir / "tokens").string(),
                                   "--listen", "127.0.0.1:" + std::to_string(port), "--admin-listen", "127.0.0.1:0", "--seed", "7"},
                                  log_);
        for (int i = 0; i < 2; ++i) {
            auto line = process_.read_line(10s);
            REQUIRE_MESSAGE(line, "no ready line; log:\n" << read_file(log_));
            if (line->rfind("admin on http://127.0.0.1:", 0) == 0) admin_port_ = static_cast<std::uint16_t>(std::stoi(line->substr(26)));
            if (line->rfind("listening on https://127.0.0.1:", 0) == 0) port_ = static_cast<std::uint16_t>(std::stoi(line->substr(31)));
        }
        REQUIRE(port_ != 0);
        REQUIRE(admin_port_ != 0);
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] HttpsClient client(std::chrono::milliseconds timeout = 5s) const {
        return HttpsClient(port_, {pki_.ca, "localhost", timeout});
    }
    /// A write with the test token and the given idempotency key.
    [[nodiscard]] HttpsResponse write(const std::string& method, const std::string& target, const nlohmann::json& doc,
                                      const std::string& key, std::chrono::milliseconds timeout = 5s) const {
        return client(timeout).request(method, target, doc.dump(),
                                       {{"Authorization", std::string("Bearer ") + record_token}, {"Idempotency-Key", key}});
    }
    [[nodiscard]] HttpsResponse get(const std::string& target) const {
        return client().request("GET", target, {}, {{"Authorization", std::string("Bearer ") + record_token}});
    }
    void fault(const nlohmann::json& doc) const {
        auto r = http("POST", admin_port_, "/faults", doc.dump());
        REQUIRE_MESSAGE(r.status == 200, r.body);
    }
    [[nodiscard]] nlohmann::json admin(const std::string& target) const {
        auto r = http_get(admin_port_, target);
        REQUIRE_MESSAGE(r.status == 200, r.body);
        return nlohmann::json::parse(r.body);
    }
    [[nodiscard]] std::int64_t items() const { return admin("/stats")["items_total"].get<std::int64_t>(); }
    [[nodiscard]] std::string log() const { return read_file(log_); }
    /// SIGKILL: no chance to finish anything in flight.
    void kill() {
        process_.signal(SIGKILL);
        REQUIRE(process_.wait(10s));
    }

private:
    Pki pki_;
    std::filesystem::path log_;
    Process process_;
    std::uint16_t port_ = 0;
    std::uint16_t admin_port_ = 0;
};


}  // namespace certlab::test
