// Serial discovery: real adapters through libserialport enumeration plus tty paths
// the station names (explicit paths and globs, e.g. pty symlinks of simulators).
// Enumeration only: no port is ever opened, so an unidentified device never sees a byte.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "inventory/watcher.hpp"

namespace certlab::inventory {

struct SerialWatchOptions {
    std::vector<std::string> paths;  ///< explicit tty paths, reported while they exist
    std::vector<std::string> globs;  ///< glob(3) patterns, e.g. "/run/certlab/tty-*"
    /// fnmatch patterns checked against each path and its symlink target. The
    /// defaults below are applied even when this list is replaced: the VM console
    /// (/dev/ttyS0) must never reach the matcher.
    std::vector<std::string> exclude_globs{"/dev/ttyS0", "/dev/console", "/dev/tty"};
    bool enumerate = true;  ///< ask libserialport (sp_list_ports) for real ports
    std::chrono::milliseconds poll_interval{500};
};

/// One enumeration pass (no port opened): what the watcher would report now, sorted
/// by address. Only character devices are reported; a dangling symlink is absent.
[[nodiscard]] std::vector<sdk::Resource> scan_serial_ports(const SerialWatchOptions& opts);

/// True when `path` (or what it resolves to) matches an exclude pattern or a default.
[[nodiscard]] bool serial_path_excluded(const SerialWatchOptions& opts, const std::string& path);

class SerialWatcher final : public Watcher {
public:
    SerialWatcher(boost::asio::any_io_executor ex, SerialWatchOptions opts);
    ~SerialWatcher() override;
    SerialWatcher(const SerialWatcher&) = delete;
    SerialWatcher& operator=(const SerialWatcher&) = delete;

    [[nodiscard]] std::string name() const override { return "serial"; }
    /// Polls every poll_interval on the executor; the first poll is posted at once.
    void start(WatcherSink sink) override;
    /// Call on the executor's thread (as the sink contract implies).
    void stop() noexcept override;

private:
    struct State;
    std::shared_ptr<State> state_;  ///< shared with pending timer handlers
};

}  // namespace certlab::inventory
