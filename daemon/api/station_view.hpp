// The narrow view of the station the API reads and acts through. The API never
// touches a driver; the station implements this. Calls happen on the station's
// executor thread, except devices() and store() (and the store's calls), which
// routes with Affinity::any (api/router.hpp) make from the server's own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "record/model.hpp"
#include "record/prompt.hpp"
#include "upload/uploader.hpp"

namespace certlab::record {
class Store;
}
namespace certlab::certify {
class Desk;
}
namespace certlab::station {
class EventBus;
}
namespace certlab::api::metrics {
class Registry;
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

/// A resource discovery saw, and who (if anyone) claimed it.
struct ResourceInfo {
    std::string address;
    std::string kind;    ///< usb, serial, net
    std::string source;  ///< watcher name, or "config"
    std::map<std::string, std::string> attributes;
    std::string device;  ///< claiming device id; empty = unclaimed (never opened)
    std::string reason;  ///< why it is (un)claimed
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

/// A driver the station can use, and where it came from.
struct DriverListing {
    std::string name;
    std::string version;
    std::string origin;  ///< builtin, plugin (a .so from a plugins: directory) or exec (a child process)
    std::string doc;
    std::vector<std::string> capabilities;
    std::string file;    ///< plugin: the .so file; exec: the command; empty for builtin
    std::string device;  ///< exec: the device the child process drives
};

/// A plugin file the station refused at start, and why.
struct RefusedPlugin {
    std::string file;
    std::string reason;
};

struct DriversInfo {
    std::vector<DriverListing> drivers;
    std::vector<RefusedPlugin> refused;
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

/// What re-reading the configuration came to (SIGHUP, POST /v1/reload).
struct ReloadResult {
    int http_status = 200;             ///< 200 applied; 422 refused: the running config stays
    std::vector<std::string> changes;  ///< what changed, one line each ("device printer-2 added")
    std::vector<std::string> warnings; ///< what was not applied now, and why
    std::vector<std::string> errors;   ///< 422: file:line:column: what was expected
};

/// A technician's answer to a prompt, as the API received it.
struct PromptAnswerInput {
    std::string answer;  ///< as typed: "yes", "torn", "79.5", free text
    std::string by;
    std::string comment;
    std::optional<record::Attachment> attachment;  ///< decoded bytes
};

class StationView {
public:
    virtual ~StationView() = default;
    [[nodiscard]] virtual HealthInfo health() const = 0;
    /// Safe to call from any thread: the server's own one asks for it.
    [[nodiscard]] virtual std::vector<DeviceInfo> devices() const = 0;
    [[nodiscard]] virtual std::vector<SuiteInfo> suites() const = 0;
    /// Registered drivers (builtin, from plugins, exec children that said hello) and refused plugins.
    [[nodiscard]] virtual DriversInfo drivers() const { return {}; }
    /// Queues `suite` on `device`: 404 unknown device or suite, 409 device busy or
    /// not ready, 422 device lacks a capability the suite requires, 503 stopping.
    /// With a certification, the run is evidence for it (certify::Desk::check_run
    /// says when it may not be: 404, 409, 422).
    virtual StartRunResult start_run(const std::string& device_id, const std::string& suite_id,
                                     std::optional<std::int64_t> certification_id) = 0;
    [[nodiscard]] virtual std::vector<ResourceInfo> resources() const = 0;
    /// A profile skeleton (YAML) with the stable keys of the resource at `address`;
    /// nullopt when no such resource is known.
    [[nodiscard]] virtual std::optional<std::string> suggest_profile(const std::string& address,
                                                                     const std::string& driver,
                                                                     const std::string& profile_id) const = 0;
    /// Re-reads the configuration file (station.yaml, profiles, suites) and applies it
    /// without disturbing runs in flight; a config with errors is refused (422).
    virtual ReloadResult reload() = 0;
    /// Releases a quarantined device so it is brought up again: 404 unknown, 409 not quarantined.
    virtual ActionResult release_device(const std::string& device_id) = 0;
    /// Asks run `run_id` to stop at its next step boundary, "aborted by <by>: <reason>"
    /// (the step in flight ends and is committed first): 202, or 404 unknown run, 409 the
    /// run has already ended (the message says how). Repeating it while the run stops is
    /// a 202 that changes nothing: the first reason stands.
    virtual ActionResult abort_run(std::int64_t run_id, const std::string& by, const std::string& reason) {
        (void)run_id, (void)by, (void)reason;
        return {501, "this station cannot abort runs"};
    }
    /// Read access to the durable record (runs, scenarios, steps); the same store for
    /// the station's life, so it may be asked for from any thread.
    [[nodiscard]] virtual const record::Store& store() const = 0;
    /// The certification record's desk; nullptr when the station keeps none.
    [[nodiscard]] virtual certify::Desk* certification_desk() { return nullptr; }
    /// The live event bus GET /v1/events streams; nullptr when the station has none.
    [[nodiscard]] virtual std::shared_ptr<station::EventBus> events() { return nullptr; }
    /// Answers an open technician prompt (prompts are read through store()): 200;
    /// 404 unknown prompt, 409 no longer open (answered, timed out, withdrawn), 413
    /// attachment too large, 422 answer not valid for the prompt, 503 no desk.
    virtual ActionResult answer_prompt(std::int64_t prompt_id, const PromptAnswerInput& input) {
        return {503, "this station has no technician desk"};
    }
    /// Puts the station's metrics into `out` for `GET /metrics`: its counters, and
    /// gauges computed now. A station that keeps none leaves `out` empty.
    virtual void collect_metrics(metrics::Registry& out) const { (void)out; }
    /// The uploader's state (GET /v1/upload); nullopt when the station uploads nowhere.
    [[nodiscard]] virtual std::optional<upload::UploadStatus> upload_status() const { return std::nullopt; }
};

}  // namespace certlab::api
