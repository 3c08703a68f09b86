// Appends a device session to a capture file (docs/CAPTURES.md) while it happens.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/capture.hpp"

namespace certlab::transport {

/// Never throws and never fails the session it records: the first write error is
/// reported once through `on_error` and recording stops. Not thread-safe: use it from
/// the device's executor, like the transport it records.
///
/// The header is written once the device has identified (so it can name manufacturer,
/// model, serial number and firmware); records before that wait in memory, at most
/// `max_pending` of them, after which the header goes out with what is known.
class CaptureWriter {
public:
    using ErrorHandler = std::function<void(const std::string& what)>;

    /// Nothing is opened yet: the file is created (truncated) with the first flush.
    CaptureWriter(std::filesystem::path path, CaptureHeader header, ErrorHandler on_error = {});
    ~CaptureWriter();
    CaptureWriter(const CaptureWriter&) = delete;
    CaptureWriter& operator=(const CaptureWriter&) = delete;

    void write(std::string_view bytes) noexcept;
    void read(std::string_view bytes) noexcept;
    /// A failed operation (`open`, `read`, `write`).
    void error(std::string_view op, const ErrorDescription& e) noexcept;
    void mark(std::string_view name, std::string_view payload = {}) noexcept;
    /// Fills the header's identity (first identification only) and writes the header.
    void identified(std::string manufacturer, std::string model, std::string serial_number,
                    std::string firmware) noexcept;
    /// Writes what is buffered to the file (the header first, if still pending).
    void flush() noexcept;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] const CaptureHeader& header() const { return header_; }
    /// True once a write failed: nothing more is recorded.
    [[nodiscard]] bool failed() const { return failed_; }

    static constexpr std::size_t max_pending = 256;

private:
    void add(CaptureRecord::Kind kind, std::string_view bytes, std::string_view name, std::string_view error_kind,
             std::string_view text) noexcept;
    void fail(const std::string& what) noexcept;
    void emit(const std::string& text) noexcept;

    std::filesystem::path path_;
    CaptureHeader header_;
    ErrorHandler on_error_;
    std::chrono::steady_clock::time_point start_;
    std::FILE* file_ = nullptr;
    bool header_written_ = false;
    bool failed_ = false;
    std::vector<CaptureRecord> pending_;  ///< records waiting for the header
};

/// "2024-05-01T09:30:00Z" for `t`.
[[nodiscard]] std::string utc_iso8601(std::chrono::system_clock::time_point t);

}  // namespace certlab::transport
