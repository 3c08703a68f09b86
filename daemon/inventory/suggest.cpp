#include "inventory/suggest.hpp"

#include <cctype>
#include <cstdio>

#include "inventory/matcher.hpp"

namespace certlab::inventory {

namespace {

// YAML double-quoted scalar: safe for any text a device reports (colons, '#', quotes).
std::string yaml_quoted(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

// Keys such as txt.ty stay plain; TXT keys with odd characters get quoted.
std::string yaml_key(std::string_view k) {
    bool plain = !k.empty() && std::isalnum(static_cast<unsigned char>(k.front()));
    for (char c : k) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    return plain ? std::string(k) : yaml_quoted(k);
}

// Comments are one line each; a device-reported value must not end one early.
std::string comment_text(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return out;
}

class Skeleton {
public:
    void comment(std::string_view why) { text_ += "  # " + comment_text(why) + "\n"; }

    /// A condition that matches exactly this value: text that looks like a glob is
    /// wrapped in { exact: } so a '[' in a serial number stays literal.
    void exact(std::string_view key, std::string_view value) {
        text_ += "  " + yaml_key(key) + ": ";
        text_ += has_glob_chars(value) ? "{ exact: " + yaml_quoted(value) + " }" : yaml_quoted(value);
        text_ += "\n";
    }

    /// A fixed word such as the kind, which needs no quoting.
    void plain(std::string_view key, std::string_view word) {
        text_ += "  " + std::string(key) + ": " + std::string(word) + "\n";
    }

    [[nodiscard]] const std::string& text() const { return text_; }

private:
    std::string text_;
};

const std::string* attr(const sdk::Resource& r, std::string_view key) {
    auto it = r.attributes.find(key);
    return it == r.attributes.end() || it->second.empty() ? nullptr : &it->second;
}

void suggest_usb(const sdk::Resource& r, Skeleton& m) {
    const auto* vid = attr(r, "vid");
    const auto* pid = attr(r, "pid");
    if (vid && pid) {
        m.comment("vendor and product ids name the model and never change with the port or a reboot");
        m.exact("vid", *vid);
        m.exact("pid", *pid);
    }
    if (const auto* sn = attr(r, "serial_number")) {
        m.comment("the serial number tells this unit from others of the same model, on any port");
        m.exact("serial_number", *sn);
    } else if (const auto* port = attr(r, "port_path")) {
        m.comment("no serial number: the USB port path pins the unit to this socket (re-cabling breaks it)");
        m.exact("port_path", *port);
    } else if (!(vid && pid)) {
        m.comment("no USB ids, serial number or port path were reported: only the address is left");
        m.exact("address", r.address);
    }
}

void suggest_serial(const sdk::Resource& r, Skeleton& m) {
    const auto* vid = attr(r, "vid");
    const auto* pid = attr(r, "pid");
    const auto* sn = attr(r, "serial_number");
    if (vid && pid) {
        m.comment("the tty's USB parent (often a USB-serial bridge, not the device itself): "
                  "its ids survive re-plugging, /dev/ttyUSBn numbering does not");
        m.exact("vid", *vid);
        m.exact("pid", *pid);
    }
    if (sn) {
        m.comment("the USB parent's serial number tells identical adapters apart");
        m.exact("serial_number", *sn);
    } else if (const auto* port = attr(r, "port_path"); port && vid && pid) {
        m.comment("the bridge has no serial number: the USB port path keeps identical adapters apart");
        m.exact("port_path", *port);
    }
    if (!sn && !(vid && pid)) {
        m.comment("no USB parent: an on-board UART keeps its tty name, so the address is stable");
        m.exact("address", r.address);
    }
}

void suggest_net(const sdk::Resource& r, Skeleton& m) {
    if (const auto* service = attr(r, "mdns_service")) {
        m.comment("the advertised mDNS service survives DHCP changing the IP address");
        m.exact("mdns_service", *service);
        if (const auto* type = attr(r, "mdns_type")) m.exact("mdns_type", *type);
        bool first = true;
        for (const auto& [key, value] : r.attributes) {
            if (!key.starts_with("txt.") || key.size() == 4) continue;
            if (first)
                m.comment("TXT records describe the model; delete any that change between boots (status, uptime)");
            first = false;
            m.exact(key, value);
        }
    } else {
        m.comment("no mDNS advertisement: the address is the only key; give the device a DHCP reservation");
        m.exact("address", r.address);
    }
}

}  // namespace

std::string suggest_profile(const sdk::Resource& r, std::string_view driver, std::string_view profile_id) {
    Skeleton m;
    m.comment("only " + std::string(sdk::to_string(r.kind)) +
              " resources: one device can also appear as another kind (a USB printer's serial gadget)");
    m.plain("kind", sdk::to_string(r.kind));
    switch (r.kind) {
        case sdk::Resource::Kind::usb: suggest_usb(r, m); break;
        case sdk::Resource::Kind::serial: suggest_serial(r, m); break;
        case sdk::Resource::Kind::net: suggest_net(r, m); break;
    }

    std::string description;
    for (const auto* key : {"manufacturer", "product"})
        if (const auto* v = attr(r, key)) description += (description.empty() ? "" : " ") + *v;
    if (description.empty()) description = std::string(sdk::to_string(r.kind)) + " device at " + r.address;

    std::string out;
    out += "# Suggested by certlab from " + comment_text(r.address) + " (found by: " + comment_text(r.source) + ").\n";
    out += "# Review the keys below, add capabilities, serial: and settings:, then save it in\n";
    out += "# lab-config/devices/.\n";
    out += "profile: " + yaml_quoted(profile_id) + "\n";
    out += "description: " + yaml_quoted(description) + "\n";
    out += "driver: " + yaml_quoted(driver) + "\n";
    out += "# Raise it above a generic profile that also matches this device.\n";
    out += "priority: 0\n";
    out += "match:\n" + m.text();
    return out;
}

}  // namespace certlab::inventory
