// Replays a capture through the real driver and says what came out, as the JSON a
// golden file holds (docs/CAPTURES.md, "Golden tests").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transport/capture.hpp"

namespace certlab::test {

/// Builds the capture's driver from its profile (found by id in `profile_dirs`, with
/// the header's setting overrides), then runs, over a ReplayTransport, what the
/// capture's markers say happened: open, identify, each action with its recorded
/// arguments, close. Returns {"capture", "profile", "excluded", "steps": [...]}; each
/// step has its `op`, outcome `ok` or `error` (kind, message), the identity or the
/// values, and `unreplayed` when the driver stopped short of the recording. Values
/// with a time unit are replaced by {"unit", "timing": "not compared"}.
/// Throws when the profile or driver cannot be had.
[[nodiscard]] nlohmann::json replay_capture(const transport::Capture& capture, const std::string& name,
                                            const std::vector<std::filesystem::path>& profile_dirs);

/// The same shape from the capture's own `@ result` / `@ error` / `@ identified`
/// markers: what the real device session produced.
[[nodiscard]] nlohmann::json recorded_outcomes(const transport::Capture& capture, const std::string& name);

/// Every difference between two golden documents, one line each, naming the step
/// (`step 7 printer.status: values.online: expected true, got false`); empty when equal.
[[nodiscard]] std::vector<std::string> golden_diff(const nlohmann::json& expected, const nlohmann::json& actual);

/// True for units of time (ns, us, µs, ms, s, min, h): values replay cannot reproduce.
[[nodiscard]] bool is_timing_unit(const std::string& unit);

}  // namespace certlab::test
