#include "engine/prompt.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "engine/units.hpp"

namespace certlab::engine {
namespace {

constexpr std::array<std::string_view, 6> kind_names{"confirm", "choice", "number", "text", "photo", "file"};
constexpr std::array<std::string_view, 3> policy_names{"skip", "fail", "error"};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s) {
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return std::string(s);
}

std::string show(double v, const std::string& unit) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return unit.empty() ? std::string(buf) : std::string(buf) + " " + unit;
}

std::string listed(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

std::string duration_text(std::chrono::microseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g s", std::chrono::duration<double>(d).count());
    return buf;
}

/// " (comment: ...)" or "".
std::string comment_note(const PromptReply& reply) {
    return reply.comment.empty() ? std::string() : " (comment: " + reply.comment + ")";
}

std::string by_note(const PromptReply& reply) {
    return reply.answered_by.empty() ? std::string() : " by " + reply.answered_by;
}

sdk::ActionSpec results_of(PromptKind kind) {
    using T = sdk::ValueType;
    T answer_type = T::string;
    if (kind == PromptKind::confirm) answer_type = T::boolean;
    if (kind == PromptKind::number) answer_type = T::number;
    sdk::ActionSpec a;
    a.capability = "prompt";
    a.name = std::string(to_string(kind));
    a.doc = "the technician's answer";
    a.results = {{"answer", answer_type, "", "the answer"},
                 {"answered_by", T::string, "", "who answered"},
                 {"comment", T::string, "", "the technician's comment"},
                 {"prompt_id", T::integer, "", "the stored prompt"},
                 {"attachment_name", T::string, "", "photo or file answers"},
                 {"attachment_size", T::integer, "B", "photo or file answers"},
                 {"attachment_sha256", T::string, "", "photo or file answers"}};
    return a;
}

}  // namespace

std::string_view to_string(PromptKind k) { return kind_names.at(static_cast<std::size_t>(k)); }

std::optional<PromptKind> parse_prompt_kind(std::string_view s) {
    for (std::size_t i = 0; i < kind_names.size(); ++i)
        if (kind_names[i] == s) return static_cast<PromptKind>(i);
    return std::nullopt;
}

std::string_view to_string(OnTimeout p) { return policy_names.at(static_cast<std::size_t>(p)); }

std::optional<OnTimeout> parse_on_timeout(std::string_view s) {
    for (std::size_t i = 0; i < policy_names.size(); ++i)
        if (policy_names[i] == s) return static_cast<OnTimeout>(i);
    return std::nullopt;
}

ParsedAnswer parse_answer(const PromptSpec& spec, std::string_view answer, bool has_attachment) {
    ParsedAnswer p;
    const std::string text = trim(answer);
    switch (spec.kind) {
        case PromptKind::confirm: {
            const auto word = lower(text);
            if (word == "yes" || word == "y" || word == "true") {
                p.value = true;
                p.text = "yes";
            } else if (word == "no" || word == "n" || word == "false") {
                p.value = false;
                p.text = "no";
            } else {
                p.error = "a confirm prompt is answered yes or no, not '" + text + "'";
            }
            break;
        }
        case PromptKind::choice: {
            // Case does not matter to a person; the record keeps the declared spelling.
            auto it = std::find_if(spec.choices.begin(), spec.choices.end(),
                                   [&](const std::string& c) { return lower(c) == lower(text); });
            if (it == spec.choices.end()) {
                p.error = "'" + text + "' is not one of the choices offered (" + listed(spec.choices) + ")";
            } else {
                p.value = *it;
                p.text = *it;
            }
            break;
        }
        case PromptKind::number: {
            auto q = parse_quantity(text);
            if (!q || !std::isfinite(q->value)) {
                p.error = "a number prompt is answered with a number";
                if (!spec.unit.empty()) p.error += " in " + spec.unit;
                p.error += ", not '" + text + "'";
                break;
            }
            double v = q->value;
            if (!q->unit.empty() && q->unit != spec.unit) {
                auto c = convert(q->value, q->unit, spec.unit);
                if (!c) {
                    p.error = "'" + text + "' is not in a unit comparable with " +
                              (spec.unit.empty() ? std::string("a plain number") : spec.unit);
                    break;
                }
                v = *c;
            }
            p.value = sdk::Value(v, spec.unit);
            char buf[48];
            std::snprintf(buf, sizeof buf, "%.10g", v);
            p.text = buf;
            break;
        }
        case PromptKind::text:
            if (text.empty()) p.error = "a text prompt needs a non-empty answer";
            p.value = text;
            p.text = text;
            break;
        case PromptKind::photo:
        case PromptKind::file:
            if (!has_attachment)
                p.error = std::string("a ") + std::string(to_string(spec.kind)) + " prompt is answered with an attachment";
            p.value = text;
            p.text = text;
            break;
    }
    return p;
}

