// `certlabd --record FILE`: every device session saved as a capture (docs/CAPTURES.md).
// The transport records the bytes (transport/recording.hpp); the device layer adds the
// markers through RecordingDriver: identify and its result, each action, its arguments
// and its results or error.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/station_config.hpp"
#include "sdk/registry.hpp"
#include "transport/capture_writer.hpp"

namespace certlab::station {

struct RecordOptions {
    std::string file;   ///< as given to --record; `{device}` is replaced by the device id
    std::string notes;  ///< --record-notes, copied into every capture's header
};

/// Where device `device_id`'s capture goes. `{device}` in `file` is replaced by the id;
/// without it, a station that may have more than one device (`several`) inserts `.ID`
/// before the extension (`bench.capture` -> `bench.printer-1.capture`, `out` ->
/// `out.printer-1`), and a station with one device uses `file` as it is.
[[nodiscard]] std::filesystem::path capture_path(const std::string& file, const std::string& device_id, bool several);

/// A capture for one device, its header filled from the configuration; write errors
/// are logged once (warning) and end that device's recording.
[[nodiscard]] std::shared_ptr<transport::CaptureWriter> make_capture(const RecordOptions& options,
                                                                    const std::filesystem::path& path,
                                                                    const config::DeviceConfig& device,
                                                                    const config::DeviceProfile& profile,
                                                                    const sdk::DriverInfo& driver);

/// Wraps a device's driver: the same calls, results and exceptions, and the markers
/// `@ identify`, `@ identified {identity}`, `@ invoke ACTION {args}`, `@ result ACTION
/// {values}` and `@ error WHAT {kind, message}` (WHAT: open, identify or the action).
class RecordingDriver final : public sdk::Driver {
public:
    RecordingDriver(std::unique_ptr<sdk::Driver> inner, std::shared_ptr<transport::CaptureWriter> capture);

    sdk::Task<void> open() override;
    sdk::Task<sdk::Identity> identify() override;
    sdk::Task<sdk::Values> invoke(const sdk::ActionSpec& action, const sdk::Args& args) override;
    void close() noexcept override { inner_->close(); }

private:
    void failed(const std::string& what, std::exception_ptr e) noexcept;

    std::unique_ptr<sdk::Driver> inner_;
    std::shared_ptr<transport::CaptureWriter> capture_;
};

}  // namespace certlab::station
