#include "api/certification_routes.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "api/certification_json.hpp"
#include "api/json.hpp"
#include "certify/desk.hpp"

namespace certlab::api {

using json = nlohmann::ordered_json;

namespace {

Response ok(const json& doc, unsigned status = 200) { return Response{status, "application/json", dump(doc), {}}; }

Response created(const json& doc, const std::string& href) {
    auto res = ok(doc, 201);
    res.headers.emplace_back("Location", href);
    return res;
}

std::int64_t id_param(const Request& req, const char* name, const char* what) {
    const auto& text = req.params.at(name);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size())
        throw HttpError(400, std::string(what) + " id must be an integer, got '" + text + "'");
    if (v <= 0) throw HttpError(404, std::string("no ") + what + " " + text);
    return v;
}

std::int64_t cert_id(const Request& req) { return id_param(req, "id", "certification"); }

json parse_body(const Request& req) {
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) throw HttpError(400, "request body is not valid JSON");
    if (!body.is_object()) throw HttpError(400, "request body must be a JSON object");
    return body;
}

/// A required non-empty string member.
std::string required(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end()) throw HttpError(400, std::string("missing field '") + name + "'");
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
        throw HttpError(400, std::string("field '") + name + "' must be a non-empty string");
    return it->get<std::string>();
}

/// An optional string member ("" when absent or null).
std::string optional(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return {};
    if (!it->is_string()) throw HttpError(400, std::string("field '") + name + "' must be a string");
    return it->get<std::string>();
}

std::vector<std::string> string_list(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end()) throw HttpError(400, std::string("missing field '") + name + "'");
    const std::string bad = std::string("field '") + name + "' must be a non-empty list of non-empty strings";
    if (!it->is_array() || it->empty()) throw HttpError(400, bad);
    std::vector<std::string> out;
    for (const auto& e : *it) {
        if (!e.is_string() || e.get_ref<const std::string&>().empty()) throw HttpError(400, bad);
        out.push_back(e.get<std::string>());
    }
    return out;
}

certify::Desk& desk_of(StationView& station) {
    auto* desk = station.certification_desk();
    if (!desk) throw HttpError(503, "this station keeps no certification record");
    return *desk;
}

/// Runs a desk call, turning its refusals into problem documents.
template <class F>
Response with_desk(StationView& station, F&& f) {
    auto& desk = desk_of(station);
    try {
        return f(desk);
    } catch (const certify::Refusal& e) {
        switch (e.kind()) {
            case certify::Refusal::Kind::not_found: throw HttpError(404, e.what());
            case certify::Refusal::Kind::invalid: throw HttpError(422, e.what());
            case certify::Refusal::Kind::conflict: throw HttpError(409, e.what());
        }
        throw HttpError(409, e.what());
    }
}

std::string href(std::int64_t id) { return "/v1/certifications/" + std::to_string(id); }

}  // namespace

