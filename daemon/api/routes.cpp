#include "api/routes.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/certification_routes.hpp"
#include "api/dashboard.hpp"
#include "api/json.hpp"
#include "api/metrics.hpp"
#include "api/prompt_routes.hpp"
#include "api/step_docs.hpp"
#include "record/store.hpp"

namespace certlab::api {

// Ordered: documents keep the field order of docs/API.md (id first).
using json = nlohmann::ordered_json;

namespace {

// Bounds on page sizes: a client cannot make one request pull the whole store.
constexpr int max_page = 1000;

Response ok(const json& doc, unsigned status = 200) {
    return Response{status, "application/json", dump(doc), {}};
}

std::int64_t parse_int(std::string_view text, std::string_view what) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size())
        throw HttpError(400, std::string(what) + " must be an integer, got '" + std::string(text) + "'");
    return v;
}

/// An integer query parameter in [lo, hi], or `fallback` when absent.
std::int64_t query_int(const Request& req, std::string_view name, std::int64_t fallback,
                       std::int64_t lo, std::int64_t hi) {
    auto text = req.query_param(name);
    if (!text) return fallback;
    std::string what = "query parameter '" + std::string(name) + "'";
    auto v = parse_int(*text, what);
    if (v < lo || v > hi)
        throw HttpError(400, what + " must be between " + std::to_string(lo) + " and " +
                                 std::to_string(hi) + ", got " + std::to_string(v));
    return v;
}

std::int64_t run_id_param(const Request& req) {
    auto id = parse_int(req.params.at("id"), "run id");
    if (id <= 0) throw HttpError(404, "no run " + std::to_string(id));
    return id;
}

/// A required non-empty string member of a JSON object body.
std::string body_string(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end()) throw HttpError(400, std::string("missing field '") + name + "'");
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
        throw HttpError(400, std::string("field '") + name + "' must be a non-empty string");
    return it->get<std::string>();
}

/// A body that may be empty (an empty object then) or else must be a JSON object.
json optional_object_body(const Request& req) {
    if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) throw HttpError(400, "request body is not valid JSON");
    if (!body.is_object()) throw HttpError(400, "request body must be a JSON object");
    return body;
}

/// An optional string member of a JSON object body: `fallback` when absent, null or "".
std::string optional_body_string(const json& body, const char* name, const char* fallback) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_string()) throw HttpError(400, std::string("field '") + name + "' must be a string");
    return it->get_ref<const std::string&>().empty() ? fallback : it->get<std::string>();
}

auto now() { return std::chrono::system_clock::now(); }

}  // namespace

