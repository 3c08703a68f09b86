// A minimal HTTP/1.1 client over loopback for tests: one request per connection.
#pragma once

#include <cstdint>
#include <string>

namespace certlab::test {

struct HttpResponse {
    int status = 0;           ///< 0 when the connection failed
    std::string content_type;
    std::string body;
};

HttpResponse http(const std::string& method, std::uint16_t port, const std::string& target,
                  const std::string& body = {}, int timeout_ms = 5000);
inline HttpResponse http_get(std::uint16_t port, const std::string& target) { return http("GET", port, target); }

}  // namespace certlab::test
