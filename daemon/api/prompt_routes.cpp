#include "api/prompt_routes.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

#include <nlohmann/json.hpp>

#include "api/json.hpp"
#include "record/store.hpp"

namespace certlab::api {

using json = nlohmann::ordered_json;

namespace {

constexpr int max_page = 1000;

/// The answer route's body limit: the largest attachment, base64-encoded (4 bytes per
/// 3), plus room for the rest of the JSON document.
constexpr std::size_t answer_body_limit = (record::Store::max_attachment_bytes + 2) / 3 * 4 + 64 * 1024;

Response ok(const json& doc) { return Response{200, "application/json", dump(doc), {}}; }

std::int64_t parse_id(std::string_view text, std::string_view what) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size())
        throw HttpError(400, std::string(what) + " must be an integer, got '" + std::string(text) + "'");
    return v;
}

std::int64_t prompt_id(const Request& req) {
    auto id = parse_id(req.params.at("id"), "prompt id");
    if (id <= 0) throw HttpError(404, "no prompt " + std::to_string(id));
    return id;
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json prompt_json(const record::Prompt& p, record::TimePoint now) {
    const std::string href = "/v1/prompts/" + std::to_string(p.id);
    json attachment = nullptr;
    if (p.attachment)
        attachment = {{"name", p.attachment->name},
                      {"size", p.attachment->size},
                      {"sha256", p.attachment->sha256},
                      {"href", href + "/attachment"}};
    json time_left = nullptr;
    if (p.status == record::PromptStatus::open)
        time_left = std::max(0.0, std::chrono::duration<double>(p.deadline - now).count());
    return {
        {"id", p.id},
        {"href", href},
        {"run", p.run_id},
        {"device", p.device_id},
        {"scenario", p.scenario_id},
        {"iteration", p.iteration},
        {"step", p.step_index},
        {"kind", p.kind},
        {"message", p.message},
        {"choices", p.choices},
        {"fail_on", p.fail_on},
        {"min", optional_number(p.min)},
        {"max", optional_number(p.max)},
        {"unit", p.unit},
        {"on_timeout", p.on_timeout},
        {"status", std::string(record::to_string(p.status))},
        {"opened_at", record::format_time(p.opened_at)},
        {"deadline", record::format_time(p.deadline)},
        {"time_left_s", time_left},
        {"closed_at", p.closed_at ? json(record::format_time(*p.closed_at)) : json(nullptr)},
        {"answer", p.answer ? json(*p.answer) : json(nullptr)},
        {"answered_by", p.answered_by},
        {"comment", p.comment},
        {"close_reason", p.close_reason},
        {"attachment", attachment},
    };
}

/// An optional string member ("" when absent or null).
std::string optional_string(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return {};
    if (!it->is_string()) throw HttpError(400, std::string("field '") + name + "' must be a string");
    return it->get<std::string>();
}

/// `answer` as text: a person's yes/no may arrive as a JSON boolean, a measurement as
/// a number; the prompt decides (engine::parse_answer) whether it is valid.
std::string answer_text(const json& body) {
    auto it = body.find("answer");
    if (it == body.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
    if (it->is_number()) return it->dump();
    throw HttpError(400, "field 'answer' must be a string, a boolean or a number");
}

std::optional<record::Attachment> attachment_of(const json& body) {
    auto it = body.find("attachment");
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_object()) throw HttpError(400, "field 'attachment' must be an object {name, content_base64}");
    record::Attachment a;
    a.name = optional_string(*it, "name");
    if (a.name.empty()) throw HttpError(400, "field 'attachment.name' must be a non-empty string");
    auto content = it->find("content_base64");
    if (content == it->end() || !content->is_string())
        throw HttpError(400, "field 'attachment.content_base64' must be a base64 string");
    auto bytes = decode_base64(content->get_ref<const std::string&>());
    if (!bytes) throw HttpError(400, "field 'attachment.content_base64' is not valid base64");
    a.content = std::move(*bytes);
    return a;
}

/// A file name safe inside a quoted Content-Disposition parameter.
std::string header_file_name(const std::string& name) {
    std::string out;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') ? '_' : c;
    }
    return out;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + k];
            if (c == '=' && last && k >= 2) {
                ++pad;
                v[k] = 0;
                continue;
            }
            if (pad > 0) return std::nullopt;  // data after padding
            v[k] = value(c);
            if (v[k] < 0) return std::nullopt;
        }
        const std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        out += static_cast<char>((n >> 16) & 0xFF);
        if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
        if (pad < 1) out += static_cast<char>(n & 0xFF);
    }
    return out;
}

void add_prompt_routes(Router& r, StationView& station) {
    r.add_any("GET", "/v1/prompts", [&station](const Request& req) {
        std::string status(req.query_param("status").value_or("open"));
        if (status != "open" && status != "all")
            throw HttpError(400, "query parameter 'status' must be open or all, got '" + status + "'");
        std::optional<std::int64_t> run;
        if (auto text = req.query_param("run")) run = parse_id(*text, "query parameter 'run'");
        int limit = 100;
        if (auto text = req.query_param("limit")) {
            auto v = parse_id(*text, "query parameter 'limit'");
            if (v < 1 || v > max_page)
                throw HttpError(400, "query parameter 'limit' must be between 1 and " + std::to_string(max_page));
            limit = static_cast<int>(v);
        }
        const auto now = std::chrono::system_clock::now();
        json list = json::array();
        for (const auto& p : station.store().list_prompts(status == "open", run, limit))
            list.push_back(prompt_json(p, now));
        return ok({{"prompts", std::move(list)}});
    });

    r.add_any("GET", "/v1/prompts/{id}", [&station](const Request& req) {
        auto id = prompt_id(req);
        auto p = station.store().get_prompt(id);
        if (!p) throw HttpError(404, "no prompt " + std::to_string(id));
        return ok(prompt_json(*p, std::chrono::system_clock::now()));
    });

    r.add(
        "POST", "/v1/prompts/{id}/answer",
        [&station](const Request& req) {
            auto id = prompt_id(req);
            json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
            if (body.is_discarded()) throw HttpError(400, "request body is not valid JSON");
            if (!body.is_object()) throw HttpError(400, "request body must be a JSON object");
            PromptAnswerInput input;
            input.answer = answer_text(body);
            input.by = optional_string(body, "by");
            input.comment = optional_string(body, "comment");
            input.attachment = attachment_of(body);
            auto result = station.answer_prompt(id, input);
            if (result.http_status != 200) throw HttpError(static_cast<unsigned>(result.http_status), result.error);
            auto p = station.store().get_prompt(id);
            if (!p) throw HttpError(500, "prompt " + std::to_string(id) + " was answered but cannot be read back");
            return ok(prompt_json(*p, std::chrono::system_clock::now()));
        },
        answer_body_limit);

    r.add_any("GET", "/v1/prompts/{id}/attachment", [&station](const Request& req) {
        auto id = prompt_id(req);
        const auto& store = station.store();
        if (!store.get_prompt(id)) throw HttpError(404, "no prompt " + std::to_string(id));
        auto a = store.get_attachment(id);
        if (!a) throw HttpError(404, "prompt " + std::to_string(id) + " has no attachment");
        Response res{200, "application/octet-stream", std::move(a->content), {}};
        res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + header_file_name(a->name) + "\"");
        return res;
    });
}

}  // namespace certlab::api
