// Driver plugins: the template driver, built as a .so and dropped in a plugins
// directory, is found and certifies a cash drawer; plugins with a wrong ABI, no entry
// point, a throwing registration, a clashing driver name or no ELF at all are refused
// with the reason in the log and in GET /v1/drivers, and the daemon serves on.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path template_plugin = CERTLAB_TEMPLATE_PLUGIN;
const fs::path test_plugins = CERTLAB_TEST_PLUGIN_DIR;
const std::vector<std::string> bad_plugins{"bad_abi.so", "no_entry.so", "throwing.so", "duplicate.so"};

/// A plugins directory as a bench would have it: the template plus every bad one.
fs::path plugin_dir(const TempDir& dir, bool with_template) {
    auto plugins = dir / "plugins";
    fs::create_directories(plugins);
    if (with_template) fs::copy_file(template_plugin, plugins / "certlab-template.so");
    for (const auto& bad : bad_plugins) fs::copy_file(test_plugins / bad, plugins / bad);
    write_file(plugins / "not-elf.so", "this is a text file, not a shared object\n");
    write_file(plugins / "README.txt", "not a plugin, and not named like one: ignored\n");
    return plugins;
}

fs::path template_profile(const TempDir& dir) {
    auto profiles = dir / "profiles";
    fs::create_directories(profiles);
    write_file(profiles / "drawer-template.yaml",
               "profile: drawer-template\n"
               "description: Cash drawer on an ESC/POS kick port, through the template plugin\n"
               "driver: template\n"
               "capabilities: [cash_drawer]\n"
               "settings:\n  response_timeout: 1s\n  open_level: high\n");
    return profiles;
}

/// Four scenarios against the drawer (the simulator's drawer reads open for 500 ms
/// after a pulse), and one status poll for the builtin ESC/POS device.
fs::path suites(const TempDir& dir) {
    auto s = dir / "suites";
    fs::create_directories(s);
    write_file(s / "drawer.yaml",
               "suite: drawer-template\ntitle: Cash drawer through the template plugin\n"
               "requires: [cash_drawer]\ndefaults:\n  step_timeout: 3s\nscenarios:\n"
               "  - id: DRW-1\n    title: Drawer reads closed at rest\n    steps:\n"
               "      - call: cash_drawer.status\n        expect: { open: false }\n"
               "  - id: DRW-2\n    title: A kick pulse on pin 2 opens it\n    steps:\n"
               "      - call: cash_drawer.open\n        args: { pin: 2, on_ms: 100, off_ms: 100 }\n"
               "        expect: { accepted: true }\n"
               "      - call: cash_drawer.status\n        expect: { open: true }\n"
               "  - id: DRW-3\n    title: It reads closed again once shut\n    steps:\n"
               "      - wait: 700ms\n"
               "      - call: cash_drawer.status\n        expect: { open: false }\n"
               "  - id: DRW-4\n    title: Pin 5 with an odd pulse length is accepted\n    steps:\n"
               "      - call: cash_drawer.open\n        args: { pin: 5, on_ms: 3, off_ms: 1000 }\n"
               "        expect: { accepted: true }\n");
    write_file(s / "status.yaml",
               "suite: status-once\ntitle: One status poll\nrequires: [printer]\n"
               "scenarios:\n  - id: ST-1\n    title: Poll status\n    steps:\n"
               "      - call: printer.status\n        expect: { online: true }\n");
    return s;
}

const json* find_by(const json& list, const char* key, const std::string& value) {
    for (const auto& e : list)
        if (e.value(key, "") == value) return &e;
    return nullptr;
}

}  // namespace

