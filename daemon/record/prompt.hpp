// The record of technician prompts (schema version 4): the question a run put to the
// bench, and how it ended. Plain data; the store persists it (store_prompts.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "record/model.hpp"

namespace certlab::record {

/// open until answered, timed out, withdrawn (cancelled: the run stopped) or found
/// open at start (interrupted: the daemon died while it waited).
enum class PromptStatus { open, answered, timed_out, cancelled, interrupted };
[[nodiscard]] std::string_view to_string(PromptStatus s);
[[nodiscard]] std::optional<PromptStatus> parse_prompt_status(std::string_view s);

struct AttachmentInfo {
    std::string name;
    std::int64_t size = 0;  ///< [bytes]
    std::string sha256;     ///< lower-case hex of the content
};

struct Prompt {
    std::int64_t id = 0;
    std::int64_t run_id = 0;
    std::string device_id;  ///< the run's device under test (read only: from the run)
    std::string scenario_id;
    int iteration = 0;   ///< 0-based
    int step_index = 0;  ///< 0-based
    std::string kind;    ///< confirm, choice, number, text, photo, file
    std::string message;
    std::vector<std::string> choices;
    std::vector<std::string> fail_on;
    std::optional<double> min;  ///< [unit]
    std::optional<double> max;  ///< [unit]
    std::string unit;
    std::string on_timeout;  ///< skip, fail, error
    PromptStatus status = PromptStatus::open;
    TimePoint opened_at{};
    TimePoint deadline{};
    std::optional<TimePoint> closed_at;
    std::optional<std::string> answer;  ///< canonical text; set when answered
    std::string answered_by;
    std::string comment;
    std::string close_reason;  ///< timed out, cancelled, interrupted: why
    std::optional<AttachmentInfo> attachment;
};

/// What a technician answered; the answer text is already valid for the prompt.
struct PromptAnswer {
    std::string answer;
    std::string by;
    std::string comment;
    TimePoint at{};
};

/// A file that came with an answer (a photo of the receipt, say).
struct Attachment {
    std::string name;
    std::string content;  ///< the bytes
};

}  // namespace certlab::record