Router make_routes(StationView& station) {
    Router r;

    r.add("GET", "/v1/health", [&station](const Request&) {
        return ok(health_json(station.health(), now()));
    });

    r.add("GET", "/v1/upload", [&station](const Request&) {
        return ok(upload_json(station.upload_status(), now()));
    });

    r.add_any("GET", "/v1/devices", [&station](const Request&) {
        json list = json::array();
        for (const auto& d : station.devices()) list.push_back(device_json(d));
        return ok({{"devices", std::move(list)}});
    });

    r.add_any("GET", "/v1/devices/{id}", [&station](const Request& req) {
        const auto& id = req.params.at("id");
        for (const auto& d : station.devices())
            if (d.id == id) return ok(device_json(d));
        throw HttpError(404, "no device '" + id + "'");
    });

    r.add("GET", "/v1/drivers", [&station](const Request&) {
        auto info = station.drivers();
        auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
        json list = json::array();
        for (const auto& d : info.drivers)
            list.push_back({{"name", d.name},
                            {"version", d.version},
                            {"origin", d.origin},
                            {"doc", d.doc},
                            {"capabilities", d.capabilities},
                            {"file", or_null(d.file)},
                            {"device", or_null(d.device)}});
        json refused = json::array();
        for (const auto& p : info.refused) refused.push_back({{"file", p.file}, {"reason", p.reason}});
        return ok({{"drivers", std::move(list)}, {"refused_plugins", std::move(refused)}});
    });

    r.add("GET", "/v1/suites", [&station](const Request&) {
        json list = json::array();
        for (const auto& s : station.suites()) list.push_back(suite_json(s));
        return ok({{"suites", std::move(list)}});
    });

    r.add_any("GET", "/v1/runs", [&station](const Request& req) {
        auto limit = static_cast<int>(query_int(req, "limit", 50, 1, max_page));
        std::string device(req.query_param("device").value_or(""));
        json list = json::array();
        auto t = now();
        for (const auto& run : station.store().list_runs(limit, device))
            list.push_back(run_json(run, t));
        return ok({{"runs", std::move(list)}});
    });

    // Committed steps never change: each is rendered once (api/step_docs.hpp) and the
    // documents below are put together around the held renderings.
    auto docs = std::make_shared<StepDocs>();

    r.add_any("GET", "/v1/runs/{id}", [&station, docs](const Request& req) {
        auto id = run_id_param(req);
        // -1 means every step; large soak runs make that a big answer, by request.
        auto steps = static_cast<int>(query_int(req, "steps", 50, -1, 100000));
        auto detail = station.store().get_run_detail(id, steps, docs->known());
        if (!detail) throw HttpError(404, "no run " + std::to_string(id));
        json scenarios = json::array();
        for (const auto& s : detail->scenarios) scenarios.push_back(scenario_json(s));
        // {"run", "scenarios", "steps", "step_count"}, as dump() would write it; sized
        // for a soak's steps (~1.3 KB each) so it is not copied as it grows.
        std::string body;
        body.reserve(4096 + detail->steps.size() * 1536);
        body += R"({"run":)" + dump(run_json(detail->run, now())) + R"(,"scenarios":)" + dump(scenarios) +
                R"(,"steps":[)";
        docs->append(detail->steps, body);
        body += R"(],"step_count":)" + std::to_string(detail->step_count) + "}";
        return Response{200, "application/json", std::move(body), {}};
    });

    r.add_any("GET", "/v1/runs/{id}/steps", [&station, docs](const Request& req) {
        auto id = run_id_param(req);
        auto after = query_int(req, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
        auto limit = static_cast<int>(query_int(req, "limit", 100, 1, max_page));
        const auto& store = station.store();
        if (!store.get_run(id)) throw HttpError(404, "no run " + std::to_string(id));
        auto steps = store.steps(id, after, limit, docs->known());
        std::int64_t next_after = after;
        for (const auto& s : steps) next_after = std::max(next_after, s.seq);
        // {"run_id", "steps", "next_after", "step_count"}; pass next_after back as
        // ?after= to page on, or to poll for new steps.
        std::string body;
        body.reserve(256 + steps.size() * 1536);
        body += R"({"run_id":)" + std::to_string(id) + R"(,"steps":[)";
        docs->append(steps, body);
        body += R"(],"next_after":)" + std::to_string(next_after) + R"(,"step_count":)" +
                std::to_string(store.step_count(id)) + "}";
        return Response{200, "application/json", std::move(body), {}};
    });

    r.add("GET", "/v1/resources", [&station](const Request&) {
        json list = json::array();
        for (const auto& res : station.resources())
            list.push_back({{"address", res.address},
                            {"kind", res.kind},
                            {"source", res.source},
                            {"attributes", res.attributes},
                            {"device", res.device.empty() ? json(nullptr) : json(res.device)},
                            {"claimed", !res.device.empty()},
                            {"reason", res.reason}});
        return ok({{"resources", std::move(list)}});
    });

    r.add("GET", "/v1/resources/suggest", [&station](const Request& req) {
        auto param = [&](const char* k, const char* fallback) {
            auto it = req.query.find(k);
            return it == req.query.end() || it->second.empty() ? std::string(fallback) : it->second;
        };
        auto address = param("address", "");
        if (address.empty()) throw HttpError(400, "query parameter 'address' is required");
        auto yaml = station.suggest_profile(address, param("driver", "escpos"), param("profile", "new-device"));
        if (!yaml) throw HttpError(404, "no resource at '" + address + "'");
        return ok({{"address", address}, {"yaml", *yaml}});
    });

    r.add("POST", "/v1/devices/{id}/release", [&station](const Request& req) {
        auto id = req.params.at("id");
        auto result = station.release_device(id);
        if (result.http_status != 200)
            throw HttpError(static_cast<unsigned>(result.http_status), result.error);
        return ok({{"id", id}, {"released", true}});
    });

    r.add("POST", "/v1/runs", [&station](const Request& req) {
        json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded()) throw HttpError(400, "request body is not valid JSON");
        if (!body.is_object()) throw HttpError(400, "request body must be a JSON object");
        auto device = body_string(body, "device");
        auto suite = body_string(body, "suite");
        std::optional<std::int64_t> certification;
        if (auto it = body.find("certification"); it != body.end() && !it->is_null()) {
            if (!it->is_number_integer() || it->get<std::int64_t>() <= 0)
                throw HttpError(400, "field 'certification' must be a certification id (a positive integer)");
            certification = it->get<std::int64_t>();
        }
        auto result = station.start_run(device, suite, certification);
        if (!result.run_id) {
            // The station decides the status (404, 409, 422, 503); pass it through.
            unsigned status = result.http_status >= 400 && result.http_status <= 599
                                  ? static_cast<unsigned>(result.http_status)
                                  : 500u;
            throw HttpError(status, result.error.empty() ? "the station refused the run"
                                                         : result.error);
        }
        auto href = "/v1/runs/" + std::to_string(*result.run_id);
        auto res = ok({{"id", *result.run_id}, {"href", href}}, 202);
        res.headers.emplace_back("Location", href);
        return res;
    });

    r.add("POST", "/v1/runs/{id}/abort", [&station](const Request& req) {
        auto id = run_id_param(req);
        auto body = optional_object_body(req);
        auto by = optional_body_string(body, "by", "an API client");
        auto reason = optional_body_string(body, "reason", "");
        auto result = station.abort_run(id, by, reason);
        if (result.http_status >= 300)
            throw HttpError(static_cast<unsigned>(result.http_status), result.error);
        // Accepted, not done: the run ends at its next step boundary; follow it there.
        auto href = "/v1/runs/" + std::to_string(id);
        auto res = ok({{"id", id}, {"href", href}, {"aborting", true}}, 202);
        res.headers.emplace_back("Location", href);
        return res;
    });

    // Re-reads station.yaml, profiles and suites, as SIGHUP does (admin).
    r.add("POST", "/v1/reload", [&station](const Request&) {
        auto result = station.reload();
        if (result.http_status == 200)
            return ok({{"reloaded", true}, {"changes", result.changes}, {"warnings", result.warnings}});
        // A problem document with the config errors as an extension member (RFC 7807 3.2).
        auto res = problem(static_cast<unsigned>(result.http_status),
                           result.errors.empty() ? "the configuration was refused" : result.errors.front());
        auto doc = json::parse(res.body);
        doc["errors"] = result.errors;
        res.body = dump(doc);
        return res;
    });

    // Prometheus text format, for scrapers; docs/API.md "Metrics" lists the families.
    r.add("GET", "/metrics", [&station](const Request&) {
        metrics::Registry registry;
        station.collect_metrics(registry);
        return Response{200, metrics::content_type, registry.render(), {}};
    });

    add_certification_routes(r, station);
    add_prompt_routes(r, station);
    add_dashboard_routes(r);
    return r;
}

}  // namespace certlab::api
