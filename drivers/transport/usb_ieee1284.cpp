#include "transport/usb_ieee1284.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace certlab::transport {
namespace {

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

struct Alias {
    std::string_view long_name;
    std::string_view short_name;
};
constexpr std::array kAliases{
    Alias{"MANUFACTURER", "MFG"}, Alias{"COMMAND SET", "CMD"}, Alias{"MODEL", "MDL"},
    Alias{"CLASS", "CLS"},        Alias{"DESCRIPTION", "DES"},
};

std::string canonical_key(std::string_view key) {
    auto k = upper(trim(key));
    for (const auto& a : kAliases)
        if (k == a.long_name) return std::string(a.short_name);
    return k;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_ieee1284_id(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!text.empty()) {
        const auto semi = text.find(';');
        const auto field = text.substr(0, semi);
        text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
        const auto colon = field.find(':');
        if (colon == std::string_view::npos) continue;
        auto key = canonical_key(field.substr(0, colon));
        if (key.empty()) continue;
        const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == key; });
        if (!seen) out.emplace_back(std::move(key), std::string(trim(field.substr(colon + 1))));
    }
    return out;
}

std::string ieee1284_id_text(std::string_view answer) {
    const std::size_t n = answer.size();
    if (n < 2) return {};
    const auto b0 = static_cast<unsigned char>(answer[0]);
    const auto b1 = static_cast<unsigned char>(answer[1]);
    const std::size_t be = (std::size_t{b0} << 8) | b1;  // the standard: big-endian, counting itself
    const std::size_t le = (std::size_t{b1} << 8) | b0;
    // A length that accounts for exactly what arrived, read either way round and with
    // or without the two length bytes, is believed; otherwise a big-endian length
    // shorter than the answer cuts trailing junk; anything else takes what arrived.
    std::size_t end = n;
    const bool exact = be == n || be + 2 == n || le == n || le + 2 == n;
    if (!exact && be >= 2 && be < n) end = be;
    auto text = answer.substr(2, end - 2);
    // Some firmware pads with NULs after the last field.
    if (auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
    return std::string(text);
}

std::vector<std::string> ieee1284_command_sets(std::string_view cmd) {
    std::vector<std::string> out;
    while (!cmd.empty()) {
        const auto comma = cmd.find(',');
        auto item = trim(cmd.substr(0, comma));
        if (!item.empty()) out.emplace_back(item);
        cmd = comma == std::string_view::npos ? std::string_view{} : cmd.substr(comma + 1);
    }
    return out;
}

}  // namespace certlab::transport
