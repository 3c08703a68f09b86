// A plugin offering a driver whose name a builtin driver already has (and one that
// would be fine): refused whole, so neither is registered.
#include "sdk/plugin.hpp"

namespace {

std::unique_ptr<certlab::sdk::Driver> none(certlab::sdk::DriverContext&) { return nullptr; }

certlab::sdk::DriverInfo fine() { return {"duplicate-fine", "1.0", "never registered", {"printer"}, none}; }
certlab::sdk::DriverInfo clash() { return {"escpos", "9.9", "clashes with the builtin", {"printer"}, none}; }

}  // namespace

CERTLAB_PLUGIN_DRIVERS(fine, clash)
