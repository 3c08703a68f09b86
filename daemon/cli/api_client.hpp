// JSON requests to the daemon's v1 API. An error status becomes a CliError whose
// message is the daemon's problem document in one line.
#pragma once

#include <string>
#include <string_view>

#include "cli/format.hpp"
#include "cli/http_client.hpp"

namespace certlab::cli {

class ApiClient {
public:
    explicit ApiClient(HttpClient http) : http_(std::move(http)) {}

    /// The decoded 2xx answer. Throws ConnectionError when the daemon is out of
    /// reach and CliError(exit_usage) for an error status or a non-JSON answer.
    [[nodiscard]] Json get(std::string_view path) const;
    [[nodiscard]] Json post(std::string_view path, const Json& body) const;

private:
    [[nodiscard]] Json decode(const HttpResponse& res, std::string_view what) const;

    HttpClient http_;
};

/// Percent-encodes a query value or path segment.
[[nodiscard]] std::string url_encode(std::string_view s);

}  // namespace certlab::cli
