// A plugin built against another plugin ABI: certlabd must refuse it before it
// calls anything in it (the register function would abort the test if called).
#include <cstdlib>

#include "sdk/plugin.hpp"

namespace {
// A version no certlab has had: the tests expect this number in the refusal.
constexpr std::uint32_t wrong_abi = 42;
static_assert(wrong_abi != certlab::sdk::plugin_abi_version);
void must_not_be_called(certlab::sdk::PluginRegistrar&) { std::abort(); }
}  // namespace

extern "C" __attribute__((visibility("default"))) const certlab::sdk::PluginEntry* certlab_plugin_entry() {
    static const certlab::sdk::PluginEntry entry{wrong_abi, BOOST_VERSION,
                                                 certlab::sdk::plugin_cxx11_abi, must_not_be_called};
    return &entry;
}
