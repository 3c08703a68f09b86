// The certification report: one self-contained HTML file (inline CSS and SVG, no
// script, nothing fetched) that a partner and an evaluator read and print. Sections:
// verdict, certification, required scenarios with their evidence, soak charts,
// outstanding issues with next steps, sign-offs, runs with provenance, pilot.
#include <map>

#include "cli/export.hpp"
#include "cli/export_html.hpp"
#include "cli/export_text.hpp"

namespace certlab::cli {

namespace report {

using namespace exporting;

std::string str(const Json& obj, const char* key) {
    if (!obj.is_object()) return {};
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string cell(const Json& obj, const char* key) {
    auto s = str(obj, key);
    return s.empty() ? "—" : xml_text(s);
}

std::string pill(const std::string& word) {
    static const std::map<std::string, std::string> tone{
        {"pass", "good"},        {"certified", "good"},   {"completed", "neutral"}, {"ga", "good"},
        {"pilot", "good"},       {"passed", "info"},      {"running", "info"},      {"lab", "info"},
        {"intake", "neutral"},   {"fail", "bad"},         {"failed", "bad"},        {"rejected", "bad"},
        {"critical", "bad"},     {"major", "warn"},       {"minor", "neutral"},     {"error", "warn"},
        {"timeout", "warn"},     {"aborted", "warn"},     {"interrupted", "warn"},  {"inconclusive", "warn"},
        {"skipped", "neutral"},  {"not_run", "neutral"},  {"open", "bad"},          {"closed", "neutral"}};
    auto it = tone.find(word);
    std::string label = word == "not_run" ? "not run" : word;
    return "<span class=\"pill pill-" + (it == tone.end() ? std::string("neutral") : it->second) + "\">" +
           xml_text(label.empty() ? "—" : label) + "</span>";
}

const Json* find_result(const Json& doc, const Json& result_id) {
    if (result_id.is_null()) return nullptr;
    for (const auto& entry : list(doc, "runs"))
        for (const auto& s : list(entry, "scenarios"))
            if (member(s, "result_id") == result_id) return &s;
    return nullptr;
}

}  // namespace report

namespace {

using namespace exporting;
using report::cell;
using report::pill;
using report::str;

const char* stylesheet = R"css(
:root { --ink:#1d2733; --muted:#5b6673; --line:#d9dee4; --soft:#f4f6f8; --good:#1a7f37; --bad:#b42318;
        --warn:#b25e00; --info:#1f5fa8; }
* { box-sizing:border-box; }
html { -webkit-print-color-adjust:exact; print-color-adjust:exact; }
body { margin:0; background:#e9edf1; color:var(--ink); font:14px/1.5 "DejaVu Sans","Liberation Sans",Helvetica,Arial,sans-serif; }
.report { max-width:1120px; margin:24px auto; background:#fff; padding:40px 48px 32px; box-shadow:0 1px 4px rgba(0,0,0,.12); }
.masthead { border-bottom:3px solid var(--ink); padding-bottom:16px; margin-bottom:20px; display:flex; justify-content:space-between; gap:24px; align-items:flex-end; }
.kicker { text-transform:uppercase; letter-spacing:.12em; font-size:11px; color:var(--muted); font-weight:600; }
h1 { font-size:28px; margin:4px 0 2px; line-height:1.2; }
h2 { font-size:17px; margin:32px 0 10px; padding-bottom:4px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:18px 0 8px; }
.sub { margin:0; color:var(--muted); font-size:15px; }
.doc-meta { text-align:right; font-size:12px; color:var(--muted); white-space:nowrap; }
.doc-meta b { color:var(--ink); font-weight:600; }
.verdict { border-radius:6px; padding:16px 20px; border-left:8px solid; display:grid; grid-template-columns:1fr auto; gap:4px 24px; }
.verdict-good { background:#eaf6ee; border-color:var(--good); } .verdict-bad { background:#fdeceb; border-color:var(--bad); }
.verdict-warn { background:#fff5e6; border-color:var(--warn); }
.verdict-label { font-size:11px; text-transform:uppercase; letter-spacing:.12em; color:var(--muted); font-weight:600; }
.verdict-text { font-size:21px; font-weight:700; grid-column:1; }
.verdict-detail { grid-column:1; color:var(--ink); }
.verdict-phase { grid-column:2; grid-row:1 / span 3; text-align:right; align-self:center; }
.verdict-phase .pill { font-size:15px; padding:4px 14px; }
.bar { display:flex; height:10px; border-radius:5px; overflow:hidden; margin:10px 0 2px; grid-column:1 / span 2; background:var(--soft); }
.bar span { display:block; height:100%; }
.legend { grid-column:1 / span 2; font-size:12px; color:var(--muted); }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin:0 4px 0 12px; vertical-align:-1px; }
.legend i:first-child { margin-left:0; }
.facts { display:grid; grid-template-columns:repeat(3, 1fr); gap:10px 24px; margin:0; }
.facts div { border-top:1px solid var(--line); padding-top:6px; }
.facts dt { font-size:11px; text-transform:uppercase; letter-spacing:.08em; color:var(--muted); }
.facts dd { margin:2px 0 0; font-weight:600; word-break:break-word; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; font-size:11px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); font-weight:600; border-bottom:2px solid var(--line); padding:6px 8px; }
td { border-bottom:1px solid var(--line); padding:7px 8px; vertical-align:top; }
tbody tr:nth-child(even) td { background:#fafbfc; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
table.compact { width:auto; margin:8px 0; } table.compact td, table.compact th { padding:3px 10px; }
code, .mono { font-family:"DejaVu Sans Mono","Liberation Mono",monospace; font-size:12px; }
.hash { font-family:"DejaVu Sans Mono",monospace; font-size:11px; word-break:break-all; color:var(--muted); }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; white-space:nowrap; border:1px solid; }
.pill-good { color:var(--good); background:#eaf6ee; border-color:#b7dfc3; } .pill-bad { color:var(--bad); background:#fdeceb; border-color:#f4c4bf; }
.pill-warn { color:var(--warn); background:#fff5e6; border-color:#f3d3a4; } .pill-info { color:var(--info); background:#eaf1fa; border-color:#bcd2ec; }
.pill-neutral { color:var(--muted); background:var(--soft); border-color:var(--line); }
.muted { color:var(--muted); font-weight:400; }
.reason { color:var(--muted); font-size:12px; margin-top:2px; }
.measure { white-space:nowrap; } .measure.out { color:var(--bad); font-weight:600; } .measure.marginal { color:var(--warn); }
.issue { border:1px solid var(--line); border-left:5px solid var(--warn); border-radius:4px; padding:10px 14px; margin:10px 0; break-inside:avoid; }
.issue.sev-critical { border-left-color:var(--bad); } .issue.sev-minor { border-left-color:var(--line); }
.issue h3 { margin:0 0 4px; font-size:14px; }
.issue .next { white-space:pre-line; background:var(--soft); padding:8px 12px; border-radius:4px; margin-top:6px; }
.issue .next b { display:block; font-size:11px; text-transform:uppercase; letter-spacing:.08em; color:var(--muted); }
.soak { border:1px solid var(--line); border-radius:6px; padding:4px 18px 12px; margin:12px 0; break-inside:avoid; }
.stats { display:flex; gap:28px; margin:6px 0 4px; }
.stat-value { font-size:20px; font-weight:700; } .stat-label { font-size:11px; color:var(--muted); text-transform:uppercase; letter-spacing:.06em; }
.charts { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
figure { margin:0; } svg.chart { width:100%; height:auto; display:block; }
.note { font-size:12px; color:var(--muted); margin:6px 0 0; }
.empty { color:var(--muted); font-style:italic; }
footer { margin-top:32px; padding-top:10px; border-top:1px solid var(--line); font-size:11px; color:var(--muted); display:flex; justify-content:space-between; }
@page { size:A4; margin:14mm 12mm; }
@media print {
  body { background:#fff; font-size:11px; }
  .report { box-shadow:none; margin:0; padding:0; max-width:none; }
  h2 { break-after:avoid; } tr, .verdict, figure { break-inside:avoid; }
  thead { display:table-header-group; }
}
)css";

struct Verdict {
    std::string tone;  ///< good, bad, warn
    std::string text;
};

Verdict verdict(const Json& cert, const Json& sum) {
    const auto phase = str(cert, "phase");
    const auto total = sum.value("scenarios_total", 0), certified = sum.value("certified", 0);
    const auto failed = sum.value("failed", 0), rejected = sum.value("rejected", 0);
    if (phase == "ga") return {"good", "Certified — generally available"};
    if (phase == "pilot") return {"good", "Certified — in pilot with merchants"};
    if (phase == "certified") return {"good", "Certified"};
    if (failed + rejected > 0) {
        std::string why = std::to_string(failed + rejected) + " required scenario" + (failed + rejected == 1 ? "" : "s") +
                          (failed && rejected ? " failed or rejected" : failed ? " failed" : " rejected");
        return {"bad", "Not certified — " + why};
    }
    if (total > 0 && certified == total) return {"good", "Every required scenario certified — ready for phase certified"};
    return {"warn", "In progress — " + std::to_string(certified) + " of " + std::to_string(total) +
                        " required scenarios certified"};
}

std::string verdict_section(const Json& doc) {
    const auto& cert = doc.value("certification", Json::object());
    const auto& sum = doc.value("summary", Json::object());
    auto v = verdict(cert, sum);
    std::string out = "<section class=\"verdict verdict-" + v.tone + "\" id=\"verdict\">\n<div class=\"verdict-label\">Verdict</div>\n";
    out += "<div class=\"verdict-text\">" + xml_text(v.text) + "</div>\n<div class=\"verdict-detail\">" +
           cell(sum, "certified") + " of " + cell(sum, "scenarios_total") + " required scenarios certified · " +
           cell(sum, "passed") + " awaiting sign-off · " + cell(sum, "open_issues") + " open issue(s)";
    const auto& next = sum.value("next_phase", Json());
    if (next.is_object()) {
        out += "<br>Next phase <b>" + cell(next, "phase") + "</b>: ";
        out += next.value("allowed", false) ? std::string("open") : xml_text(str(next, "blocked_by"));
    }
    out += "</div>\n<div class=\"verdict-phase\"><div class=\"verdict-label\">Phase</div>" + pill(str(cert, "phase")) +
           "</div>\n";
    // The plan at a glance: one segment per status, as wide as its share.
    static const std::pair<const char*, const char*> segments[] = {
        {"certified", "#1a7f37"}, {"passed", "#1f5fa8"},      {"failed", "#b42318"},
        {"rejected", "#7a1a12"},  {"inconclusive", "#b25e00"}, {"not_run", "#c5ccd4"}};
    const double total = std::max(1, sum.value("scenarios_total", 0));
    std::string bar, legend;
    for (auto [status, colour] : segments) {
        int n = sum.value(status, 0);
        if (n == 0) continue;
        bar += "<span style=\"width:" + number(100.0 * n / total, 5) + "%;background:" + colour + "\"></span>";
        legend += std::string("<i style=\"background:") + colour + "\"></i>" + std::to_string(n) + " " +
                  (std::string(status) == "not_run" ? "not run" : status);
    }
    out += "<div class=\"bar\">" + bar + "</div>\n<div class=\"legend\">" + legend + "</div>\n</section>\n";
    return out;
}

std::string fact(const char* label, const std::string& value) {
    return std::string("<div><dt>") + label + "</dt><dd>" + (value.empty() ? "—" : value) + "</dd></div>";
}

std::string join(const Json& list) {
    std::string out;
    for (const auto& x : list)
        if (x.is_string()) out += (out.empty() ? "" : ", ") + x.get<std::string>();
    return out;
}

std::string facts_section(const Json& doc) {
    const auto& c = doc.value("certification", Json::object());
    return "<section id=\"certification\">\n<h2>Certification</h2>\n<dl class=\"facts\">" +
           fact("Partner", cell(c, "partner")) + fact("Integration", cell(c, "integration")) +
           fact("Device model", cell(c, "device_model")) + fact("Serial number", cell(c, "serial_number")) +
           fact("Firmware at intake", cell(c, "firmware")) + fact("Station device", cell(c, "device")) +
           fact("API permissions", xml_text(join(c.value("permissions", Json::array())))) +
           fact("Capabilities", xml_text(join(c.value("capabilities", Json::array())))) +
           fact("Taken in", cell(c, "taken_in_by") + " · " + xml_text(readable_time(str(c, "created_at")))) +
           "</dl>\n</section>\n";
}

/// What a result measured, for the scenario table: each measurement with its limits;
/// a soak's pass rate and latency instead of its thousands of values.
std::string measurements_cell(const Json* result) {
    if (!result) return "—";
    if (const auto& stats = result->value("stats", Json()); stats.is_object()) {
        std::string out = "<span class=\"measure\">" + cell(*result, "passed_iterations") + " of " +
                          cell(*result, "iterations") + " iterations passed</span>";
        for (const auto& l : stats.value("latency", Json::array()))
            out += "<br><span class=\"measure\"><code>" + cell(l, "action") + "</code> p95 " + cell(l, "p95_ms") + " ms</span>";
        return out;
    }
    std::string out;
    int shown = 0, total = 0;
    for (const auto& s : list(*result, "steps"))
        for (const auto& m : list(s, "measurements")) {
            if (++total > 4) continue;
            ++shown;
            std::string limits;
            const auto& low = member(m, "low");
            const auto& high = member(m, "high");
            if (low.is_number()) limits += "≥ " + number(low.get<double>());
            if (high.is_number()) limits += (limits.empty() ? "≤ " : " … ") + number(high.get<double>());
            if (!limits.empty()) limits += " " + cell(m, "unit");
            const char* cls = !m.value("within", true) ? " out" : m.value("marginal", false) ? " marginal" : "";
            std::string value = m.value("value", Json()).is_number() ? number(m["value"].get<double>()) : cell(m, "value");
            out += std::string(out.empty() ? "" : "<br>") + "<span class=\"measure" + cls + "\">" + cell(m, "name") +
                   " " + value + " " + cell(m, "unit") + (limits.empty() ? "" : " <span class=\"muted\">(" + limits + ")</span>") +
                   "</span>";
        }
    if (total > shown) out += "<br><span class=\"muted\">and " + std::to_string(total - shown) + " more</span>";
    return out.empty() ? "—" : out;
}

std::string scenarios_section(const Json& doc) {
    const auto& plan = doc.value("plan", Json::array());
    const auto& cplan = doc.value("certification", Json::object()).value("plan", Json::array());
    std::string out = "<section id=\"scenarios\">\n<h2>Required scenarios</h2>\n";
    out += "<table id=\"scenario-table\"><thead><tr><th>Scenario</th><th>Status</th><th>Evidence</th>"
           "<th>Measurements</th><th>Reason · sign-off</th></tr></thead><tbody>\n";
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto& p = plan[i];
        const Json& meta = i < cplan.size() ? cplan[i] : Json::object();
        const auto& ev = p.value("evidence", Json()).is_object() ? p["evidence"] : p.value("latest", Json());
        const Json* result = ev.is_object() ? report::find_result(doc, ev.value("result_id", Json())) : nullptr;
        out += "<tr data-scenario=\"" + xml_attr(str(p, "scenario")) + "\" data-status=\"" + xml_attr(str(p, "status")) + "\">";
        out += "<td><b class=\"mono\">" + cell(p, "scenario") + "</b><div>" + cell(meta, "title") +
               "</div><div class=\"reason\">" + cell(meta, "suite") + " · " +
               xml_text(join(meta.value("permissions", Json::array()))) + "</div></td>";
        out += "<td>" + pill(str(p, "status")) + "</td>";
        if (ev.is_object())
            out += "<td>run " + cell(ev, "run") + " " + pill(str(ev, "outcome")) + "<div class=\"reason\">" +
                   xml_text(readable_time(str(ev, "ended_at"))) + " · " + cell(p, "attempts") + " attempt(s)</div></td>";
        else out += "<td class=\"empty\">not run yet</td>";
        out += "<td>" + measurements_cell(result) + "</td><td>";
        if (ev.is_object() && !str(ev, "reason").empty()) out += "<div>" + cell(ev, "reason") + "</div>";
        if (const auto& s = p.value("sign_off", Json()); s.is_object()) {
            out += "<div class=\"reason\">" + pill(str(s, "verdict")) + " by " + cell(s, "by") + ", " +
                   xml_text(readable_time(str(s, "at")));
            if (!str(s, "feedback").empty()) out += ": " + cell(s, "feedback");
            out += "</div>";
        }
        out += "</td></tr>\n";
    }
    if (plan.empty()) out += "<tr><td colspan=\"5\" class=\"empty\">The plan is empty.</td></tr>\n";
    return out + "</tbody></table>\n</section>\n";
}

std::string issues_section(const Json& doc) {
    std::string open, closed;
    for (const auto& i : doc.value("issues", Json::array())) {
        if (str(i, "status") == "open") {
            open += "<div class=\"issue sev-" + xml_attr(str(i, "severity")) + "\" data-issue=\"" + xml_attr(str(i, "id")) +
                    "\"><h3>" + pill(str(i, "severity")) + " Issue " + cell(i, "id") + ": " + cell(i, "title") +
                    "</h3><div class=\"reason\">" + cell(i, "source") + " · scenario " + cell(i, "scenario") +
                    " · run " + cell(i, "run") + " · raised by " + cell(i, "raised_by") + " in phase " +
                    cell(i, "phase") + ", " + xml_text(readable_time(str(i, "created_at"))) + "</div>";
            if (!str(i, "next_steps").empty())
                open += "<div class=\"next\"><b>Next steps</b>" + cell(i, "next_steps") + "</div>";
            open += "</div>\n";
        } else {
            closed += "<tr><td>" + cell(i, "id") + "</td><td>" + cell(i, "title") + "</td><td>" + cell(i, "resolution") +
                      "</td><td>" + cell(i, "closed_by") + "</td><td>" + xml_text(readable_time(str(i, "closed_at"))) +
                      "</td></tr>\n";
        }
    }
    std::string out = "<section id=\"issues\">\n<h2>Outstanding issues and next steps</h2>\n";
    out += open.empty() ? "<p class=\"empty\">No open issues.</p>\n" : open;
    if (!closed.empty())
        out += "<h3>Closed issues</h3><table><thead><tr><th>Issue</th><th>Title</th><th>Resolution</th><th>Closed "
               "by</th><th>Closed</th></tr></thead><tbody>\n" + closed + "</tbody></table>\n";
    return out + "</section>\n";
}

std::string signoffs_section(const Json& doc) {
    std::string rows;
    for (const auto& s : doc.value("sign_offs", Json::array()))
        rows += "<tr><td class=\"mono\">" + cell(s, "scenario") + "</td><td>" + pill(str(s, "verdict")) + "</td><td>" +
                cell(s, "by") + "</td><td>" + xml_text(readable_time(str(s, "at"))) + "</td><td>" + cell(s, "result_id") +
                "</td><td>" + cell(s, "feedback") + "</td></tr>\n";
    std::string out = "<section id=\"signoffs\">\n<h2>Sign-offs</h2>\n";
    if (rows.empty()) return out + "<p class=\"empty\">No evaluator has signed a result off yet.</p>\n</section>\n";
    return out + "<table><thead><tr><th>Scenario</th><th>Verdict</th><th>Evaluator</th><th>When</th><th>Result</th>"
                 "<th>Feedback</th></tr></thead><tbody>\n" + rows + "</tbody></table>\n</section>\n";
}

std::string runs_section(const Json& doc) {
    std::string rows;
    for (const auto& entry : list(doc, "runs")) {
        const auto& r = member(entry, "run");
        const auto& p = r.value("provenance", Json::object());
        std::string roles;
        const auto bindings = p.value("roles", Json::object());  // items() must not outlive it
        for (const auto& [role, b] : bindings.items())
            roles += "<div>" + xml_text(role) + ": " + cell(b, "device") + " · " + cell(b, "driver") + " · firmware " +
                     cell(b, "firmware") + "</div>";
        int passed = 0, total = 0;
        for (const auto& s : list(entry, "scenarios")) {
            ++total;
            passed += str(s, "outcome") == "pass";
        }
        rows += "<tr><td><b>" + cell(r, "id") + "</b></td><td><b>" + cell(r, "suite") + "</b><div class=\"reason\">" +
                cell(r, "suite_title") + "</div><div class=\"reason mono\">" + cell(entry, "suite_file") +
                "</div><div class=\"hash\">sha256 " + cell(r, "suite_hash") + "</div></td><td>" + pill(str(r, "status")) +
                " " + pill(str(r, "outcome")) + "<div class=\"reason\">" + std::to_string(passed) + " of " +
                std::to_string(total) + " scenarios passed</div>" +
                (str(r, "reason").empty() ? "" : "<div class=\"reason\">" + cell(r, "reason") + "</div>") +
                "</td><td>" + xml_text(readable_time(str(r, "started_at"))) + "<div class=\"reason\">to " +
                xml_text(readable_time(str(r, "ended_at"))) + "</div></td><td>" + cell(entry, "station") +
                "<div class=\"reason\">certlab " + cell(p, "certlab_version") + "</div></td><td>" + cell(r, "device") +
                "<div class=\"reason\">" + cell(p, "driver") + " · firmware " + cell(p, "firmware") + "</div>" +
                (roles.empty() ? "" : "<div class=\"reason\">" + roles + "</div>") + "</td></tr>\n";
    }
    std::string out = "<section id=\"runs\">\n<h2>Evidence runs and provenance</h2>\n";
    if (rows.empty()) return out + "<p class=\"empty\">No run for this certification yet.</p>\n</section>\n";
    return out + "<table><thead><tr><th>Run</th><th>Suite</th><th>Result</th><th>Started (UTC)</th><th>Station</th>"
                 "<th>Device under test</th></tr></thead><tbody>\n" + rows + "</tbody></table>\n</section>\n";
}

std::string history_section(const Json& doc) {
    const auto& c = doc.value("certification", Json::object());
    std::string out = "<section id=\"history\">\n<h2>Pilot merchants and phase history</h2>\n";
    const auto& merchants = c.value("merchants", Json::array());
    if (merchants.empty()) {
        out += "<p class=\"empty\">No pilot merchant recorded.</p>\n";
    } else {
        out += "<table class=\"compact\"><thead><tr><th>Merchant</th><th>Location</th><th>Added by</th></tr></thead><tbody>\n";
        for (const auto& m : merchants)
            out += "<tr><td>" + cell(m, "name") + "</td><td>" + cell(m, "location") + "</td><td>" + cell(m, "added_by") + "</td></tr>\n";
        out += "</tbody></table>\n";
    }
    out += "<table class=\"compact\"><thead><tr><th>When</th><th>From</th><th>To</th><th>By</th><th>Note</th></tr></thead><tbody>\n";
    for (const auto& p : c.value("phases", Json::array()))
        out += "<tr><td>" + xml_text(readable_time(str(p, "at"))) + "</td><td>" + cell(p, "from") + "</td><td>" +
               pill(str(p, "to")) + "</td><td>" + cell(p, "by") + "</td><td>" + cell(p, "note") + "</td></tr>\n";
    return out + "</tbody></table>\n</section>\n";
}

}  // namespace

std::string render_html(const Json& doc) {
    const auto& c = doc.value("certification", Json::object());
    const std::string title = "Certification report — " + str(c, "partner") + " / " + str(c, "integration") +
                              " (certification " + str(c, "id") + ")";
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
                      xml_text(title) + "</title>\n<style>" + stylesheet + "</style>\n</head>\n<body>\n<main class=\"report\">\n";
    out += "<header class=\"masthead\"><div><div class=\"kicker\">Partner integration certification · lab report</div>"
           "<h1>" + cell(c, "integration") + "</h1><p class=\"sub\">" + cell(c, "partner") + " · " +
           cell(c, "device_model") + " · serial " + cell(c, "serial_number") + "</p></div>"
           "<div class=\"doc-meta\"><div>Certification <b>" + cell(c, "id") + "</b></div><div>Station <b>" +
           cell(doc, "station") + "</b> · certlab " + cell(doc, "certlab_version") + "</div><div>Exported " +
           xml_text(readable_time(str(doc, "exported_at"))) + "</div></div></header>\n";
    out += verdict_section(doc) + facts_section(doc) + scenarios_section(doc) + report::soak_section(doc) +
           issues_section(doc) + signoffs_section(doc) + runs_section(doc) + history_section(doc);
    out += "<footer><span>" + xml_text(title) + "</span><span>certlab export " + cell(doc, "format") +
           " · the record of the station " + cell(doc, "station") + "</span></footer>\n</main>\n</body>\n</html>\n";
    return out;
}

}  // namespace certlab::cli
