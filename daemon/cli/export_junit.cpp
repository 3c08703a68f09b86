// JUnit XML of a certification export, for partners' CI (tests/schemas/junit.xsd):
// a testsuite per run, a testcase per scenario result. Only `fail` is a <failure>
// (the device did the wrong thing); the station's and the link's faults are <error>,
// so a CI never blames the device for a bench problem.
#include <cstdio>
#include <sstream>

#include "cli/export.hpp"
#include "cli/export_text.hpp"

namespace certlab::cli {

namespace {

using namespace exporting;

constexpr std::size_t max_transcript_bytes = 4096;  ///< per transcript entry in <system-out>

std::string str(const Json& obj, const char* key) {
    if (!obj.is_object()) return {};
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

/// Seconds between two station times, "0.000" when either is missing.
std::string seconds_between(const Json& from, const Json& to) {
    auto a = parse_time_ms(from.is_string() ? from.get<std::string>() : "");
    auto b = parse_time_ms(to.is_string() ? to.get<std::string>() : "");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", a && b && *b > *a ? static_cast<double>(*b - *a) / 1000.0 : 0.0);
    return buf;
}

enum class Kind { passed, failure, error, skipped };

/// What JUnit calls a scenario result, and its message type.
std::pair<Kind, std::string> classify(const Json& scenario, const Json& run) {
    const auto outcome = str(scenario, "outcome");
    if (outcome == "pass") return {Kind::passed, "pass"};
    if (outcome == "fail") return {Kind::failure, "fail"};
    if (outcome == "skipped") return {Kind::skipped, "skipped"};
    if (!outcome.empty()) return {Kind::error, outcome};
    // No outcome: still running, or cut short by a stop the run never came back from.
    const auto status = str(run, "status");
    if (status == "queued" || status == "running") return {Kind::skipped, "not finished"};
    return {Kind::error, "interrupted"};
}

std::string value_text(const Json& v) {
    std::string out = v.value("value", Json()).is_string() ? v["value"].get<std::string>() : v.value("value", Json()).dump();
    if (auto unit = str(v, "unit"); !unit.empty()) out += " " + unit;
    return out;
}

std::string step_heading(const Json& s) {
    std::ostringstream out;
    out << "#" << str(s, "seq") << " " << str(s, "phase") << " iteration " << str(s, "iteration") << " step "
        << str(s, "index");
    if (s.value("attempt", 1) > 1) out << " attempt " << str(s, "attempt");
    out << ": " << str(s, "kind");
    if (auto a = str(s, "action"); !a.empty()) out << " " << a;
    if (auto r = str(s, "role"); !r.empty() && r != "dut") out << " on " << r;
    return out.str();
}

std::string step_lines(const Json& s) {
    std::ostringstream out;
    out << step_heading(s) << " -> " << str(s, "outcome") << " (" << number(s.value("duration_us", 0.0) / 1000.0)
        << " ms)";
    if (auto r = str(s, "reason"); !r.empty()) out << ": " << r;
    if (auto w = str(s, "warning"); !w.empty()) out << " [warning: " << w << "]";
    out << '\n';
    // Named copies: items() refers to its object, which must outlive the loop.
    const auto args = s.value("args", Json::object()), values = s.value("values", Json::object());
    for (const auto& [name, v] : args.items()) out << "    arg " << name << " = " << value_text(v) << '\n';
    for (const auto& [name, v] : values.items()) out << "    got " << name << " = " << value_text(v) << '\n';
    for (const auto& m : s.value("measurements", Json::array())) {
        out << "    measure " << str(m, "name") << " = " << str(m, "value") << " " << str(m, "unit") << " (limits "
            << (m.value("low", Json()).is_null() ? "-" : str(m, "low")) << " .. "
            << (m.value("high", Json()).is_null() ? "-" : str(m, "high")) << ")"
            << (m.value("within", true) ? "" : " OUT OF LIMITS") << (m.value("marginal", false) ? " marginal" : "")
            << '\n';
    }
    for (const auto& e : s.value("transcript", Json::array())) {
        auto bytes = base64_decode(str(e, "data")).value_or("<undecodable>");
        const auto dir = str(e, "dir");
        const char* mark = dir == "tx" ? "> " : dir == "rx" ? "< " : "# ";
        std::string shown = dir == "note" ? bytes : printable(bytes.substr(0, max_transcript_bytes));
        out << "    " << mark << shown;
        if (dir != "note" && bytes.size() > max_transcript_bytes)
            out << " ... (" << bytes.size() - max_transcript_bytes << " more bytes, in the JSON export)";
        out << '\n';
    }
    return out.str();
}

/// The first step that decided the scenario's outcome: not passed, not skipped, not retried.
const Json* deciding_step(const Json& scenario, const std::string& outcome) {
    for (const auto& s : list(scenario, "steps"))
        if (str(s, "outcome") == outcome && !s.value("retried", false)) return &s;
    return nullptr;
}

struct Counts {
    int tests = 0, failures = 0, errors = 0, skipped = 0;
};

std::string testcase(const Json& scenario, const Json& run, Counts& counts) {
    auto [kind, type] = classify(scenario, run);
    ++counts.tests;
    const auto suite = str(run, "suite");
    std::string out = "    <testcase classname=\"" + xml_attr(suite) + "\" name=\"" +
                      xml_attr(str(scenario, "scenario") + " " + str(scenario, "title")) + "\" time=\"" +
                      seconds_between(scenario.value("started_at", Json()), scenario.value("ended_at", Json())) +
                      "\">\n";
    auto reason = str(scenario, "reason");
    if (reason.empty()) reason = type;
    if (kind == Kind::failure || kind == Kind::error) {
        const char* element = kind == Kind::failure ? "failure" : "error";
        (kind == Kind::failure ? counts.failures : counts.errors)++;
        std::string body;
        if (const Json* step = deciding_step(scenario, type)) body = "failing step " + step_lines(*step);
        if (scenario.value("iterations_planned", 1) > 1)
            body += "soak: " + str(scenario, "passed_iterations") + " of " + str(scenario, "iterations") +
                    " iterations passed (" + str(scenario, "iterations_planned") + " planned)\n";
        out += std::string("      <") + element + " message=\"" + xml_attr(reason) + "\" type=\"" + xml_attr(type) +
               "\">" + xml_text(body) + "</" + element + ">\n";
    } else if (kind == Kind::skipped) {
        ++counts.skipped;
        out += "      <skipped message=\"" + xml_attr(reason) + "\"/>\n";
    }
    std::string steps;
    for (const auto& s : list(scenario, "steps")) steps += step_lines(s);
    if (!steps.empty()) out += "      <system-out>" + xml_text(steps) + "</system-out>\n";
    out += "    </testcase>\n";
    return out;
}

std::string property(const std::string& name, const std::string& value) {
    return "      <property name=\"" + xml_attr(name) + "\" value=\"" + xml_attr(value) + "\"/>\n";
}

}  // namespace

std::string render_junit(const Json& doc) {
    const auto& cert = doc.value("certification", Json::object());
    Counts total;
    std::string suites;
    double total_time = 0;
    for (const auto& entry : list(doc, "runs")) {
        const auto& run = entry.value("run", Json::object());
        const auto& prov = run.value("provenance", Json::object());
        Counts counts;
        std::string cases;
        for (const auto& s : list(entry, "scenarios")) cases += testcase(s, run, counts);
        const auto time = seconds_between(run.value("started_at", Json()), run.value("ended_at", Json()));
        total_time += std::stod(time);
        std::string props = property("certification", str(cert, "id")) + property("run", str(run, "id")) +
                            property("device", str(run, "device")) + property("suite_title", str(run, "suite_title")) +
                            property("suite_file", str(entry, "suite_file")) +
                            property("suite_hash", str(run, "suite_hash")) + property("status", str(run, "status")) +
                            property("outcome", str(run, "outcome")) + property("reason", str(run, "reason")) +
                            property("certlab_version", str(prov, "certlab_version")) +
                            property("driver", str(prov, "driver")) + property("firmware", str(prov, "firmware")) +
                            property("serial_number", str(cert, "serial_number"));
        const auto bindings = prov.value("roles", Json::object());  // items() must not outlive it
        for (const auto& [role, b] : bindings.items())
            props += property("role." + role, str(b, "device") + " (" + str(b, "driver") + ", firmware " +
                                                  str(b, "firmware") + ")");
        std::string suite = "  <testsuite name=\"" + xml_attr(str(run, "suite")) + "\" id=\"" + xml_attr(str(run, "id")) +
                            "\" tests=\"" + std::to_string(counts.tests) + "\" failures=\"" +
                            std::to_string(counts.failures) + "\" errors=\"" + std::to_string(counts.errors) +
                            "\" skipped=\"" + std::to_string(counts.skipped) + "\" time=\"" + time + "\"";
        if (auto ts = junit_timestamp(str(run, "started_at")); !ts.empty()) suite += " timestamp=\"" + ts + "\"";
        suite += " hostname=\"" + xml_attr(str(entry, "station")) + "\">\n    <properties>\n" + props +
                 "    </properties>\n" + cases + "  </testsuite>\n";
        suites += suite;
        total.tests += counts.tests;
        total.failures += counts.failures;
        total.errors += counts.errors;
        total.skipped += counts.skipped;
    }
    char time[32];
    std::snprintf(time, sizeof time, "%.3f", total_time);
    std::string name = "certification " + str(cert, "id") + ": " + str(cert, "partner") + " / " +
                       str(cert, "integration") + " (" + str(cert, "device_model") + ")";
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"" + xml_attr(name) + "\" tests=\"" +
           std::to_string(total.tests) + "\" failures=\"" + std::to_string(total.failures) + "\" errors=\"" +
           std::to_string(total.errors) + "\" time=\"" + time + "\">\n" + suites + "</testsuites>\n";
}

}  // namespace certlab::cli