TEST_CASE("plugins: the template plugin certifies a drawer, bad plugins are refused, and the daemon serves on") {
    TempDir dir;
    auto drawer_sim = start_printer(Link::tcp);
    auto printer_sim = start_printer(Link::pty);
    auto plugins = plugin_dir(dir, true);
    auto yaml = station_yaml_extended({{"drawer-template", {"drawer", drawer_sim.address, ""}},
                                       {"escpos-generic", {"printer", printer_sim.address, ""}}},
                                      dir / "s.db", suites(dir), {template_profile(dir)},
                                      "plugins: [" + plugins.string() + "]\n");
    Daemon d(dir, yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"drawer", "printer"}, "ready"), d.log());

    auto log = d.log();
    INFO(log);
    auto refused = [&](const std::string& file, const std::string& reason) {
        return log.find("plugin " + (plugins / file).string() + " refused: " + reason) != std::string::npos;
    };
    CHECK(refused("bad_abi.so", "plugin ABI version 42, certlabd needs "));
    CHECK(refused("no_entry.so", "not a certlab plugin"));
    CHECK(refused("throwing.so", "registration threw: no licence for this bench"));
    CHECK(refused("duplicate.so", "driver registered twice: escpos"));
    CHECK(refused("not-elf.so", "dlopen failed"));
    CHECK(log.find("plugin " + (plugins / "certlab-template.so").string() + " loaded: driver(s) template") !=
          std::string::npos);

    // The drivers listing says where each driver came from and what was refused.
    auto drivers = d.get("/v1/drivers");
    INFO(drivers.dump(2));
    const auto* tmpl = find_by(drivers["drivers"], "name", "template");
    REQUIRE(tmpl);
    CHECK((*tmpl)["origin"] == "plugin");
    CHECK((*tmpl)["version"] == "1.0");
    CHECK((*tmpl)["file"] == (plugins / "certlab-template.so").string());
    CHECK((*tmpl)["capabilities"] == json::array({"cash_drawer"}));
    const auto* escpos = find_by(drivers["drivers"], "name", "escpos");
    REQUIRE(escpos);
    CHECK((*escpos)["origin"] == "builtin");
    CHECK((*escpos)["file"].is_null());
    CHECK(find_by(drivers["drivers"], "name", "exec"));
    // Refused whole: the drivers a refused plugin offered first are not there.
    CHECK_FALSE(find_by(drivers["drivers"], "name", "throwing-first"));
    CHECK_FALSE(find_by(drivers["drivers"], "name", "duplicate-fine"));
    CHECK((*escpos)["version"] == "1.0");  // not the plugin's clashing 9.9
    CHECK(drivers["refused_plugins"].size() == 5);
    const auto* abi = find_by(drivers["refused_plugins"], "file", (plugins / "bad_abi.so").string());
    REQUIRE(abi);
    CHECK((*abi)["reason"].get<std::string>().find("plugin ABI version 42") != std::string::npos);

    // The plugin's driver identified the device through the simulator...
    auto dev = d.get("/v1/devices/drawer");
    CHECK(dev["driver"] == "template 1.0");
    CHECK(dev["identity"]["manufacturer"] == "CERTLAB");
    CHECK(dev["identity"]["model"] == "CERTLAB-SIM-80");

    // ...and certifies it, while the builtin driver keeps working beside it.
    auto drawer_run = d.start_run("drawer", "drawer-template");
    auto printer_run = d.start_run("printer", "status-once");
    REQUIRE(drawer_run > 0);
    REQUIRE(printer_run > 0);
    auto r = d.wait_for_run(drawer_run, 30s);
    INFO(r.dump(2).substr(0, 4000));
    CHECK(r["run"]["outcome"] == "pass");
    CHECK(r["run"]["reason"] == "4 of 4 scenarios passed");
    CHECK(d.wait_for_run(printer_run, 30s)["run"]["outcome"] == "pass");
    // The pulse was clamped to what ESC p can do, and the transcript says so.
    bool noted = false;
    for (const auto& s : r["steps"])
        for (const auto& e : s["transcript"]["entries"])
            if (e.value("text", "").find("pulse sent as on 4 ms, off 510 ms") != std::string::npos) noted = true;
    CHECK(noted);

    CHECK(http_get(d.port(), "/v1/health").status == 200);
    CHECK(d.process().running());
}

TEST_CASE("plugins: a profile naming a driver whose plugin was refused stops certlabd with both reasons") {
    TempDir dir;
    auto plugins = plugin_dir(dir, false);
    auto yaml = station_yaml_extended({}, dir / "s.db", suites(dir), {template_profile(dir)},
                                      "plugins: " + plugins.string() + "\n");
    write_file(dir / "station.yaml", yaml);
    auto r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0"}, 20s,
                 dir / "stderr.txt");
    auto err = read_file(dir / "stderr.txt");
    INFO(err);
    CHECK(r.status == 2);
    CHECK(err.find("plugin " + (plugins / "bad_abi.so").string() + " refused: plugin ABI version 42") !=
          std::string::npos);
    CHECK(err.find((dir / "profiles" / "drawer-template.yaml").string() + ":3:9: driver: expected a known driver") !=
          std::string::npos);
    CHECK(err.find("got 'template'") != std::string::npos);
}

TEST_CASE("plugins: a plugins entry that is not a directory is refused with its location") {
    TempDir dir;
    auto yaml = station_yaml_extended({}, dir / "s.db", suites(dir), {},
                                      "plugins:\n  - " + dir.path().string() + "\n  - " +
                                          (dir / "no-such-dir").string() + "\n");
    write_file(dir / "station.yaml", yaml);
    auto r = run({bin("certlabd").string(), "--config", (dir / "station.yaml").string(), "--api-port", "0"}, 20s,
                 dir / "stderr.txt");
    auto err = read_file(dir / "stderr.txt");
    INFO(err);
    CHECK(r.status == 2);
    // station_yaml() writes `profiles:` on line 12; `plugins:` follows, its second item on line 15.
    CHECK(err.find((dir / "station.yaml").string() + ":15:5: plugins: expected a directory of driver plugins") !=
          std::string::npos);
}
