#include "station/plugins.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <system_error>

#include "sdk/plugin.hpp"

namespace certlab::station {
namespace fs = std::filesystem;

namespace {

/// A dlopen handle, closed on every path out. An accepted plugin is pinned first
/// (RTLD_NODELETE): the registry holds its code until the process ends.
class SharedObject {
public:
    explicit SharedObject(void* handle) : handle_(handle) {}
    ~SharedObject() {
        if (handle_) ::dlclose(handle_);
    }
    SharedObject(const SharedObject&) = delete;
    SharedObject& operator=(const SharedObject&) = delete;
    [[nodiscard]] void* get() const { return handle_; }

private:
    void* handle_;
};

std::string dl_error() {
    const char* e = ::dlerror();
    return e ? e : "unknown error";
}

/// "1.81" from BOOST_VERSION-style 108100.
std::string boost_text(std::uint32_t v) { return std::to_string(v / 100000) + "." + std::to_string(v / 100 % 1000); }

/// Collects what the plugin registers; nothing reaches the registry before every
/// driver passed its checks.
class Collector final : public sdk::PluginRegistrar {
public:
    void add(sdk::DriverInfo info) override { drivers.push_back(std::move(info)); }
    std::vector<sdk::DriverInfo> drivers;
};

/// Why the entry's stamp does not fit this daemon ("" when it does). Only the first
/// field is read until it matched: later fields may be laid out differently.
std::string check_stamp(const sdk::PluginEntry& e) {
    if (e.abi_version != sdk::plugin_abi_version)
        return "plugin ABI version " + std::to_string(e.abi_version) + ", certlabd needs " +
               std::to_string(sdk::plugin_abi_version) + " (rebuild the plugin against this certlab's drivers/sdk)";
    if (e.boost_version != BOOST_VERSION)
        return "built with Boost " + boost_text(e.boost_version) + ", certlabd with " + boost_text(BOOST_VERSION);
    if (e.cxx11_abi != sdk::plugin_cxx11_abi)
        return "built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(e.cxx11_abi) + ", certlabd with " +
               std::to_string(sdk::plugin_cxx11_abi);
    if (!e.register_drivers) return "the entry has no register function";
    return {};
}

}  // namespace

config::PluginLoad load_plugin(const fs::path& file, sdk::Registry& registry) {
    config::PluginLoad out{file, {}, {}};
    auto refuse = [&out](std::string why) {
        out.refused = std::move(why);
        return out;
    };
    // RTLD_NOW: a missing symbol refuses the plugin here, not the daemon at first use.
    // RTLD_LOCAL: plugins do not see each other's symbols.
    ::dlerror();
    SharedObject so(::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (!so.get()) return refuse("dlopen failed: " + dl_error());
    ::dlerror();
    void* symbol = ::dlsym(so.get(), sdk::plugin_entry_symbol);
    if (!symbol) return refuse(std::string("not a certlab plugin: ") + dl_error());

    // Declared after `so`: the drivers (whose code lives in the plugin) go first.
    Collector collected;
    try {
        const auto* entry = reinterpret_cast<sdk::PluginEntryFn>(symbol)();
        if (!entry) return refuse(std::string(sdk::plugin_entry_symbol) + " returned no entry");
        if (auto why = check_stamp(*entry); !why.empty()) return refuse(why);
        entry->register_drivers(collected);
    } catch (const std::exception& e) {
        return refuse(std::string("registration threw: ") + e.what());
    } catch (...) {
        return refuse("registration threw an exception that is not a std::exception");
    }
    if (collected.drivers.empty()) return refuse("it registers no driver");

    std::set<std::string, std::less<>> names;
    for (const auto& d : collected.drivers) {
        try {
            registry.check(d);
        } catch (const std::logic_error& e) {
            return refuse(e.what());
        }
        if (!names.insert(d.name).second) return refuse("it registers driver " + d.name + " twice");
    }
    ::dlerror();
    SharedObject pinned(::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE));
    if (!pinned.get()) return refuse("cannot keep it loaded: " + dl_error());
    for (auto& d : collected.drivers) {
        out.drivers.push_back(d.name);
        registry.add(std::move(d));
    }
    return out;
}

std::vector<config::PluginLoad> load_plugins(const std::vector<fs::path>& dirs, sdk::Registry& registry) {
    std::vector<config::PluginLoad> out;
    for (const auto& dir : dirs) {
        std::vector<fs::path> files;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().extension() == ".so" && it->is_regular_file(ec)) files.push_back(it->path());
        if (ec) {
            out.push_back({dir, {}, "cannot read the plugin directory: " + ec.message()});
            continue;
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) out.push_back(load_plugin(f, registry));
    }
    return out;
}

}  // namespace certlab::station
