// The narrow view of the station the API reads and acts through. The API never
// touches a driver; the station implements this. All calls happen on the station's
// executor thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "record/model.hpp"

namespace certlab::record {
class Store;
}

namespace certlab::api {

struct DeviceInfo {
    std::string id;
    std::string profile;
    std::string driver;
    std::string address;
    std::string state;         ///< present, identified, ready, busy, lost, quarantined
    std::string state_reason;  ///< why it is in that state (last error), may be empty
    record::TimePoint state_since{};
    std::optional<std::int64_t> current_run;
    std::map<std::string, std::string> identity;    ///< manufacturer, model, firmware, ...
    std::vector<std::string> capabilities;
};

struct SuiteInfo {
    std::string id;
    std::string title;
    std::string file;
    std::vector<std::string> requires_capabilities;
    std::vector<std::string> scenarios;  ///< scenario ids in order
};

struct HealthInfo {
    std::string status;      ///< "ok", or "stopping"
    std::string station_id;
    std::string version;
    std::chrono::seconds uptime{};
};

/// Result of asking for a run: either the run id or an HTTP status and message.
struct StartRunResult {
    std::optional<std::int64_t> run_id;
    int http_status = 202;
    std::string error;
};

/// Result of an action on the station: 200, or an HTTP status and message.
struct ActionResult {
    int http_status = 200;
    std::string error;
};

class StationView {
public:
    virtual ~StationView() = default;
    [[nodiscard]] virtual HealthInfo health() const = 0;
    [[nodiscard]] virtual std::vector<DeviceInfo> devices() const = 0;
    [[nodiscard]] virtual std::vector<SuiteInfo> suites() const = 0;
    /// Queues `suite` on `device`: 404 unknown device or suite, 409 device busy or
    /// not ready, 422 device lacks a capability the suite requires, 503 stopping.
    virtual StartRunResult start_run(const std::string& device_id, const std::string& suite_id) = 0;
    /// Releases a quarantined device so it is brought up again: 404 unknown, 409 not quarantined.
    virtual ActionResult release_device(const std::string& device_id) = 0;
    /// Read access to the durable record (runs, scenarios, steps).
    [[nodiscard]] virtual const record::Store& store() const = 0;
};

}  // namespace certlab::api
