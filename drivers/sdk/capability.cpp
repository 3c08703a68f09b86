#include "sdk/capability.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <stdexcept>

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

    c.push_back({"scale", "A weighing scale: a checkout (POS) or bench scale.", {
        {"scale", "status", "Reads the scale's status: motion, zero, capacity, memory and calibration errors.", {},
         {{"motion", T::boolean, "", "the weight is not stable"},
          {"at_zero", T::boolean, "", "the scale is at its centre of zero"},
          {"under_load", T::boolean, "", "under capacity: the load is below the weighing range"},
          {"over_load", T::boolean, "", "over capacity: the load is above the weighing range"},
          {"ram_error", T::boolean, "", "RAM error"},
          {"rom_error", T::boolean, "", "ROM error"},
          {"eeprom_error", T::boolean, "", "EEPROM error"},
          {"calibration_error", T::boolean, "", "faulty calibration data"},
          {"fault", T::boolean, "", "any RAM, ROM, EEPROM or calibration error"},
          {"net", T::boolean, "", "the weight is net (tared); only from scales that report it"},
          {"high_range", T::boolean, "", "a dual-range scale is in its high range; only from scales that report it"},
          {"initial_zero_error", T::boolean, "", "the scale could not zero at power-up; only from scales that report it"},
          {"status_bytes", T::string, "", "the status bytes as received, in hex"},
          {"latency", T::number, "ms", "request to end of answer"}}},
        {"scale", "weigh", "Reads the weight; while the scale reports motion it asks again until the weight is stable "
                           "or the settle time is over, then reports the last reading with stable=false.",
         {{"settle", T::string, false, "how long to wait for a stable weight: 2s, 500ms (a bare number is ms; 0: one reading); default from the profile"}},
         {{"weight", T::number, "kg", "the weight in the unit the scale displays (see unit), converted for checks; "
                                      "not reported when the display shows no weight (over or under capacity)"},
          {"unit", T::string, "", "unit of the weight as the scale reports it: lb, kg, oz or g"},
          {"stable", T::boolean, "", "the scale reported no motion"},
          {"at_zero", T::boolean, "", "the scale is at its centre of zero"},
          {"under_load", T::boolean, "", "under capacity: the load is below the weighing range"},
          {"over_load", T::boolean, "", "over capacity: the load is above the weighing range"},
          {"readings", T::integer, "", "weight requests sent"},
          {"settle_time", T::number, "ms", "first request to the reported reading"},
          {"latency", T::number, "ms", "request to end of answer, for the reported reading"}}},
        {"scale", "zero", "Zeroes the scale and reads back whether it is at zero; refused (accepted=false) when the "
                          "scale does not zero (motion, a load outside its zero range, over capacity).", {},
         {{"accepted", T::boolean, "", "the scale reads at zero afterwards"},
          {"reason", T::string, "", "why the scale did not zero (empty when accepted)"},
          {"at_zero", T::boolean, "", "the scale is at its centre of zero"},
          {"motion", T::boolean, "", "the weight is not stable"}}},
        {"scale", "set_unit", "Switches the displayed unit; refused (accepted=false) when the scale does not offer it.",
         {{"unit", T::string, true, "lb, kg, oz or g"}},
         {{"accepted", T::boolean, "", "the scale shows the unit asked for"},
          {"reason", T::string, "", "why not (empty when accepted)"},
          {"unit", T::string, "", "the unit the scale shows afterwards"},
          {"presses", T::integer, "", "unit changes requested"}}},
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

namespace {

struct Defined {
    std::mutex mutex;
    std::deque<CapabilitySpec> specs;  // a deque: addresses stay put as it grows
};

Defined& defined() {
    static Defined d;
    return d;
}

std::string param_text(const ParamSpec& p) {
    return p.name + " (" + std::string(to_string(p.type)) + (p.required ? ", required" : "") + ")";
}

std::string result_text(const ResultSpec& r) {
    return r.name + " (" + std::string(to_string(r.type)) + (r.unit.empty() ? "" : ", " + r.unit) + ")";
}

}  // namespace

std::string capability_difference(const CapabilitySpec& a, const CapabilitySpec& b) {
    for (const auto& x : a.actions) {
        const auto* y = b.action(x.name);
        if (!y) return "action '" + x.name + "' is missing from one";
        for (const auto& p : x.params) {
            const auto* q = y->param(p.name);
            if (!q) return x.qualified() + ": parameter '" + p.name + "' is missing from one";
            if (q->type != p.type || q->required != p.required)
                return x.qualified() + ": parameter " + param_text(p) + " versus " + param_text(*q);
        }
        if (x.params.size() != y->params.size()) return x.qualified() + ": the parameters differ";
        for (const auto& r : x.results) {
            const auto* s = y->result(r.name);
            if (!s) return x.qualified() + ": result '" + r.name + "' is missing from one";
            if (s->type != r.type || s->unit != r.unit)
                return x.qualified() + ": result " + result_text(r) + " versus " + result_text(*s);
        }
        if (x.results.size() != y->results.size()) return x.qualified() + ": the results differ";
    }
    if (a.actions.size() != b.actions.size()) return "the actions differ";
    return {};
}

const CapabilitySpec& define_capability(CapabilitySpec spec) {
    for (const auto& c : capability_catalog())
        if (c.name == spec.name)
            throw std::invalid_argument("capability '" + spec.name + "' is built in; a profile cannot redefine it");
    for (auto& a : spec.actions) a.capability = spec.name;
    auto& d = defined();
    std::lock_guard lock(d.mutex);
    for (const auto& c : d.specs) {
        if (c.name != spec.name) continue;
        if (auto diff = capability_difference(c, spec); !diff.empty())
            throw std::invalid_argument("capability '" + spec.name + "' is already defined differently (" +
                                        c.origin + "): " + diff);
        return c;
    }
    return d.specs.emplace_back(std::move(spec));
}

std::vector<const CapabilitySpec*> all_capabilities() {
    std::vector<const CapabilitySpec*> out;
    for (const auto& c : capability_catalog()) out.push_back(&c);
    auto& d = defined();
    std::lock_guard lock(d.mutex);
    for (const auto& c : d.specs) out.push_back(&c);
    return out;
}

const CapabilitySpec* find_capability(std::string_view name) {
    for (const auto* c : all_capabilities())
        if (c->name == name) return c;
    return nullptr;
}

const ActionSpec* find_action(std::string_view qualified) {
    auto dot = qualified.find('.');
    if (dot == std::string_view::npos) return nullptr;
    const auto* cap = find_capability(qualified.substr(0, dot));
    return cap ? cap->action(qualified.substr(dot + 1)) : nullptr;
}

}  // namespace certlab::sdk
