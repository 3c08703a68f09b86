// Technician prompts: a scenario step that asks the person at the bench what only a
// human can judge ("is the receipt legible?"). The engine owns the question, what a
// valid answer is and how an answer becomes an outcome; a Prompter (the station's
// desk) puts the question to people and brings the answer back. No HTTP, no SQL here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "record/model.hpp"
#include "sdk/capability.hpp"
#include "sdk/task.hpp"
#include "sdk/value.hpp"

namespace certlab::engine {

struct RunControl;

enum class PromptKind { confirm, choice, number, text, photo, file };
[[nodiscard]] std::string_view to_string(PromptKind k);
[[nodiscard]] std::optional<PromptKind> parse_prompt_kind(std::string_view s);

/// What a prompt step becomes when nobody answers in time.
enum class OnTimeout { skip, fail, error };
[[nodiscard]] std::string_view to_string(OnTimeout p);
[[nodiscard]] std::optional<OnTimeout> parse_on_timeout(std::string_view s);

/// A prompt step as the suite declares it; the loader has validated it.
struct PromptSpec {
    PromptKind kind = PromptKind::confirm;
    std::string message;
    std::vector<std::string> choices;  ///< choice: the answers offered
    std::vector<std::string> fail_on;  ///< choice: answers that fail the step (among `choices`)
    std::optional<double> min;         ///< number: lowest passing answer [unit]
    std::optional<double> max;         ///< number: highest passing answer [unit]
    std::string unit;                  ///< number: unit of the answer and the limits
    /// error by default: an unanswered prompt is the lab's miss, not the device's
    /// failure, and a check nobody made must never pass silently.
    OnTimeout on_timeout = OnTimeout::error;
};

/// One question a run puts to the technician.
struct PromptRequest {
    std::int64_t run_id = 0;
    std::string scenario_id;
    int iteration = 0;   ///< 0-based
    int step_index = 0;  ///< 0-based
    PromptSpec spec;
    std::chrono::microseconds timeout{};  ///< how long to wait for an answer
};

/// A file (photo) that came with an answer; the content stays with the Prompter.
struct PromptAttachment {
    std::string name;
    std::int64_t size = 0;  ///< [bytes]
    std::string sha256;     ///< lower-case hex of the content
};

/// How a question ended.
struct PromptReply {
    enum class Status { answered, timed_out, stopped };
    Status status = Status::timed_out;
    std::int64_t prompt_id = 0;  ///< the stored prompt
    std::string answer;          ///< answered: canonical text, as parse_answer gives it
    std::string answered_by;
    std::string comment;
    std::optional<PromptAttachment> attachment;
};

/// Puts questions to the technicians of a station (RunControl::prompter).
class Prompter {
public:
    virtual ~Prompter() = default;
    /// Puts the question and waits up to request.timeout for an answer; ends early with
    /// status `stopped` once control.stop_requested. An answer is durable before this
    /// returns it. Throws when the question cannot be put or recorded (store failure).
    virtual sdk::Task<PromptReply> ask(const PromptRequest& request, const RunControl& control) = 0;
};

/// An answer read against its question.
struct ParsedAnswer {
    sdk::Value value;   ///< confirm: bool; number: double in spec.unit; else the text
    std::string text;   ///< canonical: "yes"/"no", the declared choice, the number
    std::string error;  ///< non-empty: not a valid answer to this question, and why
};

/// Checks `answer` (as a technician typed it) against the question. A photo or file
/// prompt needs an attachment; its text is optional.
[[nodiscard]] ParsedAnswer parse_answer(const PromptSpec& spec, std::string_view answer, bool has_attachment);

/// The step outcome for a reply: a confirm "no", a failing choice or a number out of
/// limits fail (the device's fault, with the technician's comment); nobody answering
/// follows spec.on_timeout; a withdrawn prompt is `aborted` (the runner words that
/// reason itself, with the stop's).
struct PromptVerdict {
    record::Outcome outcome = record::Outcome::pass;
    std::string reason;
};
[[nodiscard]] PromptVerdict judge(const PromptSpec& spec, const PromptReply& reply,
                                  std::chrono::microseconds timeout);

/// The step values of an answered prompt (for the record and `save:`): answer,
/// answered_by, comment, prompt_id and, with an attachment, attachment_name,
/// attachment_size, attachment_sha256.
[[nodiscard]] sdk::Values answer_values(const PromptSpec& spec, const PromptReply& reply);

/// What `save:` of a prompt step of this kind offers to `when:` guards (the results
/// answer_values fills), as an action spec so guards are checked like a call's.
[[nodiscard]] const sdk::ActionSpec& prompt_results(PromptKind kind);

}  // namespace certlab::engine
