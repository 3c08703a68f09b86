// The v1 endpoints as a table over the station facade. docs/API.md documents each.
#pragma once

#include "api/router.hpp"
#include "api/station_view.hpp"

namespace certlab::api {

/// Builds the v1 route table. Handlers call `station` on the caller's thread, so
/// dispatch only on the station's executor.
[[nodiscard]] Router make_routes(StationView& station);

}  // namespace certlab::api
