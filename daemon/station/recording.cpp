#include "station/recording.hpp"

#include <spdlog/spdlog.h>

#include "station/capture_json.hpp"

namespace certlab::station {

std::filesystem::path capture_path(const std::string& file, const std::string& device_id, bool several) {
    static constexpr std::string_view placeholder = "{device}";
    if (auto at = file.find(placeholder); at != std::string::npos) {
        std::string out = file;
        for (; at != std::string::npos; at = out.find(placeholder, at + device_id.size()))
            out.replace(at, placeholder.size(), device_id);
        return out;
    }
    if (!several) return file;
    std::filesystem::path p(file);
    return p.parent_path() / (p.stem().string() + "." + device_id + p.extension().string());
}

std::shared_ptr<transport::CaptureWriter> make_capture(const RecordOptions& options, const std::filesystem::path& path,
                                                       const config::DeviceConfig& device,
                                                       const config::DeviceProfile& profile,
                                                       const sdk::DriverInfo& driver) {
    transport::CaptureHeader h;
    h.device = device.id;
    h.profile = profile.id;
    h.driver = driver.name + " " + driver.version;
    h.address = device.address;
    h.notes = options.notes;
    h.certlab = CERTLAB_VERSION;
    if (!device.settings.entries().empty()) h.settings = encode_settings(device.settings);
    const std::string id = device.id;
    spdlog::info("device {}: recording its sessions to {}", id, path.string());
    return std::make_shared<transport::CaptureWriter>(path, std::move(h), [id](const std::string& what) {
        spdlog::warn("device {}: {}", id, what);
    });
}

RecordingDriver::RecordingDriver(std::unique_ptr<sdk::Driver> inner, std::shared_ptr<transport::CaptureWriter> capture)
    : inner_(std::move(inner)), capture_(std::move(capture)) {}

void RecordingDriver::failed(const std::string& what, std::exception_ptr e) noexcept {
    try {
        capture_->mark(transport::marker::failed, what + " " + encode_error(transport::describe_error(e)));
    } catch (...) {
        // recording never fails the call it records
    }
}

// Each call's exception is recorded in its handler and rethrown unchanged; results
// are built in plain statements (g++ 12 and temporaries initialised by co_await).

sdk::Task<void> RecordingDriver::open() {
    try {
        co_await inner_->open();
    } catch (...) {
        failed("open", std::current_exception());
        throw;
    }
}

sdk::Task<sdk::Identity> RecordingDriver::identify() {
    capture_->mark(transport::marker::identify);
    sdk::Identity id;
    try {
        sdk::Identity got = co_await inner_->identify();
        id = std::move(got);
    } catch (...) {
        failed("identify", std::current_exception());
        throw;
    }
    try {
        capture_->identified(id.manufacturer, id.model, id.serial_number, id.firmware);
        capture_->mark(transport::marker::identified, encode_identity(id));
    } catch (...) {
        // as above
    }
    co_return id;
}

sdk::Task<sdk::Values> RecordingDriver::invoke(const sdk::ActionSpec& action, const sdk::Args& args) {
    const std::string name = action.qualified();
    try {
        capture_->mark(transport::marker::invoke, name + " " + encode_values(args));
    } catch (...) {
    }
    sdk::Values values;
    try {
        sdk::Values got = co_await inner_->invoke(action, args);
        values = std::move(got);
    } catch (...) {
        failed(name, std::current_exception());
        throw;
    }
    try {
        capture_->mark(transport::marker::result, name + " " + encode_values(values));
    } catch (...) {
    }
    co_return values;
}

}  // namespace certlab::station
