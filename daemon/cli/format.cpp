#include "cli/format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>

#include <unistd.h>

namespace certlab::cli {

bool use_color() {
    static const bool enabled = ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
    return enabled;
}

std::string paint(std::string_view word) {
    if (!use_color()) return std::string(word);
    const char* code = nullptr;
    if (word == "pass" || word == "ok" || word == "certified") code = "32";
    else if (word == "fail" || word == "failed" || word == "rejected" || word == "critical") code = "31";
    else if (word == "error" || word == "timeout" || word == "aborted" || word == "interrupted" ||
             word == "lost" || word == "quarantined" || word == "retrying")
        code = "33";
    else if (word == "running" || word == "busy" || word == "passed") code = "36";
    if (!code) return std::string(word);
    return std::string("\x1b[") + code + "m" + std::string(word) + "\x1b[0m";
}

std::string text(const Json& obj, std::string_view key) {
    if (!obj.is_object()) return "-";
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return "-";
    if (it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        return s.empty() ? "-" : s;
    }
    return it->dump();
}

std::string format_duration(const Json& seconds) {
    return seconds.is_number() ? format_duration(seconds.get<double>()) : "-";
}

std::string format_duration(double s) {
    char buf[32];
    if (s < 0) s = 0;
    if (s < 1) {
        std::snprintf(buf, sizeof buf, "%dms", static_cast<int>(std::lround(s * 1000)));
    } else if (s < 60) {
        std::snprintf(buf, sizeof buf, "%.1fs", s);
    } else {
        auto total = static_cast<long long>(s);
        long long d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, sec = total % 60;
        if (d > 0) std::snprintf(buf, sizeof buf, "%lldd%02lldh", d, h);
        else if (h > 0) std::snprintf(buf, sizeof buf, "%lldh%02lldm", h, m);
        else std::snprintf(buf, sizeof buf, "%lldm%02llds", m, sec);
    }
    return buf;
}

std::string format_time(const Json& iso) {
    if (!iso.is_string()) return "-";
    std::string s = iso.get<std::string>();
    // The daemon always sends YYYY-MM-DDTHH:MM:SS.mmmZ; show seconds, keep the Z
    // so nobody mistakes UTC for local time.
    if (s.size() >= 19 && s[10] == 'T') return s.substr(0, 10) + " " + s.substr(11, 8) + "Z";
    return s;
}

std::size_t display_width(std::string_view s) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == 0x1b) {  // skip "ESC [ ... m"
            while (i < s.size() && s[i] != 'm') ++i;
            continue;
        }
        if ((c & 0xC0) != 0x80) ++width;  // count code points, not bytes
    }
    return width;
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add(std::vector<std::string> row) {
    row.resize(headers_.size());
    rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> widths(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        widths[c] = display_width(headers_[c]);
        for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            s += cells[c];
            if (c + 1 < cells.size()) s.append(widths[c] - display_width(cells[c]) + 2, ' ');
        }
        out << s << '\n';
    };
    line(headers_);
    for (const auto& row : rows_) line(row);
}

}  // namespace certlab::cli
