#include "sdk/registry.hpp"

#include <stdexcept>

namespace certlab::sdk {

Registry& Registry::instance() {
    static Registry registry;
    return registry;
}

void Registry::add(DriverInfo info) {
    if (find(info.name)) throw std::logic_error("driver registered twice: " + info.name);
    for (const auto& cap : info.capabilities)
        if (!find_capability(cap))
            throw std::logic_error("driver " + info.name + " names unknown capability " + cap);
    drivers_.push_back(std::move(info));
}

const DriverInfo* Registry::find(std::string_view name) const {
    for (const auto& d : drivers_)
        if (d.name == name) return &d;
    return nullptr;
}

}  // namespace certlab::sdk
