// A plugin whose registration throws after adding a driver: refused as a whole, and
// the driver it added first must not reach the registry.
#include <stdexcept>

#include "sdk/plugin.hpp"

namespace {

certlab::sdk::DriverInfo first() {
    return {"throwing-first", "1.0", "never registered", {"printer"},
            [](certlab::sdk::DriverContext&) -> std::unique_ptr<certlab::sdk::Driver> { return nullptr; }};
}

certlab::sdk::DriverInfo second() { throw std::runtime_error("no licence for this bench"); }

}  // namespace

CERTLAB_PLUGIN_DRIVERS(first, second)
