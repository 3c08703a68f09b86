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

int cmd_status(const ApiClient& api, Output out) {
    auto health = api.get("/v1/health");
    auto devices = api.get("/v1/devices");
    if (out.json) {
        // Two API documents under one roof, each verbatim.
        print_json(Json{{"health", health}, {"devices", devices}});
        return exit_ok;
    }
    std::cout << "station " << text(health, "station_id") << "  certlabd "
              << text(health, "version") << "  " << paint(text(health, "status")) << "  up "
              << format_duration(health.value("uptime_s", Json())) << '\n';
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
