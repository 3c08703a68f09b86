// `certlab suggest`: turn what discovery saw into a starting device profile, keyed on
// the attributes that survive re-plugging and reboots (labgrid's suggest does the same
// for udev). The output is meant to be reviewed and committed to lab-config/devices/.
#pragma once

#include <string>
#include <string_view>

#include "sdk/resource.hpp"

namespace certlab::inventory {

/// A YAML profile (profile, description, driver, priority, match) whose `match:`
/// uses the resource's stable keys, each with a comment saying why it was chosen:
///  - usb:    kind, vid, pid, then serial_number, or port_path when there is none;
///  - serial: kind, the USB parent's vid / pid / serial_number when known, else address;
///  - net:    kind, mdns_service and its txt.<key> records when browsed, else address.
/// Reading it back with read_profile_match and matching `r` yields `profile_id`.
[[nodiscard]] std::string suggest_profile(const sdk::Resource& r, std::string_view driver,
                                          std::string_view profile_id);

}  // namespace certlab::inventory
