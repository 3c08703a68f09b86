#include "record/certification.hpp"

#include <array>
#include <utility>

namespace certlab::record {

namespace {

// Spelled exactly as stored (CHECK constraints of schema version 3) and as the API
// shows them, so these strings are part of the record's format.
constexpr std::array<std::pair<Phase, std::string_view>, 5> phase_names{{
    {Phase::intake, "intake"},
    {Phase::lab, "lab"},
    {Phase::certified, "certified"},
    {Phase::pilot, "pilot"},
    {Phase::ga, "ga"},
}};
constexpr std::array<std::pair<Verdict, std::string_view>, 2> verdict_names{{
    {Verdict::certified, "certified"},
    {Verdict::rejected, "rejected"},
}};
constexpr std::array<std::pair<Severity, std::string_view>, 3> severity_names{{
    {Severity::critical, "critical"},
    {Severity::major, "major"},
    {Severity::minor, "minor"},
}};
constexpr std::array<std::pair<IssueStatus, std::string_view>, 2> issue_status_names{{
    {IssueStatus::open, "open"},
    {IssueStatus::closed, "closed"},
}};
constexpr std::array<std::pair<IssueSource, std::string_view>, 3> issue_source_names{{
    {IssueSource::failure, "failure"},
    {IssueSource::rejection, "rejection"},
    {IssueSource::manual, "manual"},
}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E v) {
    for (const auto& [value, name] : names)
        if (value == v) return name;
    return names.front().second;
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view s) {
    for (const auto& [value, name] : names)
        if (name == s) return value;
    return std::nullopt;
}

}  // namespace

std::string_view to_string(Phase p) { return name_of(phase_names, p); }
std::string_view to_string(Verdict v) { return name_of(verdict_names, v); }
std::string_view to_string(Severity s) { return name_of(severity_names, s); }
std::string_view to_string(IssueStatus s) { return name_of(issue_status_names, s); }
std::string_view to_string(IssueSource s) { return name_of(issue_source_names, s); }

std::optional<Phase> parse_phase(std::string_view s) {
    std::string lower(s);
    for (auto& c : lower)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return value_of(phase_names, lower);
}
std::optional<Verdict> parse_verdict(std::string_view s) { return value_of(verdict_names, s); }
std::optional<Severity> parse_severity(std::string_view s) { return value_of(severity_names, s); }
std::optional<IssueStatus> parse_issue_status(std::string_view s) { return value_of(issue_status_names, s); }
std::optional<IssueSource> parse_issue_source(std::string_view s) { return value_of(issue_source_names, s); }

}  // namespace certlab::record
