#include "transport/usb_event_loop.hpp"

#include <chrono>

#include "sdk/error.hpp"
#include "transport/usb_device.hpp"

namespace certlab::transport::usb {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Rounds of event handling that completed nothing and returned at once before the
// loop starts to back off, and the longest back-off. A fixture answering at once is
// reaped within the tolerance; a long wait costs at most one reap every kMaxBackoff.
constexpr int kSpinTolerance = 8;
constexpr auto kFirstBackoff = 100us;
constexpr auto kMaxBackoff = 2ms;
// A round that takes longer than this was a real wait in poll(), not a spin.
constexpr auto kSpinRound = 1ms;
// While idle the context still receives hotplug notices (libusb queues one per
// arrival and departure for every context); they are drained this often so they
// never pile up. Rarely: under umockdev each drain also reaps every open device once.
constexpr auto kIdleDrain = 10s;

}  // namespace

EventLoop& EventLoop::instance() {
    // Deliberately never destroyed: see the class comment.
    static EventLoop* loop = new EventLoop();
    return *loop;
}

EventLoop::EventLoop() {
    const int rc = libusb_init(&ctx_);
    if (rc != 0)
        throw sdk::TransportError(sdk::TransportError::Kind::io, "usb: libusb_init failed: " + error_text(rc));
    thread_ = std::thread([this] { run(); });
}

void EventLoop::post(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    libusb_interrupt_event_handler(ctx_);  // the thread may be waiting in poll()
}

void EventLoop::transfer_started() {
    {
        std::lock_guard lock(mutex_);
        ++in_flight_;
        ++submitted_;
    }
    wake_.notify_one();
}

void EventLoop::transfer_finished() {
    completed_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    --in_flight_;
}

void EventLoop::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (jobs_.empty() && in_flight_ == 0) {
            const bool woken = wake_.wait_for(lock, kIdleDrain, [this] { return !jobs_.empty() || in_flight_ > 0; });
            if (!woken) {
                lock.unlock();
                timeval zero{0, 0};
                libusb_handle_events_timeout_completed(ctx_, &zero, nullptr);
                lock.lock();
                continue;
            }
        }
        auto jobs = std::move(jobs_);
        jobs_.clear();
        lock.unlock();
        for (auto& job : jobs) job();  // jobs catch their own errors and post them back
        lock.lock();
        if (in_flight_ > 0) handle_events_round(lock);
        else empty_rounds_ = 0;
    }
}

void EventLoop::handle_events_round(std::unique_lock<std::mutex>& lock) {
    if (empty_rounds_ > kSpinTolerance) {
        // The usbfs node keeps polling ready without anything to reap: wait a little,
        // or less if a new transfer or job arrives.
        const auto shift = std::min(empty_rounds_ - kSpinTolerance - 1, 10);
        const auto backoff = std::min<Clock::duration>(kFirstBackoff * (1 << shift), kMaxBackoff);
        const auto seen = submitted_;
        wake_.wait_for(lock, backoff, [&] { return !jobs_.empty() || submitted_ != seen; });
    }
    lock.unlock();
    const auto before = completed_.load(std::memory_order_relaxed);
    const auto t0 = Clock::now();
    timeval tv{0, 100'000};  // bounded, so jobs never wait long behind a quiet poll()
    libusb_handle_events_timeout_completed(ctx_, &tv, nullptr);
    const bool empty = completed_.load(std::memory_order_relaxed) == before && Clock::now() - t0 < kSpinRound;
    empty_rounds_ = empty ? empty_rounds_ + 1 : 0;
    lock.lock();
}

}  // namespace certlab::transport::usb
