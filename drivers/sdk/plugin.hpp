// The plugin ABI: how a driver built as a shared object (`.so`) hands its drivers to
// certlabd. A plugin exports one `extern "C"` function, `certlab_plugin_entry`, that
// returns a PluginEntry; the daemon checks the entry's ABI stamp before it calls
// anything else in the plugin. See drivers/sdk/README.md, "Plugins".
#pragma once

#include <boost/version.hpp>
#include <cstdint>

#include "sdk/registry.hpp"

namespace certlab::sdk {

/// Bump whenever a type that crosses the plugin boundary changes layout or meaning:
/// DriverInfo, DriverContext, Driver, Identity, Resource, Settings, Stream, Transport,
/// Transcript, Value, ActionSpec, the error classes, PluginEntry or PluginRegistrar.
inline constexpr std::uint32_t plugin_abi_version = 2;

/// The libstdc++ string ABI the plugin was compiled with (std::string crosses the boundary).
#ifdef _GLIBCXX_USE_CXX11_ABI
inline constexpr std::uint32_t plugin_cxx11_abi = _GLIBCXX_USE_CXX11_ABI;
#else
inline constexpr std::uint32_t plugin_cxx11_abi = 0;
#endif

/// Receives a plugin's drivers. The daemon adds them to the registry only when the
/// registration function returns normally and every driver passes Registry::check.
class PluginRegistrar {
public:
    virtual void add(DriverInfo info) = 0;

protected:
    ~PluginRegistrar() = default;
};

/// What `certlab_plugin_entry` returns: a static object that lives as long as the plugin.
/// `abi_version` stays the first member in every future ABI, so any daemon can read it.
struct PluginEntry {
    std::uint32_t abi_version;    ///< plugin_abi_version the plugin was built against
    std::uint32_t boost_version;  ///< BOOST_VERSION: Task<T> is a Boost.Asio awaitable
    std::uint32_t cxx11_abi;      ///< plugin_cxx11_abi
    /// Adds the plugin's drivers; may throw (the plugin is then refused as a whole).
    void (*register_drivers)(PluginRegistrar& registrar);
};

/// The symbol the daemon looks up with dlsym.
inline constexpr const char* plugin_entry_symbol = "certlab_plugin_entry";
using PluginEntryFn = const PluginEntry* (*)();

}  // namespace certlab::sdk

/// In a plugin's .cpp, once per plugin: exports the entry point registering the
/// drivers that `sdk::DriverInfo make_info()` functions describe.
#define CERTLAB_PLUGIN_DRIVERS(...)                                                              \
    extern "C" __attribute__((visibility("default"))) const ::certlab::sdk::PluginEntry*        \
    certlab_plugin_entry() {                                                                     \
        static const ::certlab::sdk::PluginEntry entry{                                          \
            ::certlab::sdk::plugin_abi_version, BOOST_VERSION, ::certlab::sdk::plugin_cxx11_abi, \
            [](::certlab::sdk::PluginRegistrar& registrar) {                                     \
                for (auto make : {__VA_ARGS__}) registrar.add(make());                           \
            }};                                                                                  \
        return &entry;                                                                           \
    }

/// In a driver's .cpp: registers the driver in-process when the folder is built with
/// `certlab_add_driver`, or exports it as a plugin with `certlab_add_plugin` (which
/// defines CERTLAB_PLUGIN_BUILD). The same source serves both.
#ifdef CERTLAB_PLUGIN_BUILD
#define CERTLAB_DRIVER(make_info) CERTLAB_PLUGIN_DRIVERS(make_info)
#else
#define CERTLAB_DRIVER(make_info) CERTLAB_REGISTER_DRIVER(make_info)
#endif
