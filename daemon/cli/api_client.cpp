#include "cli/api_client.hpp"

#include <cctype>

namespace certlab::cli {

Json ApiClient::get(std::string_view path) const {
    return decode(http_.get(path), "GET " + std::string(path));
}

Json ApiClient::post(std::string_view path, const Json& body) const {
    return decode(http_.post_json(path, body.dump()), "POST " + std::string(path));
}

Json ApiClient::decode(const HttpResponse& res, std::string_view what) const {
    Json doc = Json::parse(res.body, nullptr, /*allow_exceptions=*/false);
    if (res.status >= 200 && res.status < 300) {
        if (doc.is_discarded())
            throw CliError(exit_usage, "certlabd at " + http_.station().text + " answered " +
                                           std::string(what) + " with something that is not JSON");
        return doc;
    }
    // problem+json: {"title": "Conflict", "status": 409, "detail": "..."}
    std::string message = "certlabd: " + std::to_string(res.status);
    if (doc.is_object()) {
        if (auto t = text(doc, "title"); t != "-") message += " " + t;
        if (auto d = text(doc, "detail"); d != "-") message += ": " + d;
    } else {
        message += " (" + std::string(what) + ")";
    }
    throw CliError(exit_usage, message);
}

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

}  // namespace certlab::cli
