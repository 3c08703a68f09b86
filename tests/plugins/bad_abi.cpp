// A plugin built against another plugin ABI: certlabd must refuse it before it
// calls anything in it (the register function would abort the test if called).
#include <cstdlib>

#include "sdk/plugin.hpp"

namespace {
void must_not_be_called(certlab::sdk::PluginRegistrar&) { std::abort(); }
}  // namespace

extern "C" __attribute__((visibility("default"))) const certlab::sdk::PluginEntry* certlab_plugin_entry() {
    static const certlab::sdk::PluginEntry entry{certlab::sdk::plugin_abi_version + 41, BOOST_VERSION,
                                                 certlab::sdk::plugin_cxx11_abi, must_not_be_called};
    return &entry;
}
