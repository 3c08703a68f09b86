// The station's live event bus (docs/API.md, "Events"): what happens on the bench
// (device states, runs, steps, scenarios, prompts) as numbered one-line JSON events,
// kept in a bounded in-memory ring so a client that reconnects can resume after the
// last id it saw. The station publishes on its executor; the API's event streams
// read it from the API's own thread, so every call takes the bus's lock. Streaming
// to clients is api/sse.cpp's; this file knows no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "record/model.hpp"
#include "record/prompt.hpp"

namespace certlab::station {

struct Event {
    std::int64_t id = 0;
    std::string type;                 ///< device.state, run.queued, step, ... (docs/API.md)
    std::string data;                 ///< one line of JSON
    std::optional<std::int64_t> run;  ///< the run it is about, for ?run=
    std::string device;               ///< the device it is about (a run's: its dut), for ?device=
};

class EventBus {
public:
    /// Events the ring keeps: at 10,000, a soak committing 20 steps/s leaves a client
    /// over 8 minutes to come back; an event is a few hundred bytes, so a few MB at most.
    static constexpr std::size_t ring_capacity = 10'000;

    /// The first id of a daemon process: its start time in ms times 1000, so ids
    /// keep increasing across restarts and an id from an earlier process is older
    /// than the ring (a gap) rather than mistaken for a recent one.
    [[nodiscard]] static std::int64_t first_id_now();

    explicit EventBus(std::int64_t first_id = 1, std::size_t capacity = ring_capacity);
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    /// Appends an event (dropping the oldest past the capacity), wakes the
    /// listeners (on this thread, after the lock is let go), returns its id. `data`
    /// must be one line of JSON.
    std::int64_t publish(std::string type, std::string data, std::optional<std::int64_t> run = {},
                         std::string device = {});

    // The events of the bench, each in the shape docs/API.md gives.
    void device_state(const std::string& device, std::string_view state, std::string_view previous,
                      const std::string& reason);
    void run_queued(const record::Run& run);
    void run_started(const record::Run& run);
    /// `run` with its final status, outcome and reason.
    void run_ended(const record::Run& run);
    /// A committed step; `scenario` is the scenario id, `iterations_planned` its plan.
    void step(const record::StepResult& step, const std::string& scenario, int iterations_planned,
              const std::string& device);
    void scenario_ended(const record::ScenarioResult& scenario, const std::string& device);
    void prompt_opened(const record::Prompt& prompt, const std::string& device);
    void prompt_answered(std::int64_t prompt_id, std::int64_t run_id, const std::string& answer,
                         const std::string& by, const std::string& device);
    /// Closed without an answer: `status` timed_out or cancelled.
    void prompt_closed(std::int64_t prompt_id, std::int64_t run_id, std::string_view status,
                       const std::string& reason, const std::string& device);

    /// The uploader started failing (`failing`, with its error) or got results through
    /// again: upload.failing / upload.recovered.
    void upload_changed(bool failing, std::int64_t pending, std::int64_t consecutive_failures,
                        const std::string& error);
    /// The oldest id the ring holds (next_id() when it is empty).
    [[nodiscard]] std::int64_t first_id() const;
    /// The id the next event will get.
    [[nodiscard]] std::int64_t next_id() const;
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    /// Whether resuming after `last_id` would miss events: some after it have left
    /// the ring, or it is not an id of this process (newer than any).
    [[nodiscard]] bool missed_after(std::int64_t last_id) const;
    /// Up to `max` events with ids after `last_id`, oldest first (from first_id() on
    /// when some have left the ring).
    [[nodiscard]] std::vector<Event> after(std::int64_t last_id, std::size_t max) const;

    /// Called on the publishing thread after each publish until the returned handle
    /// goes; `wake` must only signal (a listener on another thread posts to its own).
    class Subscription {
    public:
        Subscription() = default;
        Subscription(EventBus* bus, int key) : bus_(bus), key_(key) {}
        Subscription(Subscription&& o) noexcept : bus_(o.bus_), key_(o.key_) { o.bus_ = nullptr; }
        Subscription& operator=(Subscription&&) = delete;
        ~Subscription();

    private:
        EventBus* bus_ = nullptr;
        int key_ = 0;
    };
    [[nodiscard]] Subscription subscribe(std::function<void()> wake);

private:
    [[nodiscard]] std::int64_t first_id_locked() const { return next_id_ - static_cast<std::int64_t>(ring_.size()); }

    mutable std::mutex mutex_;  ///< guards everything below
    std::size_t capacity_;
    std::int64_t next_id_;
    std::deque<Event> ring_;
    std::map<int, std::function<void()>> listeners_;
    int next_key_ = 0;
};

}  // namespace certlab::station
