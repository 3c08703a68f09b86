#include "config/yaml_util.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "sdk/settings.hpp"

namespace certlab::config {

YamlFile YamlFile::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw sdk::ConfigError(path.string() + ": cannot read file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path.string());
}

YamlFile YamlFile::parse(std::string_view text, std::string name) {
    YamlFile f;
    f.name_ = std::move(name);
    f.text_ = std::string(text);
    try {
        f.root_ = YAML::Load(f.text_);
    } catch (const YAML::ParserException& e) {
        throw sdk::ConfigError(f.name_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                               std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
    }
    return f;
}

std::string YamlFile::where(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.is_null()) return name_;
    return name_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

void YamlFile::fail(const YAML::Node& n, std::string_view message) const {
    throw sdk::ConfigError(where(n) + ": " + std::string(message));
}

void YamlFile::require_map(const YAML::Node& n, std::string_view what) const {
    if (!n.IsMap()) fail(n, std::string(what) + ": expected a mapping");
}

void YamlFile::require_seq(const YAML::Node& n, std::string_view what) const {
    if (!n.IsSequence()) fail(n, std::string(what) + ": expected a list");
}

void YamlFile::check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                          std::string_view what) const {
    require_map(map, what);
    for (const auto& kv : map) {
        auto key = kv.first.as<std::string>();
        bool ok = false;
        for (auto a : allowed) ok = ok || a == key;
        if (!ok) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            fail(kv.first, "unknown key '" + key + "' in " + std::string(what) +
                               " (expected one of: " + list + ")");
        }
    }
}

std::string YamlFile::scalar(const YAML::Node& n, std::string_view what) const {
    if (!n.IsScalar()) fail(n, std::string(what) + ": expected a single value");
    return n.Scalar();
}

std::string YamlFile::get_string(const YAML::Node& map, std::string_view key,
                                 std::string_view what) const {
    auto n = map[std::string(key)];
    if (!n) fail(map, std::string(what) + ": missing required key '" + std::string(key) + "'");
    auto s = scalar(n, key);
    if (s.empty()) fail(n, std::string(key) + ": expected a non-empty value");
    return s;
}

std::string YamlFile::get_string(const YAML::Node& map, std::string_view key,
                                 std::string_view what, std::string_view fallback) const {
    auto n = map[std::string(key)];
    if (!n) return std::string(fallback);
    return scalar(n, key);
}

std::int64_t YamlFile::get_int(const YAML::Node& map, std::string_view key, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) const {
    auto n = map[std::string(key)];
    if (!n) return fallback;
    auto s = scalar(n, key);
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max)
        fail(n, std::string(key) + ": expected an integer from " + std::to_string(min) + " to " +
                    std::to_string(max) + ", got '" + s + "'");
    return v;
}

bool YamlFile::get_bool(const YAML::Node& map, std::string_view key, bool fallback) const {
    auto n = map[std::string(key)];
    if (!n) return fallback;
    auto s = scalar(n, key);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, std::string(key) + ": expected true or false, got '" + s + "'");
}

std::chrono::microseconds YamlFile::get_duration(const YAML::Node& map, std::string_view key,
                                                 std::chrono::microseconds fallback) const {
    auto n = map[std::string(key)];
    if (!n) return fallback;
    auto s = scalar(n, key);
    auto d = sdk::parse_duration(s);
    if (!d) fail(n, std::string(key) + ": expected a duration such as 250ms, 2s or 5min, got '" + s + "'");
    return *d;
}

std::vector<std::string> YamlFile::get_string_list(const YAML::Node& map,
                                                   std::string_view key) const {
    std::vector<std::string> out;
    auto n = map[std::string(key)];
    if (!n) return out;
    if (n.IsScalar()) return {n.Scalar()};
    require_seq(n, key);
    for (const auto& item : n) out.push_back(scalar(item, key));
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

}  // namespace certlab::config
