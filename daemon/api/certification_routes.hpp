// The /v1/certifications endpoints (docs/API.md, "Certifications"): intake, the
// plan with per-scenario status, sign-off, issues, merchants and phases.
#pragma once

#include "api/router.hpp"
#include "api/station_view.hpp"

namespace certlab::api {

/// Adds the certification routes to `r`. Without a desk (station.certification_desk()
/// is null) they answer 503.
void add_certification_routes(Router& r, StationView& station);

}  // namespace certlab::api
