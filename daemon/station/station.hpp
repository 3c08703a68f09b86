// The composition root: builds the store, devices, suites and API from the
// configuration and wires them together. It schedules runs (one per device at a
// time) and shuts down in order. It holds no protocol or test logic of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>

#include "api/station_view.hpp"
#include "certify/desk.hpp"
#include "config/station_config.hpp"
#include "engine/runner.hpp"
#include "engine/suite.hpp"
#include "record/store.hpp"
#include "station/device.hpp"
#include "station/prompt_desk.hpp"
#include "station/recording.hpp"
#include "station/station_metrics.hpp"

namespace certlab::api {
class Server;
}
namespace certlab::upload {
class Uploader;
}
namespace certlab::inventory {
class Watcher;
class Matcher;
}

namespace certlab::station {

class EventBus;

class Station final : public api::StationView {
public:
    struct Overrides {
        std::optional<std::filesystem::path> store_path;
        std::optional<std::uint16_t> api_port;
        std::optional<RecordOptions> record;  ///< --record: capture every device's sessions
        std::optional<std::string> log_level;  ///< --log-level: wins over log.level, at start and reload
    };

    /// Loads suites, opens the store (marking runs cut by a crash `interrupted`),
    /// creates every device's driver. Throws sdk::ConfigError / record::StoreError.
    /// Everything runs on `io` but the API's connections, which a thread of the API
    /// server's own serves on `api_io` (made before `io`, so it outlives what `io`
    /// still holds of them; see api/server.hpp).
    Station(boost::asio::io_context& io, boost::asio::io_context& api_io, config::StationConfig cfg,
            Overrides overrides);
    ~Station() override;

    /// Binds the API and starts bringing devices up. Throws if the API cannot bind.
    void start();
    /// Stops at step boundaries, waits up to the grace period, closes everything.
    /// `done` is called (on the executor) when all is closed.
    void shutdown(std::function<void()> done);
    [[nodiscard]] std::uint16_t api_port() const;
    /// Applies a newly loaded configuration (station/station_reload.cpp): suites for
    /// the next runs, profiles, declared devices added, changed or removed, wiring,
    /// log level. Runs in flight keep what they started with; a device a run holds or
    /// waits for is neither changed nor removed (a warning says so: reload again later).
    /// What needs a restart (store, API, discovery, plugins, log file) is a warning.
    api::ReloadResult reload(config::StationConfig cfg);

    // api::StationView
    [[nodiscard]] api::HealthInfo health() const override;
    [[nodiscard]] std::vector<api::DeviceInfo> devices() const override;
    [[nodiscard]] std::vector<api::SuiteInfo> suites() const override;
    [[nodiscard]] api::DriversInfo drivers() const override;
    api::StartRunResult start_run(const std::string& device_id, const std::string& suite_id,
                                  std::optional<std::int64_t> certification_id) override;
    /// The API's reads go through a connection of their own, so a long one (a whole
    /// soak's steps) never holds up a commit.
    [[nodiscard]] const record::Store& store() const override { return *reader_; }
    [[nodiscard]] certify::Desk* certification_desk() override { return desk_.get(); }
    [[nodiscard]] std::shared_ptr<EventBus> events() override { return events_; }
    api::ActionResult answer_prompt(std::int64_t prompt_id, const api::PromptAnswerInput& input) override {
        return prompts_->answer(prompt_id, input);
    }
    api::ActionResult release_device(const std::string& device_id) override;
    /// Loads cfg_.file again and applies it with reload(StationConfig); 422 with the error.
    api::ReloadResult reload() override;
    api::ActionResult abort_run(std::int64_t run_id, const std::string& by, const std::string& reason) override;
    [[nodiscard]] std::vector<api::ResourceInfo> resources() const override;
    [[nodiscard]] std::optional<std::string> suggest_profile(const std::string& address, const std::string& driver,
                                                             const std::string& profile_id) const override;
    void collect_metrics(api::metrics::Registry& out) const override;
    [[nodiscard]] std::optional<upload::UploadStatus> upload_status() const override;

private:
    struct ActiveRun {
        record::Run run;
        engine::RunControl control;
        std::unique_ptr<engine::Runner> runner;
        std::map<std::string, Device*> devices;  ///< by role, "dut" included: all busy with it
        const engine::Suite* suite = nullptr;
    };

