// An HTTPS client for tests (Beast + asio::ssl): one request per connection to a
// loopback port, the server verified against a given CA and host name, every step
// bounded by a timeout. It tells a refused connection, a reset, a timeout and a TLS
// failure apart, which is what fault-injection tests check.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certlab::test {

enum class HttpsFailure {
    none,     ///< answered
    refused,  ///< nothing listens on the port
    reset,    ///< the connection was reset (RST)
    timeout,  ///< no answer within the timeout
    tls,      ///< the TLS handshake failed (untrusted or expired certificate, ...)
    closed,   ///< the server closed the connection without an answer
    other,
};

struct HttpsResponse {
    int status = 0;  ///< 0 when there is no answer (see failure)
    HttpsFailure failure = HttpsFailure::none;
    std::string error;  ///< the failure's text
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// The first header of that name (case-insensitive); empty when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpsClient {
public:
    struct Options {
        std::filesystem::path ca;          ///< the only CA trusted
        std::string host = "localhost";    ///< SNI and the name the certificate must carry
        std::chrono::milliseconds timeout{5000};  ///< for each of connect, handshake, write, read
    };
    HttpsClient(std::uint16_t port, Options options) : port_(port), options_(std::move(options)) {}

    /// Sends one request on a new connection (Connection: close). A body gets
    /// Content-Type: application/json unless `headers` name another.
    [[nodiscard]] HttpsResponse request(const std::string& method, const std::string& target,
                                        const std::string& body = {}, const Headers& headers = {}) const;

private:
    std::uint16_t port_;
    Options options_;
};

}  // namespace certlab::test