void add_certification_routes(Router& r, StationView& station) {
    r.add("GET", "/v1/certifications", [&station](const Request&) {
        return with_desk(station, [](certify::Desk& desk) {
            json list = json::array();
            for (const auto& v : desk.list()) list.push_back(certification_json(v));
            return ok({{"certifications", std::move(list)}});
        });
    });

    r.add("POST", "/v1/certifications", [&station](const Request& req) {
        auto body = parse_body(req);
        certify::IntakeRequest in;
        in.partner = required(body, "partner");
        in.integration = required(body, "integration");
        in.device_model = required(body, "device_model");
        in.serial_number = required(body, "serial_number");
        in.firmware = required(body, "firmware");
        in.device_id = required(body, "device");
        in.permissions = string_list(body, "permissions");
        in.by = optional(body, "by");
        std::optional<std::vector<std::string>> capabilities;
        for (const auto& d : station.devices())
            if (d.id == in.device_id) capabilities = d.capabilities;
        if (!capabilities) throw HttpError(404, "no device '" + in.device_id + "'");
        return with_desk(station, [&](certify::Desk& desk) {
            auto c = desk.intake(in, *capabilities);
            return created(certification_detail_json(desk.view(c.id)), href(c.id));
        });
    });

    r.add("GET", "/v1/certifications/{id}", [&station](const Request& req) {
        auto id = cert_id(req);
        return with_desk(station, [&](certify::Desk& desk) { return ok(certification_detail_json(desk.view(id))); });
    });

    r.add("POST", "/v1/certifications/{id}/scenarios/{scenario}/certify", [&station](const Request& req) {
        auto id = cert_id(req);
        auto body = parse_body(req);
        auto by = required(body, "by");
        return with_desk(station, [&](certify::Desk& desk) {
            auto s = desk.certify(id, req.params.at("scenario"), by);
            return ok({{"signoff", signoff_json(s)}, {"status", "certified"}});
        });
    });

    r.add("POST", "/v1/certifications/{id}/scenarios/{scenario}/reject", [&station](const Request& req) {
        auto id = cert_id(req);
        auto body = parse_body(req);
        auto by = required(body, "by");
        auto feedback = required(body, "feedback");
        return with_desk(station, [&](certify::Desk& desk) {
            auto [s, issue] = desk.reject(id, req.params.at("scenario"), by, feedback);
            return ok({{"signoff", signoff_json(s)}, {"status", "rejected"}, {"issue", issue_json(issue)}});
        });
    });

    r.add("POST", "/v1/certifications/{id}/issues", [&station](const Request& req) {
        auto id = cert_id(req);
        auto body = parse_body(req);
        record::Issue draft;
        draft.title = required(body, "title");
        draft.next_steps = optional(body, "next_steps");
        draft.scenario_id = optional(body, "scenario");
        draft.raised_by = optional(body, "by");
        if (auto severity = optional(body, "severity"); !severity.empty()) {
            auto s = record::parse_severity(severity);
            if (!s) throw HttpError(422, "severity must be critical, major or minor, got '" + severity + "'");
            draft.severity = *s;
        }
        return with_desk(station, [&](certify::Desk& desk) {
            auto issue = desk.add_issue(id, draft);
            return created(issue_json(issue), href(id) + "/issues/" + std::to_string(issue.id));
        });
    });

    r.add("POST", "/v1/certifications/{id}/issues/{issue}/close", [&station](const Request& req) {
        auto id = cert_id(req);
        auto issue_id = id_param(req, "issue", "issue");
        auto body = parse_body(req);
        auto resolution = required(body, "resolution");
        auto by = optional(body, "by");
        return with_desk(station, [&](certify::Desk& desk) {
            return ok(issue_json(desk.close_issue(id, issue_id, by, resolution)));
        });
    });

    r.add("POST", "/v1/certifications/{id}/merchants", [&station](const Request& req) {
        auto id = cert_id(req);
        auto body = parse_body(req);
        auto name = required(body, "name");
        auto location = optional(body, "location");
        auto by = optional(body, "by");
        return with_desk(station, [&](certify::Desk& desk) {
            auto m = desk.add_merchant(id, name, location, by);
            return created(merchant_json(m), href(id) + "/merchants/" + std::to_string(m.id));
        });
    });

    r.add("POST", "/v1/certifications/{id}/phase", [&station](const Request& req) {
        auto id = cert_id(req);
        auto body = parse_body(req);
        auto to_text = required(body, "to");
        auto to = record::parse_phase(to_text);
        if (!to)
            throw HttpError(422, "phase must be intake, lab, certified, pilot or ga, got '" + to_text + "'");
        auto by = optional(body, "by");
        auto note = optional(body, "note");
        return with_desk(station, [&](certify::Desk& desk) {
            auto change = desk.change_phase(id, *to, by, note);
            json doc = phase_change_json(change);
            doc["id"] = id;
            return ok(doc);
        });
    });
}

}  // namespace certlab::api
