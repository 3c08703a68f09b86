// The technician desk: puts a run's prompt steps to the people at the bench. A prompt
// is stored when it opens; the run's coroutine then waits on a timer that an answer
// (from the API) wakes at once, that a stop request ends within a poll slice, and
// that the prompt's deadline ends otherwise. Everything runs on the station's
// executor, so the desk needs no locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "api/station_view.hpp"
#include "engine/prompt.hpp"
#include "record/store.hpp"

namespace certlab::station {

class EventBus;

class PromptDesk final : public engine::Prompter {
public:
    explicit PromptDesk(record::Store& store) : store_(store) {}
    /// Where prompts opened, answered and closed are published (none by default).
    void set_events(EventBus* events) { events_ = events; }

    /// Closes (as interrupted) the prompts a previous process left open: nobody waits
    /// for their answers any more. Call once at start; returns how many.
    int close_left_open();

    sdk::Task<engine::PromptReply> ask(const engine::PromptRequest& request,
                                       const engine::RunControl& control) override;

    /// An answer from the API, committed before the waiting run is woken. 200, or 404
    /// unknown prompt, 409 no longer open, 413 attachment too large, 422 not a valid
    /// answer to this prompt.
    api::ActionResult answer(std::int64_t prompt_id, const api::PromptAnswerInput& input);

private:
    /// A prompt whose run is waiting in ask(); lives in that coroutine's frame.
    struct Waiting {
        engine::PromptSpec spec;
        std::chrono::steady_clock::time_point deadline;
        boost::asio::steady_timer& timer;
        std::optional<engine::PromptReply> reply;  ///< set (and committed) by answer()
    };

    /// The device under test of `run_id` ("" if unknown), for the events.
    [[nodiscard]] std::string device_of(std::int64_t run_id) const;

    record::Store& store_;
    EventBus* events_ = nullptr;
    std::map<std::int64_t, Waiting*> waiting_;  ///< by prompt id
};

}  // namespace certlab::station
