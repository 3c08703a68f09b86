// The composition root: builds the store, devices, suites and API from the
// configuration and wires them together. It schedules runs (one per device at a
// time) and shuts down in order. It holds no protocol or test logic of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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
#include "station/recording.hpp"

namespace certlab::api {
class Server;
}
namespace certlab::inventory {
class Watcher;
class Matcher;
}

namespace certlab::station {

class Station final : public api::StationView {
public:
    struct Overrides {
        std::optional<std::filesystem::path> store_path;
        std::optional<std::uint16_t> api_port;
        std::optional<RecordOptions> record;  ///< --record: capture every device's sessions
    };

    /// Loads suites, opens the store (marking runs cut by a crash `interrupted`),
    /// creates every device's driver. Throws sdk::ConfigError / record::StoreError.
    Station(boost::asio::io_context& io, config::StationConfig cfg, Overrides overrides);
    ~Station() override;

    /// Binds the API and starts bringing devices up. Throws if the API cannot bind.
    void start();
    /// Stops at step boundaries, waits up to the grace period, closes everything.
    /// `done` is called (on the executor) when all is closed.
    void shutdown(std::function<void()> done);
    [[nodiscard]] std::uint16_t api_port() const;

    // api::StationView
    [[nodiscard]] api::HealthInfo health() const override;
    [[nodiscard]] std::vector<api::DeviceInfo> devices() const override;
    [[nodiscard]] std::vector<api::SuiteInfo> suites() const override;
    [[nodiscard]] api::DriversInfo drivers() const override;
    api::StartRunResult start_run(const std::string& device_id, const std::string& suite_id,
                                  std::optional<std::int64_t> certification_id) override;
    [[nodiscard]] const record::Store& store() const override { return *store_; }
    [[nodiscard]] certify::Desk* certification_desk() override { return desk_.get(); }
    api::ActionResult release_device(const std::string& device_id) override;
    [[nodiscard]] std::vector<api::ResourceInfo> resources() const override;
    [[nodiscard]] std::optional<std::string> suggest_profile(const std::string& address, const std::string& driver,
                                                             const std::string& profile_id) const override;

private:
    struct ActiveRun {
        record::Run run;
        engine::RunControl control;
        std::unique_ptr<engine::Runner> runner;
        std::map<std::string, Device*> devices;  ///< by role, "dut" included: all busy with it
    };

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

    struct ResourceEntry {
        sdk::Resource resource;
        std::string device;  ///< claiming device id, empty = unclaimed
        std::string reason;
    };

    boost::asio::io_context& io_;
    config::StationConfig cfg_;
    std::vector<engine::Suite> suites_;
    std::unique_ptr<record::Store> store_;
    std::unique_ptr<certify::Desk> desk_;  ///< the certification record, over store_
    std::map<std::string, std::unique_ptr<Device>, std::less<>> devices_;
    std::map<std::int64_t, std::unique_ptr<ActiveRun>> active_;
    std::unique_ptr<api::Server> api_;
    std::unique_ptr<inventory::Matcher> matcher_;
    std::vector<std::unique_ptr<inventory::Watcher>> watchers_;
    std::map<std::string, ResourceEntry> resources_;  ///< by address
    std::set<std::string> discovered_;                 ///< ids of devices created by discovery
    bool stopping_ = false;
    std::chrono::steady_clock::time_point started_;
    std::optional<RecordOptions> record_;
};

}  // namespace certlab::station
