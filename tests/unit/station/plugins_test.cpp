// The plugin loader: the template plugin is accepted and its driver works across the
// boundary (its ConfigError is caught as ours); every bad plugin is refused whole,
// with the reason, and leaves the registry as it was.
#include <doctest/doctest.h>

#include "sdk/error.hpp"
#include "sdk/plugin.hpp"
#include "station/plugins.hpp"
#include "support/process.hpp"

using namespace certlab;
namespace fs = std::filesystem;

namespace {

const fs::path template_plugin = CERTLAB_TEMPLATE_PLUGIN;
const fs::path test_plugins = CERTLAB_TEST_PLUGIN_DIR;

/// A registry holding the builtin escpos driver, so clashes can be seen.
sdk::Registry registry_with_escpos() {
    sdk::Registry r;
    const auto* escpos = sdk::Registry::instance().find("escpos");
    REQUIRE(escpos);
    r.add(*escpos);
    return r;
}

/// Creating a driver does no I/O: a transport that is never used will do.
struct NoTransport final : sdk::Transport {
    std::string a = "test:";
    const std::string& address() const override { return a; }
    sdk::Task<void> open(sdk::Duration) override { co_return; }
    void close() noexcept override {}
    bool is_open() const noexcept override { return false; }
    sdk::Task<void> write(std::string_view, sdk::Duration) override { co_return; }
    sdk::Task<std::size_t> read_some(std::span<char>, sdk::Duration) override { co_return 0; }
};

std::vector<std::string> names(const sdk::Registry& r) {
    std::vector<std::string> out;
    for (const auto& d : r.all()) out.push_back(d.name);
    return out;
}

}  // namespace

TEST_CASE("plugins: the template plugin loads and its driver works across the boundary") {
    auto registry = registry_with_escpos();
    auto load = station::load_plugin(template_plugin, registry);
    CHECK(load.refused == "");
    CHECK(load.drivers == std::vector<std::string>{"template"});
    const auto* info = registry.find("template");
    REQUIRE(info);
    CHECK(info->version == "1.0");
    CHECK(info->capabilities == std::vector<std::string>{"cash_drawer"});

    // The driver is created by plugin code reading our Settings; its errors are our types.
    sdk::Resource resource;
    sdk::Settings bad;
    bad.set("open_level", "sideways", "drawer.yaml:7:15");
    NoTransport transport;
    sdk::Stream stream(transport);
    sdk::DriverContext bad_ctx{"d", resource, stream, bad, nullptr};
    CHECK_THROWS_WITH_AS(info->create(bad_ctx), "drawer.yaml:7:15: open_level: expected high or low, got 'sideways'",
                         sdk::ConfigError);
    sdk::Settings good;
    sdk::DriverContext ctx{"d", resource, stream, good, nullptr};
    auto driver = info->create(ctx);
    CHECK(driver != nullptr);
    driver.reset();

    // Loading it again clashes by name: refused, and the first copy stays usable
    // (accepted plugins are pinned, so the refusal's dlclose cannot unload it).
    auto again = station::load_plugin(template_plugin, registry);
    CHECK(again.refused == "driver registered twice: template");
    CHECK(again.drivers.empty());
    CHECK(info->create(ctx) != nullptr);
}

TEST_CASE("plugins: bad plugins are refused whole, with the reason") {
    auto registry = registry_with_escpos();
    auto refused = [&](const fs::path& file) { return station::load_plugin(file, registry).refused; };
    CHECK(refused(test_plugins / "bad_abi.so") ==
          "plugin ABI version 42, certlabd needs " + std::to_string(sdk::plugin_abi_version) + " (rebuild the plugin against this certlab's drivers/sdk)");
    auto no_entry = refused(test_plugins / "no_entry.so");
    CHECK(no_entry.rfind("not a certlab plugin: ", 0) == 0);
    CHECK(no_entry.find("certlab_plugin_entry") != std::string::npos);
    CHECK(refused(test_plugins / "throwing.so") == "registration threw: no licence for this bench");
    CHECK(refused(test_plugins / "duplicate.so") == "driver registered twice: escpos");

    test::TempDir dir;
    test::write_file(dir / "text.so", "not an ELF file\n");
    CHECK(refused(dir / "text.so").rfind("dlopen failed: ", 0) == 0);
    CHECK(refused(dir / "missing.so").rfind("dlopen failed: ", 0) == 0);

    // Nothing of theirs got in, not even what they offered before failing.
    CHECK(names(registry) == std::vector<std::string>{"escpos"});
}

TEST_CASE("plugins: a directory is loaded in name order, .so files only") {
    test::TempDir dir;
    fs::copy_file(test_plugins / "bad_abi.so", dir / "b.so");
    fs::copy_file(template_plugin, dir / "a-template.so");
    test::write_file(dir / "notes.txt", "ignored");
    fs::create_directory(dir / "sub.so");  // a directory, not a plugin
    sdk::Registry registry;
    auto loads = station::load_plugins({dir.path(), dir / "absent"}, registry);
    REQUIRE(loads.size() == 3);
    CHECK(loads[0].file == dir / "a-template.so");
    CHECK(loads[0].refused == "");
    CHECK(loads[1].file == dir / "b.so");
    CHECK(loads[1].refused.find("plugin ABI version 42") == 0);
    CHECK(loads[2].file == dir / "absent");
    CHECK(loads[2].refused.find("cannot read the plugin directory") == 0);
    CHECK(names(registry) == std::vector<std::string>{"template"});
}