PromptVerdict judge(const PromptSpec& spec, const PromptReply& reply, std::chrono::microseconds timeout) {
    PromptVerdict v;
    if (reply.status == PromptReply::Status::stopped) {
        v.outcome = record::Outcome::aborted;
        v.reason = "the prompt was withdrawn before anyone answered";
        return v;
    }
    if (reply.status == PromptReply::Status::timed_out) {
        const std::string why = "no answer from the technician within " + duration_text(timeout) +
                                " (on_timeout: " + std::string(to_string(spec.on_timeout)) + ")";
        switch (spec.on_timeout) {
            case OnTimeout::skip: v.outcome = record::Outcome::skipped; break;
            case OnTimeout::fail: v.outcome = record::Outcome::fail; break;
            case OnTimeout::error: v.outcome = record::Outcome::error; break;
        }
        v.reason = why;
        return v;
    }
    const auto parsed = parse_answer(spec, reply.answer, reply.attachment.has_value());
    if (!parsed.error.empty()) {
        // The desk validates before it accepts; reaching here is the station's bug.
        v.outcome = record::Outcome::error;
        v.reason = "the recorded answer is not valid: " + parsed.error;
        return v;
    }
    switch (spec.kind) {
        case PromptKind::confirm:
            if (!std::get<bool>(parsed.value.data)) {
                v.outcome = record::Outcome::fail;
                v.reason = "technician answered no" + by_note(reply) + comment_note(reply);
            }
            break;
        case PromptKind::choice:
            if (std::find(spec.fail_on.begin(), spec.fail_on.end(), parsed.text) != spec.fail_on.end()) {
                v.outcome = record::Outcome::fail;
                v.reason = "technician chose '" + parsed.text + "'" + by_note(reply) + comment_note(reply);
            }
            break;
        case PromptKind::number: {
            const double x = std::get<double>(parsed.value.data);
            if (spec.min && x < *spec.min) {
                v.outcome = record::Outcome::fail;
                v.reason = "answer " + show(x, spec.unit) + " is below the limit of " + show(*spec.min, spec.unit) +
                           by_note(reply) + comment_note(reply);
            } else if (spec.max && x > *spec.max) {
                v.outcome = record::Outcome::fail;
                v.reason = "answer " + show(x, spec.unit) + " is above the limit of " + show(*spec.max, spec.unit) +
                           by_note(reply) + comment_note(reply);
            }
            break;
        }
        default: break;
    }
    return v;
}

sdk::Values answer_values(const PromptSpec& spec, const PromptReply& reply) {
    sdk::Values out;
    out["prompt_id"] = sdk::Value(reply.prompt_id);
    if (reply.status != PromptReply::Status::answered) return out;
    out["answer"] = parse_answer(spec, reply.answer, reply.attachment.has_value()).value;
    out["answered_by"] = reply.answered_by;
    out["comment"] = reply.comment;
    if (reply.attachment) {
        out["attachment_name"] = reply.attachment->name;
        out["attachment_size"] = sdk::Value(reply.attachment->size, "B");
        out["attachment_sha256"] = reply.attachment->sha256;
    }
    return out;
}

const sdk::ActionSpec& prompt_results(PromptKind kind) {
    static const std::array<sdk::ActionSpec, kind_names.size()> specs{
        results_of(PromptKind::confirm), results_of(PromptKind::choice), results_of(PromptKind::number),
        results_of(PromptKind::text),    results_of(PromptKind::photo),  results_of(PromptKind::file)};
    return specs.at(static_cast<std::size_t>(kind));
}

}  // namespace certlab::engine
