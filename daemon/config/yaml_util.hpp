// Typed reading of YAML nodes with errors that name file:line:column and what was
// expected. Only config and suite loaders include this (it pulls in yaml-cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sdk/error.hpp"

namespace certlab::config {

/// A YAML document being read: remembers the file for error locations.
class YamlFile {
public:
    /// Parses `path`; a syntax error becomes ConfigError("file:line:col: ...").
    static YamlFile load(const std::filesystem::path& path);
    /// Parses text (tests, embedded defaults); `name` stands in for the file name.
    static YamlFile parse(std::string_view text, std::string name);

    [[nodiscard]] const YAML::Node& root() const { return root_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& text() const { return text_; }

    /// "file:line:column" of a node (1-based).
    [[nodiscard]] std::string where(const YAML::Node& n) const;
    [[noreturn]] void fail(const YAML::Node& n, std::string_view message) const;

    /// Requires a mapping and rejects keys not in `allowed` ("unknown key 'x' (expected one of: a, b)").
    void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                    std::string_view what) const;
    void require_map(const YAML::Node& n, std::string_view what) const;
    void require_seq(const YAML::Node& n, std::string_view what) const;

    [[nodiscard]] std::string get_string(const YAML::Node& map, std::string_view key,
                                         std::string_view what) const;  // required
    [[nodiscard]] std::string get_string(const YAML::Node& map, std::string_view key,
                                         std::string_view what, std::string_view fallback) const;
    [[nodiscard]] std::int64_t get_int(const YAML::Node& map, std::string_view key,
                                       std::int64_t fallback, std::int64_t min,
                                       std::int64_t max) const;
    [[nodiscard]] bool get_bool(const YAML::Node& map, std::string_view key, bool fallback) const;
    [[nodiscard]] std::chrono::microseconds get_duration(const YAML::Node& map,
                                                         std::string_view key,
                                                         std::chrono::microseconds fallback) const;
    [[nodiscard]] std::vector<std::string> get_string_list(const YAML::Node& map,
                                                           std::string_view key) const;
    /// A scalar as text; fails on maps and sequences.
    [[nodiscard]] std::string scalar(const YAML::Node& n, std::string_view what) const;

private:
    std::string name_;
    std::string text_;
    YAML::Node root_;
};

/// SHA-256 of bytes, lower-case hex (used for suite file provenance).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace certlab::config
