#include "sdk/registry.hpp"

#include <stdexcept>

namespace certlab::sdk {

Registry& Registry::instance() {
    static Registry registry;
    return registry;
}

void Registry::add(DriverInfo info) {
    check(info);
    drivers_.push_back(std::move(info));
}

void Registry::check(const DriverInfo& info) const {
    if (info.name.empty()) throw std::logic_error("a driver has no name");
    if (find(info.name)) throw std::logic_error("driver registered twice: " + info.name);
    if (!info.create) throw std::logic_error("driver " + info.name + " has no create function");
    for (const auto& cap : info.capabilities)
        if (!find_capability(cap))
            throw std::logic_error("driver " + info.name + " names unknown capability " + cap);
}

const DriverInfo* Registry::find(std::string_view name) const {
    for (const auto& d : drivers_)
        if (d.name == name) return &d;
    return nullptr;
}

}  // namespace certlab::sdk
