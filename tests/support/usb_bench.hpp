// USB without hardware: certlab-usb-bench (fixtures/usb-printer) keeps a umockdev
// testbed with emulated USB devices; a process started while a UmockdevEnvironment
// lives sees that testbed instead of the machine's /sys and /dev.
//
// Order matters when both are declared in a test: the bench first, the process
// under test after it, so the process is killed before the bench goes (umockdev's
// preload aborts a process whose emulated device's handler disappears).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace certlab::test {

class UsbBench {
public:
    /// Starts certlab-usb-bench and waits for its testbed; throws std::runtime_error.
    UsbBench();
    ~UsbBench();
    UsbBench(const UsbBench&) = delete;
    UsbBench& operator=(const UsbBench&) = delete;

    /// The testbed directory (the UMOCKDEV_DIR of processes that should see it).
    [[nodiscard]] const std::string& dir() const { return dir_; }
    [[nodiscard]] pid_t pid() const { return process_.pid(); }

    /// Sends one command line; returns its reply after "ok ". Throws
    /// std::runtime_error on "error ..." or when no reply comes within 10 s.
    std::string command(const std::string& line);
    /// `add NAME ARGS`: plugs a device in; returns its address, e.g. "usb:1-4".
    std::string add(const std::string& name, const std::string& args);
    /// `add-serial NAME ARGS`: plugs a USB-serial adapter in; returns its tty path.
    std::string add_serial(const std::string& name, const std::string& args);
    void remove(const std::string& name);
    /// Bytes the host has written to the device (bulk OUT and control OUT data).
    [[nodiscard]] std::uint64_t bytes_written(const std::string& name);

private:
    Process process_;
    std::string dir_;
};

/// While alive, child processes started by this test run under umockdev with the
/// bench's testbed (LD_PRELOAD=libumockdev-preload.so.0, UMOCKDEV_DIR); what was
/// set before is restored on destruction. Tests are single-threaded, which is what
/// makes changing the environment safe here.
class UmockdevEnvironment {
public:
    explicit UmockdevEnvironment(const UsbBench& bench);
    ~UmockdevEnvironment();
    UmockdevEnvironment(const UmockdevEnvironment&) = delete;
    UmockdevEnvironment& operator=(const UmockdevEnvironment&) = delete;

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace certlab::test
