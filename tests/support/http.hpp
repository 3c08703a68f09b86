// A minimal HTTP/1.1 client over loopback for tests: one request per connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certlab::test {

struct HttpResponse {
    int status = 0;           ///< 0 when the connection failed
    std::string content_type;
    std::string body;
};

HttpResponse http(const std::string& method, std::uint16_t port, const std::string& target,
                  const std::string& body = {}, int timeout_ms = 5000);
inline HttpResponse http_get(std::uint16_t port, const std::string& target) { return http("GET", port, target); }

/// Request headers for http_request(), in order.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpFullResponse : HttpResponse {
    HttpHeaders headers;  ///< as received (names as the server spelled them)
    /// The first header named `name` (case-insensitive), or nullopt.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// Like http(), with request headers (a Content-Type among them replaces the JSON
/// default) and the response's headers. The body ends at its Content-Length when the
/// response has one, so servers that keep the connection open (chromedriver) answer
/// at once instead of at the timeout.
HttpFullResponse http_request(const std::string& method, std::uint16_t port, const std::string& target,
                              const std::string& body = {}, const HttpHeaders& headers = {}, int timeout_ms = 5000);

}  // namespace certlab::test
