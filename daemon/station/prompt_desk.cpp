#include "station/prompt_desk.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "engine/runner.hpp"
#include "station/events.hpp"

namespace certlab::station {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// How often a waiting prompt looks at its run's stop request. An answer does not
/// wait for this: it cancels the timer.
constexpr auto stop_poll = std::chrono::milliseconds(100);

record::Prompt stored_prompt(const engine::PromptRequest& req, record::TimePoint now) {
    const auto& spec = req.spec;
    record::Prompt p;
    p.run_id = req.run_id;
    p.scenario_id = req.scenario_id;
    p.iteration = req.iteration;
    p.step_index = req.step_index;
    p.kind = std::string(engine::to_string(spec.kind));
    p.message = spec.message;
    p.choices = spec.choices;
    p.fail_on = spec.fail_on;
    p.min = spec.min;
    p.max = spec.max;
    p.unit = spec.unit;
    p.on_timeout = std::string(engine::to_string(spec.on_timeout));
    p.opened_at = now;
    p.deadline = now + std::chrono::duration_cast<record::TimePoint::duration>(req.timeout);
    return p;
}

/// Why a prompt that is no longer waiting cannot take an answer.
std::string closed_message(const record::Prompt& p) {
    const std::string name = "prompt " + std::to_string(p.id);
    switch (p.status) {
        case record::PromptStatus::answered: {
            std::string m = name + " is already answered ('" + p.answer.value_or("") + "'";
            if (!p.answered_by.empty()) m += " by " + p.answered_by;
            return m + ")";
        }
        case record::PromptStatus::timed_out: return name + " timed out: " + p.close_reason;
        case record::PromptStatus::cancelled: return name + " was withdrawn: " + p.close_reason;
        case record::PromptStatus::interrupted: return name + " was closed at a restart: " + p.close_reason;
        case record::PromptStatus::open: break;
    }
    return name + " is not waiting for an answer";
}

}  // namespace

std::string PromptDesk::device_of(std::int64_t run_id) const {
    const auto run = store_.get_run(run_id);
    return run ? run->device_id : std::string();
}

int PromptDesk::close_left_open() {
    return store_.close_open_prompts("certlabd stopped while the prompt was waiting for an answer");
}

sdk::Task<engine::PromptReply> PromptDesk::ask(const engine::PromptRequest& request,
                                              const engine::RunControl& control) {
    record::Prompt prompt = stored_prompt(request, std::chrono::system_clock::now());
    store_.open_prompt(prompt);
    const auto id = prompt.id;
    if (events_) events_->prompt_opened(prompt, device_of(request.run_id));
    spdlog::info("run {} {}: prompt {} ({}) waits for the technician: {}", request.run_id, request.scenario_id, id,
                 prompt.kind, prompt.message);

    asio::steady_timer timer(co_await asio::this_coro::executor);
    Waiting waiting{request.spec, Clock::now() + request.timeout, timer, std::nullopt};
    // Off the desk however ask() ends, also when its coroutine is destroyed mid-wait.
    struct Unlist {
        std::map<std::int64_t, Waiting*>& map;
        std::int64_t id;
        ~Unlist() { map.erase(id); }
    } unlist{waiting_, id};
    waiting_[id] = &waiting;

    while (!waiting.reply && !control.stop_requested && Clock::now() < waiting.deadline) {
        timer.expires_at(std::min(waiting.deadline, Clock::now() + stop_poll));
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;  // cancelled by an answer, or expired: the loop condition says which
    }
    if (waiting.reply) co_return *waiting.reply;  // answer() committed it already

    engine::PromptReply out;
    out.prompt_id = id;
    if (control.stop_requested) {
        out.status = engine::PromptReply::Status::stopped;
        store_.close_prompt(id, record::PromptStatus::cancelled, "stopped: " + control.stop_reason);
        if (events_)
            events_->prompt_closed(id, request.run_id, "cancelled", "stopped: " + control.stop_reason,
                                   device_of(request.run_id));
        spdlog::info("prompt {} withdrawn: {}", id, control.stop_reason);
    } else {
        out.status = engine::PromptReply::Status::timed_out;
        store_.close_prompt(id, record::PromptStatus::timed_out,
                            "no answer by " + record::format_time(prompt.deadline) + " (on_timeout: " +
                                prompt.on_timeout + ")");
        spdlog::info("prompt {} timed out (on_timeout: {})", id, prompt.on_timeout);
        if (events_)
            events_->prompt_closed(id, request.run_id, "timed_out", "no answer by " + record::format_time(prompt.deadline),
                                   device_of(request.run_id));
    }
    co_return out;
}

api::ActionResult PromptDesk::answer(std::int64_t prompt_id, const api::PromptAnswerInput& input) {
    auto it = waiting_.find(prompt_id);
    if (it == waiting_.end()) {
        auto stored = store_.get_prompt(prompt_id);
        if (!stored) return {404, "no prompt " + std::to_string(prompt_id)};
        return {409, closed_message(*stored)};
    }
    Waiting& w = *it->second;
    if (w.reply) return {409, "prompt " + std::to_string(prompt_id) + " is already answered ('" + w.reply->answer + "')"};
    // Past its deadline the run has stopped waiting, even if it has not woken yet.
    if (Clock::now() >= w.deadline) return {409, "prompt " + std::to_string(prompt_id) + " timed out"};
    if (input.attachment && input.attachment->content.size() > record::Store::max_attachment_bytes)
        return {413, "attachment of " + std::to_string(input.attachment->content.size()) +
                         " bytes exceeds the limit of " + std::to_string(record::Store::max_attachment_bytes) +
                         " bytes"};
    if (input.attachment && input.attachment->name.empty()) return {422, "an attachment needs a file name"};
    const auto parsed = engine::parse_answer(w.spec, input.answer, input.attachment.has_value());
    if (!parsed.error.empty()) return {422, "prompt " + std::to_string(prompt_id) + ": " + parsed.error};

    record::PromptAnswer a{parsed.text, input.by, input.comment, std::chrono::system_clock::now()};
    if (!store_.answer_prompt(prompt_id, a, input.attachment))
        return {409, "prompt " + std::to_string(prompt_id) + " is no longer open"};
    engine::PromptReply reply;
    reply.status = engine::PromptReply::Status::answered;
    reply.prompt_id = prompt_id;
    reply.answer = parsed.text;
    reply.answered_by = input.by;
    reply.comment = input.comment;
    if (input.attachment) {
        // The store computed the digest as it kept the bytes; report what it kept.
        auto stored = store_.get_prompt(prompt_id);
        if (stored && stored->attachment)
            reply.attachment = engine::PromptAttachment{stored->attachment->name, stored->attachment->size,
                                                        stored->attachment->sha256};
    }
    w.reply = std::move(reply);
    w.timer.cancel();  // wakes the run now rather than at its next poll
    if (events_)
        if (const auto stored = store_.get_prompt(prompt_id))
            events_->prompt_answered(prompt_id, stored->run_id, parsed.text, input.by, device_of(stored->run_id));
    spdlog::info("prompt {} answered '{}'{}{}{}", prompt_id, parsed.text, input.by.empty() ? "" : " by ", input.by,
                 input.attachment ? " with attachment " + input.attachment->name : std::string());
    return {200, {}};
}

}  // namespace certlab::station
