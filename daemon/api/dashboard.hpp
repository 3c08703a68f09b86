// The dashboard (docs/API.md, "Dashboard"): a page for the bench and for people
// elsewhere, served by certlabd from files built into its binary (api/dashboard/,
// embedded by cmake/embed.cmake). The page itself talks only to the v1 API, like any
// other client; these routes are static and public, the API behind them is not.
#pragma once

#include <span>
#include <string_view>

#include "api/router.hpp"

namespace certlab::api {

/// Adds `GET /` (the page) and `GET /dashboard/{asset}` to `r`.
void add_dashboard_routes(Router& r);

namespace dashboard {

struct EmbeddedAsset {
    std::string_view name;   ///< file name in api/dashboard/, e.g. "app.js"
    std::string_view bytes;  ///< the file's content
    std::string_view etag;   ///< quoted, from the content's SHA-256
};

/// Every embedded file, sorted by name (defined in the generated dashboard_assets.cpp).
[[nodiscard]] std::span<const EmbeddedAsset> embedded_assets();

/// The asset named `name`, or nullptr.
[[nodiscard]] const EmbeddedAsset* find_asset(std::string_view name);

/// The Content-Type for a file name, from its extension (text types in UTF-8).
[[nodiscard]] std::string_view content_type(std::string_view name);

/// Whether an If-None-Match header value (a list of entity tags, weak ones allowed,
/// or `*`) names `etag`.
[[nodiscard]] bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// The answer to a request for asset `name`: 200 with the content, or 304 without it
/// when `if_none_match` names its ETag; both with the page's security headers. Throws
/// HttpError(404) for an unknown name.
[[nodiscard]] Response asset_response(std::string_view name, std::string_view if_none_match = {});

}  // namespace dashboard

}  // namespace certlab::api
