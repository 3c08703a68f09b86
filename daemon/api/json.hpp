// JSON shapes of the API's resources (documented in docs/API.md). Fields are
// append-only: a field once published keeps its name, type and meaning.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "api/station_view.hpp"
#include "record/model.hpp"

namespace certlab::api {

/// Serialises for the wire. Invalid UTF-8 (bytes a device sent, say) is replaced
/// rather than thrown on, so a strange reason string cannot fail a response.
[[nodiscard]] std::string dump(const nlohmann::ordered_json& doc);

[[nodiscard]] nlohmann::ordered_json health_json(const HealthInfo& health, record::TimePoint now);
[[nodiscard]] nlohmann::ordered_json device_json(const DeviceInfo& device);
[[nodiscard]] nlohmann::ordered_json suite_json(const SuiteInfo& suite);
/// `now` gives a running run's duration so far.
[[nodiscard]] nlohmann::ordered_json run_json(const record::Run& run, record::TimePoint now);
[[nodiscard]] nlohmann::ordered_json scenario_json(const record::ScenarioResult& scenario);
[[nodiscard]] nlohmann::ordered_json step_json(const record::StepResult& step);
/// A soak's running statistics; numbers that are not finite are null. The same shape
/// as the certification record's SoakStats (docs/record-api.openapi.yaml).
[[nodiscard]] nlohmann::ordered_json soak_stats_json(const record::SoakStats& stats);
/// GET /v1/upload: the uploader's state; `{"configured": false}` for none.
[[nodiscard]] nlohmann::ordered_json upload_json(const std::optional<upload::UploadStatus>& status,
                                                 record::TimePoint now);
[[nodiscard]] nlohmann::ordered_json value_json(const sdk::Value& value);
/// A measurement with its limits; a value that is not finite serialises as null.
[[nodiscard]] nlohmann::ordered_json measurement_json(const record::Measurement& m);
[[nodiscard]] nlohmann::ordered_json transcript_json(const sdk::Transcript& transcript);

/// Lower-case hex without separators: "\x10\x04" -> "1004".
[[nodiscard]] std::string to_hex(std::string_view bytes);

}  // namespace certlab::api
