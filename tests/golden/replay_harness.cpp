#include "replay_harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "config/station_config.hpp"
#include "sdk/registry.hpp"
#include "station/capture_json.hpp"
#include "transport/replay.hpp"

namespace certlab::test {
namespace {

using nlohmann::json;
using transport::Capture;
using transport::CaptureRecord;
namespace marker = transport::marker;

constexpr const char* timing_note =
    "values with a time unit (ns, us, ms, s, min, h) are not compared: replay serves every byte at once, "
    "so it cannot reproduce how long the device took";

json golden_values(const sdk::Values& values) {
    json j = json::parse(station::encode_values(values));
    for (auto& [k, v] : j.items())
        if (v.is_object() && v.contains("unit") && is_timing_unit(v["unit"].get<std::string>()))
            v = json{{"unit", v["unit"]}, {"timing", "not compared"}};
    return j;
}

json golden_identity(const sdk::Identity& id) {
    json j = json::parse(station::encode_identity(id));
    j["extra"] = golden_values(id.extra);
    return j;
}

json error_json(const transport::ErrorDescription& d) { return json{{"kind", d.kind}, {"message", d.message}}; }

bool is_operation(const CaptureRecord& r) {
    return r.kind == CaptureRecord::Kind::marker &&
           (r.name == marker::open || r.name == marker::identify || r.name == marker::invoke || r.name == marker::close);
}

/// Index ranges [first, end) of each operation in the capture, in order.
std::vector<std::pair<std::size_t, std::size_t>> operations(const Capture& c) {
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < c.records.size(); ++i)
        if (is_operation(c.records[i])) at.push_back(i);
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (std::size_t k = 0; k < at.size(); ++k) out.emplace_back(at[k], k + 1 < at.size() ? at[k + 1] : c.records.size());
    return out;
}

config::DeviceProfile find_profile(const std::string& id, const std::vector<std::filesystem::path>& dirs) {
    std::string problems;
    for (const auto& dir : dirs) {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            try {
                auto p = config::load_profile(f);
                if (p.id == id) return p;
            } catch (const std::exception& e) {
                problems += std::string("\n  ") + e.what();  // maybe the one we want: say why
            }
        }
    }
    throw std::runtime_error("capture names profile '" + id + "', which no profile file defines" + problems);
}

/// The driver as the device layer builds it, on a replay transport.
struct Bench {
    Bench(const Capture& c, config::DeviceProfile p)
        : profile(std::move(p)), transport(c), stream(transport),
          log(std::make_shared<spdlog::logger>("replay")) {  // no sinks: drivers' chatter stays out of test output
        settings = profile.settings;
        for (const auto& [k, v] : station::decode_settings(c.header.settings)) settings.set(k, v, "capture header");
        resource.address = c.header.address;
        resource.source = "replay";
        const auto* info = sdk::Registry::instance().find(profile.driver);
        if (!info) throw std::runtime_error("profile '" + profile.id + "' names driver '" + profile.driver + "', which is not built in");
        ctx = std::make_unique<sdk::DriverContext>(
            sdk::DriverContext{c.header.device, resource, stream, settings, log, profile.actions});
        driver = info->create(*ctx);
    }

    config::DeviceProfile profile;
    sdk::Settings settings;
    sdk::Resource resource;
    transport::ReplayTransport transport;
    sdk::Stream stream;
    std::shared_ptr<spdlog::logger> log;
    std::unique_ptr<sdk::DriverContext> ctx;
    std::unique_ptr<sdk::Driver> driver;
};

sdk::Task<json> walk(Bench& b, const Capture& c) {
    json steps = json::array();
    bool driver_open = false;
    const auto ops = operations(c);
    for (const auto& [first, end] : ops) {
        const auto& r = c.records[first];
        json step{{"op", r.name}};
        std::exception_ptr error;
        if (r.name == marker::open) {
            b.transport.window(first, end);  // the transport consumes `@ open` itself
            try {
                co_await b.transport.open(std::chrono::seconds(1));
                co_await b.driver->open();
                driver_open = true;
            } catch (...) {
                error = std::current_exception();
            }
        } else if (r.name == marker::identify) {
            b.transport.window(first + 1, end);
            try {
                sdk::Identity id = co_await b.driver->identify();
                step["identity"] = golden_identity(id);
            } catch (...) {
                error = std::current_exception();
            }
        } else if (r.name == marker::invoke) {
            const auto payload = station::split_payload(r.text);
            const sdk::Args args = station::decode_values(payload.json);
            step["action"] = payload.name;
            step["args"] = json::parse(station::encode_values(args));
            const auto* spec = sdk::find_action(payload.name);
            if (!spec) throw std::runtime_error("capture line " + std::to_string(r.line) + ": unknown action " + payload.name);
            b.transport.window(first + 1, end);
            try {
                sdk::Values values = co_await b.driver->invoke(*spec, args);
                step["values"] = golden_values(values);
            } catch (...) {
                error = std::current_exception();
            }
        } else {  // close
            b.transport.window(first, end);
            if (driver_open) b.driver->close();
            b.transport.close();
            driver_open = false;
        }
        if (error) {
            step["outcome"] = "error";
            step["error"] = error_json(transport::describe_error(error));
        } else if (r.name != marker::close) {
            step["outcome"] = "ok";
        }
        if (auto left = b.transport.unreplayed(); !left.empty()) step["unreplayed"] = left;
        steps.push_back(std::move(step));
    }
    co_return steps;
}

