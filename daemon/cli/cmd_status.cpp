// `certlab status` and `certlab runs`: the read-only overviews.
#include <iostream>

#include "cli/commands.hpp"

namespace certlab::cli {

namespace {

void print_json(const Json& doc) { std::cout << doc.dump(2) << '\n'; }

std::string current_run(const Json& device) {
    auto run = device.find("current_run");
    return run == device.end() || run->is_null() ? "-" : "run " + run->dump();
}

}  // namespace

/// "upload to https://record.example.net: 12 pending (oldest 3m 4s), retrying: <error>"
void print_upload(const Json& up) {
    if (!up.value("configured", false)) {
        std::cout << "upload: not configured (results stay in this station's store)\n";
        return;
    }
    const auto pending = up.value("pending", 0);
    std::cout << "upload to " << text(up, "url") << ": " << paint(text(up, "state")) << ", " << pending
              << " pending";
    if (pending > 0) std::cout << " (oldest " << format_duration(up.value("oldest_pending_age_s", Json())) << ")";
    std::cout << ", " << up.value("uploaded", 0) << " sent since start";
    if (up.value("last_success_at", Json()).is_string())
        std::cout << ", last success " << format_time(up["last_success_at"]);
    std::cout << '\n';
    if (up.value("consecutive_failures", 0) > 0)
        std::cout << "  failing since " << up.value("consecutive_failures", 0) << " attempt(s): "
                  << text(up, "last_error") << '\n';
}

int cmd_status(const ApiClient& api, Output out) {
    auto health = api.get("/v1/health");
    auto devices = api.get("/v1/devices");
    auto upload = api.get("/v1/upload");
    if (out.json) {
        // The API documents under one roof, each verbatim.
        print_json(Json{{"health", health}, {"devices", devices}, {"upload", upload}});
        return exit_ok;
    }
    std::cout << "station " << text(health, "station_id") << "  certlabd "
              << text(health, "version") << "  " << paint(text(health, "status")) << "  up "
              << format_duration(health.value("uptime_s", Json())) << '\n';
    print_upload(upload);
    const auto& list = devices.value("devices", Json::array());
    if (list.empty()) {
        std::cout << "\nno devices\n";
        return exit_ok;
    }
    Table table({"ID", "STATE", "DRIVER", "ADDRESS", "RUN", "WHY"});
    for (const auto& d : list)
        table.add({text(d, "id"), paint(text(d, "state")), text(d, "driver"), text(d, "address"),
                   current_run(d), text(d, "state_reason")});
    std::cout << '\n';
    table.print(std::cout);
    return exit_ok;
}

int cmd_runs(const ApiClient& api, Output out, const std::string& device, int limit) {
    std::string path = "/v1/runs?limit=" + std::to_string(limit);
    if (!device.empty()) path += "&device=" + url_encode(device);
    auto doc = api.get(path);
    if (out.json) {
        print_json(doc);
        return exit_ok;
    }
    const auto& runs = doc.value("runs", Json::array());
    if (runs.empty()) {
        std::cout << "no runs" << (device.empty() ? "" : " on " + device) << '\n';
        return exit_ok;
    }
    Table table({"ID", "DEVICE", "SUITE", "STATUS", "OUTCOME", "STARTED", "DURATION"});
    for (const auto& r : runs)
        table.add({text(r, "id"), text(r, "device"), text(r, "suite"), paint(text(r, "status")),
                   paint(text(r, "outcome")), format_time(r.value("started_at", Json())),
                   format_duration(r.value("duration_s", Json()))});
    table.print(std::cout);
    return exit_ok;
}

}  // namespace certlab::cli

namespace certlab::cli {

int cmd_device_release(const ApiClient& api, Output out, const std::string& id) {
    auto result = api.post("/v1/devices/" + url_encode(id) + "/release", Json::object());
    if (out.json) {
        print_json(result);
        return exit_ok;
    }
    std::cout << "device " << id << " released; it will be brought up again\n";
    return exit_ok;
}

}  // namespace certlab::cli

namespace certlab::cli {

int cmd_device_suggest(const ApiClient& api, Output out, const std::string& address, const std::string& driver,
                       const std::string& profile) {
    auto doc = api.get("/v1/resources/suggest?address=" + url_encode(address) + "&driver=" + url_encode(driver) +
                       "&profile=" + url_encode(profile));
    if (out.json) print_json(doc);
    else std::cout << doc.value("yaml", "");
    return exit_ok;
}

int cmd_resources(const ApiClient& api, Output out) {
    auto doc = api.get("/v1/resources");
    if (out.json) {
        print_json(doc);
        return exit_ok;
    }
    Table table({"ADDRESS", "KIND", "SOURCE", "DEVICE", "WHY"});
    for (const auto& r : doc.value("resources", Json::array()))
        table.add({text(r, "address"), text(r, "kind"), text(r, "source"), text(r, "device"), text(r, "reason")});
    table.print(std::cout);
    return exit_ok;
}

}  // namespace certlab::cli
