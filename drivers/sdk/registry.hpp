// Drivers register themselves by name at static initialisation.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/driver.hpp"

namespace certlab::sdk {

struct DriverInfo {
    std::string name;      ///< what a device profile names in `driver:`
    std::string version;
    std::string doc;
    std::vector<std::string> capabilities;  ///< every action of each must be handled
    /// Reads and checks settings (throwing ConfigError); performs no I/O.
    std::function<std::unique_ptr<Driver>(DriverContext&)> create;
    /// The driver implements whatever the device profile's `actions:` define (a
    /// generic driver such as `line` or `http`); `capabilities` is then empty.
    bool profile_actions = false;
};

class Registry {
public:
    static Registry& instance();

    /// Adds a driver; throws std::logic_error on a duplicate name or an unknown capability.
    void add(DriverInfo info);
    /// Throws what add() would throw, without adding (lets a plugin be accepted whole or not at all).
    void check(const DriverInfo& info) const;
    [[nodiscard]] const DriverInfo* find(std::string_view name) const;
    [[nodiscard]] const std::vector<DriverInfo>& all() const { return drivers_; }

private:
    std::vector<DriverInfo> drivers_;
};

namespace detail {
struct Registrar {
    explicit Registrar(DriverInfo (*make)()) { Registry::instance().add(make()); }
};
}  // namespace detail

}  // namespace certlab::sdk

#define CERTLAB_CONCAT_INNER(a, b) a##b
#define CERTLAB_CONCAT(a, b) CERTLAB_CONCAT_INNER(a, b)
/// In a driver's .cpp: `CERTLAB_REGISTER_DRIVER(make_info)` where
/// `sdk::DriverInfo make_info()` describes the driver.
#define CERTLAB_REGISTER_DRIVER(make_info)                                                \
    static const ::certlab::sdk::detail::Registrar CERTLAB_CONCAT(certlab_driver_registrar_, \
                                                                  __LINE__){make_info}