json document(const std::string& name, const Capture& c, json steps) {
    return json{{"capture", name},
                {"profile", c.header.profile},
                {"excluded", timing_note},
                {"steps", std::move(steps)}};
}

void diff(const json& e, const json& a, const std::string& path, std::vector<std::string>& out);

void diff_steps(const json& e, const json& a, std::vector<std::string>& out) {
    for (std::size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
        const json& any = i < a.size() ? a[i] : e[i];
        std::string label = "step " + std::to_string(i) + " " + any.value("op", "?");
        if (any.contains("action")) label += " " + any["action"].get<std::string>();
        if (i >= e.size()) out.push_back(label + ": not expected: " + a[i].dump());
        else if (i >= a.size()) out.push_back(label + ": missing: expected " + e[i].dump());
        else diff(e[i], a[i], label + ": ", out);
    }
}

void diff(const json& e, const json& a, const std::string& path, std::vector<std::string>& out) {
    const std::string at = path.empty() ? "(top)" : path;
    if (e.type() != a.type()) {
        out.push_back(at + " expected " + e.dump() + ", got " + a.dump());
        return;
    }
    if (e.is_object()) {
        for (const auto& [k, v] : e.items()) {
            const std::string sub = path + (path.empty() || path.ends_with(": ") ? "" : ".") + k;
            if (!a.contains(k)) out.push_back(sub + " missing: expected " + v.dump());
            else if (k == "steps" && path.empty() && v.is_array() && a[k].is_array()) diff_steps(v, a[k], out);
            else diff(v, a[k], sub, out);
        }
        for (const auto& [k, v] : a.items())
            if (!e.contains(k))
                out.push_back(path + (path.empty() || path.ends_with(": ") ? "" : ".") + k + " not expected: " + v.dump());
        return;
    }
    if (e.is_array()) {
        if (e.size() != a.size()) {
            out.push_back(at + " expected " + e.dump() + ", got " + a.dump());
            return;
        }
        for (std::size_t i = 0; i < e.size(); ++i) diff(e[i], a[i], path + "[" + std::to_string(i) + "]", out);
        return;
    }
    if (e != a) out.push_back(at + " expected " + e.dump() + ", got " + a.dump());
}

}  // namespace

bool is_timing_unit(const std::string& unit) {
    static const std::vector<std::string> units{"ns", "us", "\u00b5s", "ms", "s", "min", "h"};
    return std::find(units.begin(), units.end(), unit) != units.end();
}

json replay_capture(const Capture& capture, const std::string& name,
                    const std::vector<std::filesystem::path>& profile_dirs) {
    Bench bench(capture, find_profile(capture.header.profile, profile_dirs));
    boost::asio::io_context io(1);
    auto done = boost::asio::co_spawn(io, walk(bench, capture), boost::asio::use_future);
    io.run();
    return document(name, capture, done.get());
}

json recorded_outcomes(const Capture& c, const std::string& name) {
    json steps = json::array();
    for (const auto& [first, end] : operations(c)) {
        const auto& r = c.records[first];
        json step{{"op", r.name}};
        if (r.name == marker::invoke) {
            const auto payload = station::split_payload(r.text);
            step["action"] = payload.name;
            step["args"] = json::parse(station::encode_values(station::decode_values(payload.json)));
        }
        for (std::size_t i = first + 1; i < end && r.name != marker::close; ++i) {
            const auto& m = c.records[i];
            if (m.kind == CaptureRecord::Kind::error && m.name == "open" && r.name == marker::open) {
                step["outcome"] = "error";
                step["error"] = error_json({m.error_kind, m.text});
            } else if (m.kind == CaptureRecord::Kind::marker && m.name == marker::failed) {
                const auto payload = station::split_payload(m.text);
                step["outcome"] = "error";
                step["error"] = error_json(station::decode_error(payload.json));
            } else if (m.kind == CaptureRecord::Kind::marker && m.name == marker::identified) {
                step["outcome"] = "ok";
                step["identity"] = golden_identity(station::decode_identity(m.text));
            } else if (m.kind == CaptureRecord::Kind::marker && m.name == marker::result) {
                step["outcome"] = "ok";
                step["values"] = golden_values(station::decode_values(station::split_payload(m.text).json));
            }
        }
        if (r.name == marker::open && !step.contains("outcome")) step["outcome"] = "ok";
        if (r.name != marker::close && !step.contains("outcome")) step["outcome"] = "unknown (the recording ends here)";
        steps.push_back(std::move(step));
    }
    return document(name, c, std::move(steps));
}

std::vector<std::string> golden_diff(const json& expected, const json& actual) {
    std::vector<std::string> out;
    diff(expected, actual, "", out);
    return out;
}

}  // namespace certlab::test
