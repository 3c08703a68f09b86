#include "config/api_config.hpp"

#include <charconv>
#include <cstdlib>

#include <boost/asio/ip/address.hpp>
#include <yaml-cpp/yaml.h>

#include "config/yaml_util.hpp"

namespace certlab::config {

namespace fs = std::filesystem;

namespace {

fs::path resolve(const fs::path& station_file, const std::string& p) {
    fs::path path(p);
    return path.is_absolute() ? path : (station_file.parent_path() / path).lexically_normal();
}

/// "65536", "64KiB", "1MiB": bytes, with binary units only (a limit must not be
/// ambiguous between 1000 and 1024).
std::size_t get_bytes(const YamlFile& f, const YAML::Node& map, std::string_view key, std::size_t fallback,
                      std::size_t min, std::size_t max) {
    auto node = map[std::string(key)];
    if (!node) return fallback;
    auto text = f.scalar(node, key);
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    std::size_t scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "KiB") scale = 1024;
    else if (unit == "MiB") scale = 1024 * 1024;
    if (ec != std::errc{} || end == text.data() || scale == 0)
        f.fail(node, std::string(key) + ": expected a size in bytes such as 65536, 64KiB or 1MiB, got '" + text + "'");
    value *= scale;
    if (value < min || value > max)
        f.fail(node, std::string(key) + ": expected a size from " + std::to_string(min) + " to " +
                         std::to_string(max) + " bytes");
    return value;
}

std::chrono::seconds get_seconds(const YamlFile& f, const YAML::Node& map, std::string_view key,
                                 std::chrono::seconds fallback) {
    auto d = f.get_duration(map, key, fallback);
    if (d < std::chrono::seconds(1))
        f.fail(map[std::string(key)], std::string(key) + ": expected at least 1s");
    return std::chrono::duration_cast<std::chrono::seconds>(d);
}

}  // namespace

bool is_loopback_address(const std::string& bind) {
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(bind, ec);
    return !ec && addr.is_loopback();
}

void read_api_config(const YamlFile& f, const YAML::Node& node, const fs::path& station_file, const std::string& bind,
                     ApiConfig& api) {
    if (node) {
        f.check_keys(node, {"bind", "port", "tokens", "tls", "allow_insecure", "limits"}, "api");
        api.where = f.where(node);
        if (node["tokens"]) api.tokens_file = resolve(station_file, f.get_string(node, "tokens", "api"));
        if (auto tls = node["tls"]) {
            f.check_keys(tls, {"cert", "key"}, "api.tls");
            api.tls_cert = resolve(station_file, f.get_string(tls, "cert", "api.tls"));
            api.tls_key = resolve(station_file, f.get_string(tls, "key", "api.tls"));
        }
        api.allow_insecure = f.get_bool(node, "allow_insecure", false);
        if (auto lim = node["limits"]) {
            f.check_keys(lim, {"max_body", "max_header", "idle_timeout", "request_timeout", "max_connections"},
                         "api.limits");
            api.max_body = get_bytes(f, lim, "max_body", api.max_body, 1024, 64u << 20);
            api.max_header = get_bytes(f, lim, "max_header", api.max_header, 1024, 1u << 20);
            api.idle_timeout = get_seconds(f, lim, "idle_timeout", api.idle_timeout);
            api.request_timeout = get_seconds(f, lim, "request_timeout", api.request_timeout);
            api.max_connections = static_cast<std::size_t>(
                f.get_int(lim, "max_connections", static_cast<std::int64_t>(api.max_connections), 1, 100000));
        }
    }
    // Under systemd the tokens come as a credential (LoadCredential=api-tokens:...):
    // a private copy only this service can read.
    if (api.tokens_file.empty()) {
        if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
            fs::path cred = fs::path(dir) / "api-tokens";
            std::error_code ec;
            if (fs::exists(cred, ec)) api.tokens_file = cred;
        }
    }
    if (is_loopback_address(bind)) return;
    std::string missing;
    if (!api.tls()) missing = "TLS (api.tls)";
    if (api.tokens_file.empty()) missing += std::string(missing.empty() ? "" : " and ") + "tokens (api.tokens)";
    if (missing.empty()) return;
    const std::string what = "api.bind " + bind + " is reachable from other machines, but the API has no " + missing;
    if (!api.allow_insecure) {
        const auto& at = node && node["bind"] ? node["bind"] : node;
        f.fail(at, what + "; add them, bind 127.0.0.1, or set api.allow_insecure: true to serve it anyway");
    }
    api.insecure_warning = what + "; serving it anyway because api.allow_insecure is true";
}

}  // namespace certlab::config
