#include "sdk/capability.hpp"

#include <algorithm>

namespace certlab::sdk {
namespace {

using T = ValueType;

std::vector<CapabilitySpec> build_catalog() {
    std::vector<CapabilitySpec> c;

    c.push_back({"printer", "A receipt or kitchen printer.", {
        {"printer", "status", "Reads the real-time status (online, paper, cover, errors).", {},
         {{"online", T::boolean, "", "printer is online and will print"},
          {"paper_out", T::boolean, "", "roll paper end detected"},
          {"paper_near_end", T::boolean, "", "roll paper near-end detected"},
          {"cover_open", T::boolean, "", "cover is open"},
          {"feed_pressed", T::boolean, "", "paper feed button is pressed"},
          {"error", T::boolean, "", "an error condition is present"},
          {"recoverable_error", T::boolean, "", "an automatically recoverable error occurred"},
          {"cutter_error", T::boolean, "", "autocutter error"},
          {"unrecoverable_error", T::boolean, "", "unrecoverable error"},
          {"latency", T::number, "ms", "request to last status byte"}}},
        {"printer", "identify", "Reads model, type and firmware identification.", {},
         {{"model_id", T::integer, "", "printer model ID"},
          {"type_id", T::integer, "", "printer type ID bits"},
          {"firmware", T::string, "", "firmware version"},
          {"manufacturer", T::string, "", "manufacturer name"},
          {"model", T::string, "", "model name"},
          {"serial_number", T::string, "", "serial number"}}},
        {"printer", "print", "Prints text lines; refuses (accepted=false) when the printer cannot print.",
         {{"lines", T::string_list, false, "the lines to print"},
          {"count", T::integer, false, "print a generated receipt of this many lines"},
          {"title", T::string, false, "heading of a generated receipt"}},
         {{"accepted", T::boolean, "", "the job was sent and the printer stayed ready"},
          {"reason", T::string, "", "why the job was refused (empty when accepted)"},
          {"lines", T::integer, "", "lines sent"},
          {"bytes", T::integer, "B", "bytes sent"},
          {"latency", T::number, "ms", "time to send the job and confirm status"}}},
        {"printer", "cut", "Feeds and cuts the paper.",
         {{"partial", T::boolean, false, "partial cut instead of full cut"},
          {"feed", T::integer, false, "lines to feed before cutting"}},
         {{"accepted", T::boolean, "", "the cut was sent and the printer stayed ready"},
          {"reason", T::string, "", "why the cut was refused"}}},
    }});

    c.push_back({"cash_drawer", "A cash drawer, usually driven through a printer's kick port.", {
        {"cash_drawer", "open", "Pulses the drawer kick connector.",
         {{"pin", T::integer, false, "connector pin: 2 or 5"},
          {"on_ms", T::integer, false, "pulse on time [ms]"},
          {"off_ms", T::integer, false, "pulse off time [ms]"}},
         {{"accepted", T::boolean, "", "pulse sent"}}},
        {"cash_drawer", "status", "Reads the drawer open sensor.", {},
         {{"open", T::boolean, "", "drawer is open (sensor level per profile)"}}},
    }});

    c.push_back({"power", "A switchable supply powering a device: a bench power supply or a switched outlet.", {
        {"power", "identify", "Reads manufacturer, model, serial number and firmware.", {},
         {{"manufacturer", T::string, "", "manufacturer name"},
          {"model", T::string, "", "model name"},
          {"serial_number", T::string, "", "serial number"},
          {"firmware", T::string, "", "firmware version"}}},
        {"power", "on", "Switches the output on and reads its state back.", {},
         {{"output", T::boolean, "", "the output reads on"}}},
        {"power", "off", "Switches the output off and reads its state back.", {},
         {{"output", T::boolean, "", "the output reads on"}}},
        {"power", "cycle", "Switches the output off, waits the off time, and switches it on again.",
         {{"off_time", T::string, false, "how long the output stays off: 500ms, 2s (a bare number is ms); default from the profile"}},
         {{"output", T::boolean, "", "the output reads on after the cycle"},
          {"off_time", T::number, "ms", "time the output was off"}}},
        {"power", "measure", "Measures the output voltage and current.", {},
         {{"voltage", T::number, "V", "measured output voltage"},
          {"current", T::number, "A", "measured output current"},
          {"output", T::boolean, "", "the output reads on"}}},
        {"power", "set", "Programs the output voltage and current limit, then reads them back.",
         {{"voltage", T::number, false, "output voltage [V]; default from the profile"},
          {"current", T::number, false, "current limit [A]; default from the profile"}},
         {{"voltage", T::number, "V", "programmed voltage as read back"},
          {"current", T::number, "A", "programmed current limit as read back"}}},
        {"power", "status", "Reads the output state, the set-points and the protection state.", {},
         {{"output", T::boolean, "", "the output reads on"},
          {"voltage_setpoint", T::number, "V", "programmed output voltage"},
          {"current_limit", T::number, "A", "programmed current limit"},
          {"tripped", T::boolean, "", "over-current protection switched the output off"}}},
    }});

    return c;
}

}  // namespace

std::string_view to_string(ValueType t) {
    switch (t) {
        case T::boolean: return "boolean";
        case T::integer: return "integer";
        case T::number: return "number";
        case T::string: return "string";
        case T::string_list: return "list of strings";
    }
    return "?";
}

const ParamSpec* ActionSpec::param(std::string_view n) const {
    auto it = std::find_if(params.begin(), params.end(), [&](auto& p) { return p.name == n; });
    return it == params.end() ? nullptr : &*it;
}

const ResultSpec* ActionSpec::result(std::string_view n) const {
    auto it = std::find_if(results.begin(), results.end(), [&](auto& r) { return r.name == n; });
    return it == results.end() ? nullptr : &*it;
}

const ActionSpec* CapabilitySpec::action(std::string_view n) const {
    auto it = std::find_if(actions.begin(), actions.end(), [&](auto& a) { return a.name == n; });
    return it == actions.end() ? nullptr : &*it;
}

std::span<const CapabilitySpec> capability_catalog() {
    static const std::vector<CapabilitySpec> catalog = build_catalog();
    return catalog;
}

const CapabilitySpec* find_capability(std::string_view name) {
    for (const auto& c : capability_catalog())
        if (c.name == name) return &c;
    return nullptr;
}

const ActionSpec* find_action(std::string_view qualified) {
    auto dot = qualified.find('.');
    if (dot == std::string_view::npos) return nullptr;
    const auto* cap = find_capability(qualified.substr(0, dot));
    return cap ? cap->action(qualified.substr(dot + 1)) : nullptr;
}

}  // namespace certlab::sdk
