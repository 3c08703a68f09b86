// The certification record's commands: intake, cert list/show, plan, certify,
// reject, issues, issue add/close, merchant add, phase.
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"

namespace certlab::cli {

namespace {

void print_json(const Json& doc) { std::cout << doc.dump(2) << '\n'; }

std::string cert_path(std::int64_t id) { return "/v1/certifications/" + std::to_string(id); }

std::string join(const Json& list) {
    std::string out;
    if (!list.is_array()) return "-";
    for (const auto& x : list)
        if (x.is_string()) out += (out.empty() ? "" : ", ") + x.get<std::string>();
    return out.empty() ? "-" : out;
}

/// The run a plan entry's status rests on, as "run 12".
std::string evidence_run(const Json& entry) {
    const auto& e = entry.value("evidence", Json());
    const auto& l = entry.value("latest", Json());
    const auto& r = e.is_object() ? e : l;
    return r.is_object() ? "run " + text(r, "run") : "-";
}

void print_plan(const Json& plan) {
    Table table({"SCENARIO", "SUITE", "STATUS", "EVIDENCE", "PERMISSIONS", "TITLE"});
    for (const auto& p : plan)
        table.add({text(p, "scenario"), text(p, "suite"), paint(text(p, "status")), evidence_run(p),
                   join(p.value("permissions", Json::array())), text(p, "title")});
    table.print(std::cout);
}

void print_issue_table(const Json& issues) {
    Table table({"ISSUE", "SEVERITY", "STATUS", "SCENARIO", "RUN", "TITLE"});
    for (const auto& i : issues)
        table.add({text(i, "id"), paint(text(i, "severity")), text(i, "status"), text(i, "scenario"), text(i, "run"),
                   text(i, "title")});
    table.print(std::cout);
}

void print_next_steps(const Json& issue) {
    std::cout << "\nissue " << text(issue, "id") << ": " << text(issue, "title") << '\n';
    std::istringstream steps(issue.value("next_steps", ""));
    for (std::string line; std::getline(steps, line);) std::cout << "    " << line << '\n';
}

Json open_issues(const Json& detail) {
    Json open = Json::array();
    for (const auto& i : detail.value("issues", Json::array()))
        if (i.value("status", "") == "open") open.push_back(i);
    return open;
}

void print_header(const Json& c) {
    std::cout << "certification " << text(c, "id") << "  " << text(c, "partner") << " / " << text(c, "integration")
              << "  phase " << paint(text(c, "phase")) << " since " << format_time(c.value("phase_since", Json()))
              << '\n'
              << "  device       " << text(c, "device") << "  model " << text(c, "device_model") << "  serial "
              << text(c, "serial_number") << "  firmware " << text(c, "firmware") << '\n'
              << "  permissions  " << join(c.value("permissions", Json::array())) << '\n'
              << "  scenarios    " << text(c, "scenarios_certified") << " of " << text(c, "scenarios_total")
              << " certified; " << text(c, "open_issues") << " open issue(s); " << text(c, "merchants")
              << " pilot merchant(s)\n";
}

void print_next_phase(const Json& next) {
    if (!next.is_object()) {
        std::cout << "\nnext phase: none (generally available)\n";
        return;
    }
    std::cout << "\nnext phase: " << text(next, "phase");
    if (next.value("allowed", false)) std::cout << " (open: certlab phase ... " << text(next, "phase") << ")\n";
    else std::cout << "\n  blocked: " << text(next, "blocked_by") << '\n';
}

}  // namespace

int cmd_intake(const ApiClient& api, Output out, const IntakeOptions& o) {
    Json body{{"partner", o.partner},     {"integration", o.integration}, {"device_model", o.model},
              {"serial_number", o.serial}, {"firmware", o.firmware},       {"device", o.device},
              {"permissions", o.permissions}};
    if (!o.by.empty()) body["by"] = o.by;
    auto doc = api.post("/v1/certifications", body);
    if (out.json) print_json(doc);
    else std::cout << doc.at("certification").at("id").get<std::int64_t>() << '\n';  // for id=$(certlab intake ...)
    return exit_ok;
}

int cmd_cert_list(const ApiClient& api, Output out) {
    auto doc = api.get("/v1/certifications");
    if (out.json) {
        print_json(doc);
        return exit_ok;
    }
    const auto& list = doc.value("certifications", Json::array());
    if (list.empty()) {
        std::cout << "no certifications\n";
        return exit_ok;
    }
    Table table({"ID", "PARTNER", "INTEGRATION", "MODEL", "DEVICE", "PHASE", "CERTIFIED", "OPEN ISSUES"});
    for (const auto& c : list)
        table.add({text(c, "id"), text(c, "partner"), text(c, "integration"), text(c, "device_model"),
                   text(c, "device"), paint(text(c, "phase")),
                   text(c, "scenarios_certified") + "/" + text(c, "scenarios_total"), text(c, "open_issues")});
    table.print(std::cout);
    return exit_ok;
}

int cmd_cert_show(const ApiClient& api, Output out, std::int64_t id) {
    auto doc = api.get(cert_path(id));
    if (out.json) {
        print_json(doc);
        return exit_ok;
    }
    print_header(doc.at("certification"));
    std::cout << '\n';
    print_plan(doc.value("plan", Json::array()));
    auto open = open_issues(doc);
    if (!open.empty()) {
        std::cout << "\nopen issues\n";
        print_issue_table(open);
    }
    print_next_phase(doc.value("next_phase", Json()));
    return exit_ok;
}

int cmd_plan(const ApiClient& api, Output out, std::int64_t id) {
    auto doc = api.get(cert_path(id));
    if (out.json) {
        print_json(Json{{"certification", id}, {"plan", doc.value("plan", Json::array())}});
        return exit_ok;
    }
    print_plan(doc.value("plan", Json::array()));
    return exit_ok;
}

int cmd_certify(const ApiClient& api, Output out, std::int64_t id, const std::string& scenario,
                const std::string& by) {
    auto doc = api.post(cert_path(id) + "/scenarios/" + url_encode(scenario) + "/certify", Json{{"by", by}});
    if (out.json) print_json(doc);
    else std::cout << scenario << " " << paint("certified") << " by " << by << '\n';
    return exit_ok;
}

int cmd_reject(const ApiClient& api, Output out, std::int64_t id, const std::string& scenario, const std::string& by,
               const std::string& feedback) {
    auto doc = api.post(cert_path(id) + "/scenarios/" + url_encode(scenario) + "/reject",
                        Json{{"by", by}, {"feedback", feedback}});
    if (out.json) print_json(doc);
    else
        std::cout << scenario << " " << paint("rejected") << " by " << by << "; issue "
                  << text(doc.value("issue", Json::object()), "id") << " opened\n";
    return exit_ok;
}

int cmd_issues(const ApiClient& api, Output out, std::int64_t id, bool all) {
    auto doc = api.get(cert_path(id));
    auto issues = all ? doc.value("issues", Json::array()) : open_issues(doc);
    if (out.json) {
        print_json(Json{{"certification", id}, {"issues", issues}});
        return exit_ok;
    }
    if (issues.empty()) {
        std::cout << (all ? "no issues\n" : "no open issues\n");
        return exit_ok;
    }
    print_issue_table(issues);
    for (const auto& i : issues)
        if (i.value("status", "") == "open") print_next_steps(i);
    return exit_ok;
}

int cmd_issue_add(const ApiClient& api, Output out, std::int64_t id, const IssueOptions& o) {
    Json body{{"title", o.title}, {"next_steps", o.next_steps}, {"severity", o.severity}};
    if (!o.scenario.empty()) body["scenario"] = o.scenario;
    if (!o.by.empty()) body["by"] = o.by;
    auto doc = api.post(cert_path(id) + "/issues", body);
    if (out.json) print_json(doc);
    else std::cout << doc.at("id").get<std::int64_t>() << '\n';
    return exit_ok;
}

int cmd_issue_close(const ApiClient& api, Output out, std::int64_t id, std::int64_t issue,
                    const std::string& resolution, const std::string& by) {
    Json body{{"resolution", resolution}};
    if (!by.empty()) body["by"] = by;
    auto doc = api.post(cert_path(id) + "/issues/" + std::to_string(issue) + "/close", body);
    if (out.json) print_json(doc);
    else std::cout << "issue " << issue << " closed\n";
    return exit_ok;
}

int cmd_merchant_add(const ApiClient& api, Output out, std::int64_t id, const std::string& name,
                     const std::string& location, const std::string& by) {
    Json body{{"name", name}, {"location", location}};
    if (!by.empty()) body["by"] = by;
    auto doc = api.post(cert_path(id) + "/merchants", body);
    if (out.json) print_json(doc);
    else std::cout << "merchant " << text(doc, "id") << " (" << name << ") added to certification " << id << '\n';
    return exit_ok;
}

int cmd_phase(const ApiClient& api, Output out, std::int64_t id, const std::string& to, const std::string& by,
              const std::string& note) {
    Json body{{"to", to}};
    if (!by.empty()) body["by"] = by;
    if (!note.empty()) body["note"] = note;
    auto doc = api.post(cert_path(id) + "/phase", body);
    if (out.json) print_json(doc);
    else std::cout << "certification " << id << ": " << text(doc, "from") << " -> " << paint(text(doc, "to")) << '\n';
    return exit_ok;
}

}  // namespace certlab::cli
