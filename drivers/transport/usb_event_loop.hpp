// The libusb context every USB transport in the process shares, and the one thread
// that handles its events. Private to drivers/transport (includes libusb.h).
//
// Why a thread of its own: libusb completes transfers only inside
// libusb_handle_events*(), which blocks in poll(). Its file descriptors cannot simply
// join the Asio reactor: under umockdev the usbfs node is a regular file, which epoll
// refuses (EPERM). So transfers are submitted asynchronously from the executor, this
// thread handles events, and each completion is posted back to the executor of the
// operation that waits for it. Blocking libusb calls (enumeration, open, claim,
// control transfers) run here too, as jobs, so the executor never waits on USB.
//
// Why only while transfers are in flight: a usbfs node that always polls ready (the
// umockdev case) would make a permanent event loop spin at 100 % CPU for as long as
// any device is open. Idle, the thread sleeps on a condition variable; busy, it
// handles events, and backs off briefly after rounds that completed nothing (on real
// hardware poll() only returns when something happened, so this never triggers).
#pragma once

#include <libusb.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace certlab::transport::usb {

class EventLoop {
public:
    /// The process-wide loop, started on first use. Throws sdk::TransportError (io)
    /// when libusb cannot be initialised. It lives until the process ends: handles and
    /// transfers finish on its thread, so no owner could safely join it earlier.
    static EventLoop& instance();

    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    [[nodiscard]] libusb_context* context() const { return ctx_; }

    /// Runs `job` on the loop's thread, in order with other jobs. A job must not throw:
    /// it reports failures to whoever waits for it.
    void post(std::function<void()> job);

    /// Brackets every submitted transfer: started() before libusb_submit_transfer
    /// (undone with finished() if the submit fails), finished() from its callback.
    void transfer_started();
    void transfer_finished();

private:
    EventLoop();
    void run();
    void handle_events_round(std::unique_lock<std::mutex>& lock);

    libusb_context* ctx_ = nullptr;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::function<void()>> jobs_;  ///< guarded by mutex_
    int in_flight_ = 0;                        ///< guarded by mutex_
    std::uint64_t submitted_ = 0;              ///< guarded by mutex_; wakes a back-off early
    std::atomic<std::uint64_t> completed_{0};  ///< transfers finished, for the spin guard
    int empty_rounds_ = 0;                     ///< loop thread only
    std::thread thread_;
};

}  // namespace certlab::transport::usb
