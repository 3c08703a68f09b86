// A USB printer-class device as a byte stream: bulk OUT carries the host's bytes,
// bulk IN the printer's answers (ESC/POS status, GS I).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sdk/transport.hpp"

namespace certlab::transport {

/// USB printer class (interface class 7) through libusb. open() finds the device in
/// a USB port path (`1-4.2`), claims its printer interface (detaching the kernel's
/// usblp driver if bound; it is re-attached on close) and reads its IEEE 1284 id.
/// Transfers are asynchronous: the executor never waits on USB (usb_event_loop.hpp
/// explains the thread behind them). Every operation has its own deadline and is
/// cancellable through Asio's per-operation cancellation.
/// Not thread-safe: use it from one executor (strand).
class UsbTransport final : public sdk::Transport {
public:
    /// `port_path` as checked by check_usb_port_path(); `address` is what address()
    /// reports, empty means "usb:" + port_path.
    UsbTransport(boost::asio::any_io_executor ex, std::string port_path, std::string address = {});
    /// Cancels transfers in flight and waits (briefly) for libusb to give them back.
    ~UsbTransport() override;
    UsbTransport(const UsbTransport&) = delete;
    UsbTransport& operator=(const UsbTransport&) = delete;

    [[nodiscard]] const std::string& address() const override;
    /// Finds, opens and claims the device; reopens when already open. The work runs
    /// on the USB thread; `timeout` bounds the GET_DEVICE_ID request.
    sdk::Task<void> open(sdk::Duration timeout) override;
    /// Cancels transfers in flight (their operations fail as `closed`) and releases
    /// the device; the release itself happens on the USB thread.
    void close() noexcept override;
    [[nodiscard]] bool is_open() const noexcept override;
    /// True when a transfer reported the device gone, or the kernel no longer lists it
    /// (asked of sysfs at most every 250 ms: no byte goes to the device).
    [[nodiscard]] bool peer_closed() noexcept override;
    sdk::Task<void> write(std::string_view data, sdk::Duration timeout) override;
    /// One bulk IN transfer (a multiple of the endpoint's packet size, so a full
    /// packet can never overflow it); bytes beyond `buf` are kept for the next read.
    sdk::Task<std::size_t> read_some(std::span<char> buf, sdk::Duration timeout) override;
    /// Drops bytes already received but not yet read. Bytes still inside the printer
    /// are not asked for: that would need a read.
    void discard_input() noexcept override;

    [[nodiscard]] const std::string& port_path() const noexcept;
    /// The IEEE 1284 device id read when the link opened (MFG, CMD, MDL, ... in the
    /// order sent); empty when the printer gave none.
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& ieee1284_id() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace certlab::transport
