// The /v1/prompts endpoints (docs/API.md, "Prompts"): the technician's questions that
// runs are waiting on, their answers, and the photos and files that came with them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "api/station_view.hpp"

namespace certlab::api {

/// Adds the prompt routes to `r`.
void add_prompt_routes(Router& r, StationView& station);

/// Strict RFC 4648 base64 (padding required, no line breaks); nullopt when malformed.
[[nodiscard]] std::optional<std::string> decode_base64(std::string_view text);

}  // namespace certlab::api
