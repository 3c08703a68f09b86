#include "transport/capture_writer.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

namespace certlab::transport {

std::string utc_iso8601(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

CaptureWriter::CaptureWriter(std::filesystem::path path, CaptureHeader header, ErrorHandler on_error)
    : path_(std::move(path)), header_(std::move(header)), on_error_(std::move(on_error)),
      start_(std::chrono::steady_clock::now()) {
    if (header_.date.empty()) header_.date = utc_iso8601(std::chrono::system_clock::now());
}

CaptureWriter::~CaptureWriter() {
    if (file_ || !pending_.empty()) flush();  // a device never opened leaves no file
    if (file_) std::fclose(file_);
}

void CaptureWriter::write(std::string_view bytes) noexcept { add(CaptureRecord::Kind::write, bytes, {}, {}, {}); }

void CaptureWriter::read(std::string_view bytes) noexcept { add(CaptureRecord::Kind::read, bytes, {}, {}, {}); }

void CaptureWriter::error(std::string_view op, const ErrorDescription& e) noexcept {
    add(CaptureRecord::Kind::error, {}, op, e.kind, e.message);
}

void CaptureWriter::mark(std::string_view name, std::string_view payload) noexcept {
    add(CaptureRecord::Kind::marker, {}, name, {}, payload);
    // Markers end steps and sessions: what led up to them reaches the disk now, so a
    // crash loses at most the bytes of the step in flight.
    if (header_written_) flush();
}

void CaptureWriter::identified(std::string manufacturer, std::string model, std::string serial_number,
                               std::string firmware) noexcept {
    if (header_written_ || failed_) return;
    header_.manufacturer = std::move(manufacturer);
    header_.model = std::move(model);
    header_.serial_number = std::move(serial_number);
    header_.firmware = std::move(firmware);
    flush();
}

void CaptureWriter::add(CaptureRecord::Kind kind, std::string_view bytes, std::string_view name,
                        std::string_view error_kind, std::string_view text) noexcept {
    if (failed_) return;
    try {
        CaptureRecord r;
        r.kind = kind;
        r.bytes = bytes;
        r.name = name;
        r.error_kind = error_kind;
        r.text = text;
        r.offset_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_)
                          .count();
        if (!header_written_) {
            pending_.push_back(std::move(r));
            if (pending_.size() >= max_pending) flush();
            return;
        }
        emit(format_record(r));
    } catch (const std::exception& e) {
        fail(e.what());
    }
}

void CaptureWriter::flush() noexcept {
    if (failed_) return;
    try {
        if (!file_) {
            file_ = std::fopen(path_.c_str(), "w");
            if (!file_) return fail(std::string("cannot create it: ") + std::strerror(errno));
        }
        if (!header_written_) {
            header_written_ = true;
            emit(format_header(header_));
            for (const auto& r : pending_) emit(format_record(r));
            pending_.clear();
        }
        if (!failed_ && std::fflush(file_) != 0) fail(std::strerror(errno));
    } catch (const std::exception& e) {
        fail(e.what());
    }
}

void CaptureWriter::emit(const std::string& text) noexcept {
    if (failed_ || !file_) return;
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) fail(std::strerror(errno));
}

void CaptureWriter::fail(const std::string& what) noexcept {
    if (failed_) return;
    failed_ = true;
    pending_.clear();
    if (file_) {
        std::fclose(file_);
        file_ = nullptr;
    }
    if (on_error_) {
        try {
            on_error_("capture " + path_.string() + ": " + what + "; recording of this device stopped");
        } catch (...) {
            // the handler must not take the session down either
        }
    }
}

}  // namespace certlab::transport
