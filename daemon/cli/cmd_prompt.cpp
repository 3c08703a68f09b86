// `certlab prompts` and `certlab answer`: the technician's side of prompt steps.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.hpp"

namespace certlab::cli {

namespace {

std::string base64(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
    }
    return out;
}

std::string read_binary(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError(exit_usage, "cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string base_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// How to answer a prompt, for the table: "yes|no", "good|faded|torn", "20..30 mm".
std::string answer_hint(const Json& p) {
    auto kind = text(p, "kind");
    if (kind == "confirm") return "yes|no";
    if (kind == "choice") {
        std::string out;
        for (const auto& c : p.value("choices", Json::array())) out += (out.empty() ? "" : "|") + c.get<std::string>();
        return out;
    }
    if (kind == "number") {
        auto bound = [&](const char* k) {
            auto it = p.find(k);
            return it == p.end() || it->is_null() ? std::string() : text(p, k);
        };
        std::string range = bound("min") + ".." + bound("max");
        std::string unit = p.value("unit", "");
        if (range == "..") range = "number";
        return unit.empty() ? range : range + " " + unit;
    }
    if (kind == "photo" || kind == "file") return "--file PATH";
    return "text";
}

}  // namespace

int cmd_prompts(const ApiClient& api, Output out, bool all, std::int64_t run) {
    std::string path = std::string("/v1/prompts?status=") + (all ? "all" : "open");
    if (run > 0) path += "&run=" + std::to_string(run);
    auto doc = api.get(path);
    if (out.json) {
        std::cout << doc.dump(2) << '\n';
        return exit_ok;
    }
    const auto& list = doc.value("prompts", Json::array());
    if (list.empty()) {
        std::cout << (all ? "no prompts\n" : "no prompts waiting for an answer\n");
        return exit_ok;
    }
    std::vector<std::string> headers{"ID", "RUN", "DEVICE", "SCENARIO", "KIND", "MESSAGE", "ANSWER WITH", "LEFT"};
    if (all) headers.insert(headers.end(), {"STATUS", "ANSWER"});
    Table table(headers);
    for (const auto& p : list) {
        std::vector<std::string> row{text(p, "id"),   text(p, "run"),     text(p, "device"),
                                     text(p, "scenario"), text(p, "kind"), text(p, "message"),
                                     answer_hint(p),  format_duration(p.value("time_left_s", Json()))};
        if (all) {
            row.push_back(paint(text(p, "status")));
            std::string answer = text(p, "answer");
            if (auto a = p.find("attachment"); a != p.end() && a->is_object())
                answer += " [" + text(*a, "name") + ", " + text(*a, "size") + " bytes]";
            row.push_back(answer);
        }
        table.add(std::move(row));
    }
    table.print(std::cout);
    return exit_ok;
}

int cmd_answer(const ApiClient& api, Output out, AnswerOptions opts) {
    if (opts.value.empty() && opts.file.empty())
        throw CliError(exit_usage, "give the answer (yes/no, a choice, a number, text) or a --file to attach");
    if (opts.by.empty())
        for (const char* var : {"CERTLAB_USER", "USER", "LOGNAME"})
            if (const char* v = std::getenv(var); v && *v) {
                opts.by = v;
                break;
            }
    Json body{{"answer", opts.value}, {"by", opts.by}, {"comment", opts.comment}};
    if (!opts.file.empty())
        body["attachment"] = {{"name", base_name(opts.file)}, {"content_base64", base64(read_binary(opts.file))}};
    auto doc = api.post("/v1/prompts/" + std::to_string(opts.id) + "/answer", body);
    if (out.json) {
        std::cout << doc.dump(2) << '\n';
        return exit_ok;
    }
    std::cout << "prompt " << opts.id << " answered: " << text(doc, "answer");
    if (auto by = text(doc, "answered_by"); by != "-" && !by.empty()) std::cout << " by " << by;
    if (auto a = doc.find("attachment"); a != doc.end() && a->is_object())
        std::cout << " (attached " << text(*a, "name") << ", " << text(*a, "size") << " bytes, sha256 "
                  << text(*a, "sha256") << ")";
    std::cout << '\n';
    return exit_ok;
}

}  // namespace certlab::cli