    /// Runs a previous process left unfinished: resumed (into resuming_) when their
    /// suite and devices are unchanged and resume_interrupted is on, else interrupted.
    void take_back_unfinished_runs();
    /// Puts a new (or resumed) run in the queues of its devices and starts its coroutine.
    void enqueue(std::unique_ptr<ActiveRun> active);
    /// Why the run cannot start now (empty when it can), and whether it is for a
    /// device that is away (which the run waits for up to lost_wait) rather than busy.
    struct Blocked {
        std::string why;
        bool away = false;
    };
    [[nodiscard]] Blocked blocked(const ActiveRun& active) const;
    /// Waits until the run heads the queue of each of its devices and they are ready;
    /// false (reason in active.run.reason) when stopped or a device stayed away too long.
    sdk::Task<bool> wait_turn(ActiveRun& active);
    void leave_queues(const ActiveRun& active);
    /// Publishes run.ended with the run as the store recorded its end.
    void publish_run_ended(std::int64_t run_id);

    sdk::Task<void> supervise(Device& device);
    sdk::Task<void> execute(std::int64_t run_id, const engine::Suite& suite);
    /// Refusal (status, message) when `dev` cannot take `role` in a run of `suite` now.
    [[nodiscard]] std::optional<api::StartRunResult> refuse_role(const Device& dev, const std::string& role,
                                                                const engine::Suite& suite) const;
    sdk::Task<void> drain(std::function<void()> done);
    [[nodiscard]] const engine::Suite* find_suite(std::string_view id) const;
    Device& add_device(const config::DeviceConfig& dc);
    [[nodiscard]] Device* device_at(const std::string& address);
    void resource_arrived(const sdk::Resource& r);
    void resource_departed(const std::string& address);
    /// Why a discovered device's identification rules it out ("" when it fits).
    [[nodiscard]] std::string identify_mismatch(const Device& device) const;
    /// Renews what devices() answers from devices_. Called on the executor after
    /// every change a DeviceInfo shows: a state change (Device::on_state), a run
    /// taking or leaving a device, a device added or removed.
    void publish_devices();

    struct ResourceEntry {
        sdk::Resource resource;
        std::string device;  ///< claiming device id, empty = unclaimed
        std::string reason;
    };

    boost::asio::io_context& io_;
    boost::asio::io_context& api_io_;
    config::StationConfig cfg_;
    /// GET /v1/events; first made and last gone, as devices and the desk publish into it.
    std::shared_ptr<EventBus> events_;
    std::vector<engine::Suite> suites_;
    std::unique_ptr<record::Store> store_;
    std::unique_ptr<record::Store> reader_;  ///< read-only, for the API (store())
    /// Drains store_'s outbox to the certification record; null without `upload:`.
    /// Shared so the store's enqueue callback can hold it weakly.
    std::shared_ptr<upload::Uploader> uploader_;
    std::unique_ptr<certify::Desk> desk_;  ///< the certification record, over store_
    std::unique_ptr<PromptDesk> prompts_;  ///< technician prompts of every run, over store_
    std::map<std::string, std::unique_ptr<Device>, std::less<>> devices_;
    /// devices_ as devices() answers it, for the API's own thread (publish_devices()).
    mutable std::mutex devices_view_mutex_;
    std::vector<api::DeviceInfo> devices_view_;
    std::map<std::int64_t, std::unique_ptr<ActiveRun>> active_;  ///< queued and running
    std::vector<std::unique_ptr<ActiveRun>> resuming_;  ///< from take_back_unfinished_runs, until start()
    /// Per device id: the runs that need it, oldest first; the head may be running.
    std::map<std::string, std::deque<std::int64_t>, std::less<>> queues_;
    std::unique_ptr<api::Server> api_;
    std::unique_ptr<inventory::Matcher> matcher_;
    std::vector<std::unique_ptr<inventory::Watcher>> watchers_;
    std::map<std::string, ResourceEntry> resources_;  ///< by address
    std::set<std::string> discovered_;                 ///< ids of devices created by discovery
    bool stopping_ = false;
    std::chrono::steady_clock::time_point started_;
    std::optional<RecordOptions> record_;
    StationMetrics metrics_;  ///< counters for GET /metrics, fed by every run's observer
    // Reload (station_reload.cpp). Devices hold their profile by reference and runs
    // their suite by pointer: what a reload replaces is kept until nothing uses it.
    std::optional<std::string> log_level_override_;  ///< Overrides::log_level
    std::vector<std::unique_ptr<config::StationConfig>> retired_configs_;  ///< profiles of kept devices
    std::vector<std::vector<engine::Suite>> retired_suites_;  ///< suites of runs in flight
    /// Removed devices: closed, kept so their supervisor sees them gone (never a reused address).
    std::vector<std::unique_ptr<Device>> retired_devices_;
};

}  // namespace certlab::station
