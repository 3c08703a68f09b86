#include "config/upload_config.hpp"

#include <charconv>
#include <cstdlib>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "config/yaml_util.hpp"

namespace certlab::config {

namespace fs = std::filesystem;

namespace {

fs::path resolve(const fs::path& station_file, const std::string& p) {
    fs::path path(p);
    return path.is_absolute() ? path : (station_file.parent_path() / path).lexically_normal();
}

std::chrono::milliseconds get_ms(const YamlFile& f, const YAML::Node& map, std::string_view key,
                                 std::chrono::milliseconds fallback, std::chrono::milliseconds min) {
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(f.get_duration(map, key, fallback));
    if (d < min)
        f.fail(map[std::string(key)], std::string(key) + ": expected at least " + std::to_string(min.count()) + "ms");
    return d;
}

}  // namespace

void read_upload_config(const YamlFile& f, const YAML::Node& node, const fs::path& station_file,
                        UploadConfig& upload) {
    if (!node) return;
    f.check_keys(node, {"url", "ca", "token_file", "timeout", "backoff"}, "upload");
    upload.enabled = true;
    upload.where = f.where(node);
    upload.url = f.get_string(node, "url", "upload");
    // https only: results and the token never cross a network in the clear.
    static const std::regex form(R"(https://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?(/[^?#\s]*)?)");
    std::smatch m;
    if (!std::regex_match(upload.url, m, form))
        f.fail(node["url"], "url: expected https://host[:port][/path], got '" + upload.url + "'");
    upload.host = m[1];
    if (upload.host.front() == '[') upload.host = upload.host.substr(1, upload.host.size() - 2);
    if (m[3].matched) {
        unsigned port = 0;
        const std::string p = m[3];
        std::from_chars(p.data(), p.data() + p.size(), port);
        if (port == 0 || port > 65535) f.fail(node["url"], "url: expected a port from 1 to 65535, got " + p);
        upload.port = static_cast<std::uint16_t>(port);
    }
    upload.base = m[4];
    while (!upload.base.empty() && upload.base.back() == '/') upload.base.pop_back();
    if (node["ca"]) upload.ca_file = resolve(station_file, f.get_string(node, "ca", "upload"));
    if (node["token_file"]) upload.token_file = resolve(station_file, f.get_string(node, "token_file", "upload"));
    upload.timeout = get_ms(f, node, "timeout", upload.timeout, std::chrono::milliseconds(100));
    if (auto b = node["backoff"]) {
        f.check_keys(b, {"initial", "max"}, "upload.backoff");
        upload.backoff_initial = get_ms(f, b, "initial", upload.backoff_initial, std::chrono::milliseconds(10));
        upload.backoff_max = get_ms(f, b, "max", upload.backoff_max, std::chrono::milliseconds(10));
        if (upload.backoff_max < upload.backoff_initial)
            f.fail(b["max"], "max: expected at least the initial backoff");
    }
    // Under systemd the token comes as a credential only this service can read.
    if (upload.token_file.empty()) {
        if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir)
            upload.token_file = fs::path(dir) / "record-token";
    }
    if (upload.token_file.empty())
        f.fail(node, "upload: expected token_file (the record's bearer token), or a record-token credential "
                     "from systemd (LoadCredential=record-token:...)");
}

}  // namespace certlab::config
