#include "api/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace certlab::api::metrics {

namespace {

bool valid_name(std::string_view n, bool colon_ok) {
    if (n.empty()) return false;
    auto ok = [&](char c, bool first) {
        if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
        if (colon_ok && c == ':') return true;
        return !first && c >= '0' && c <= '9';
    };
    for (std::size_t i = 0; i < n.size(); ++i)
        if (!ok(n[i], i == 0)) return false;
    return true;
}

void check_labels(std::string_view metric, const Labels& labels, bool histogram) {
    for (const auto& [k, v] : labels) {
        // "__" names are reserved by Prometheus; "le" is a histogram's bucket label.
        if (!valid_name(k, false) || k.starts_with("__") || (histogram && k == "le"))
            throw std::invalid_argument("metric " + std::string(metric) + ": invalid label name '" + k + "'");
    }
}

void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
    if (labels.empty() && le.empty()) return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        out += escape_label_value(v);
        out += '"';
    }
    if (!le.empty()) {
        if (!first) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels, double value,
                   std::string_view le = {}) {
    out += name;
    append_labels(out, labels, le);
    out += ' ';
    out += format_value(value);
    out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    // Counts print as integers (2^53 is where doubles stop holding every integer).
    if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0)
        return std::to_string(static_cast<std::int64_t>(v));
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);  // shortest exact form
    return std::string(buf.data(), end);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
            throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
    }
    buckets_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
    // First bound >= v: bucket `le` holds observations less than or equal to it.
    auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    ++buckets_[i];
    sum_ += v;
    ++count_;
}

std::vector<std::uint64_t> Histogram::cumulative() const {
    std::vector<std::uint64_t> out(buckets_.size());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) out[i] = total += buckets_[i];
    return out;
}

Registry::Series& Registry::series(std::string_view name, std::string_view help, Type type, const Labels& labels) {
    if (!valid_name(name, true)) throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
    check_labels(name, labels, type == Type::histogram);
    auto fam = std::find_if(families_.begin(), families_.end(), [&](const Family& f) { return f.name == name; });
    if (fam == families_.end()) {
        families_.push_back(Family{std::string(name), std::string(help), type, {}});
        fam = std::prev(families_.end());
    } else if (fam->type != type) {
        throw std::invalid_argument("metric " + std::string(name) + " is already registered with another type");
    }
    for (auto& s : fam->series)
        if (s.labels == labels) return s;
    fam->series.push_back(Series{labels, Counter{}, Gauge{}, Histogram{}});
    return fam->series.back();
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
    return series(name, help, Type::counter, labels).counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
    return series(name, help, Type::gauge, labels).gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                               const Labels& labels) {
    auto& s = series(name, help, Type::histogram, labels);
    if (s.histogram.count() == 0 && s.histogram.bounds().empty()) s.histogram = Histogram(bounds);
    else if (s.histogram.bounds() != bounds)
        throw std::invalid_argument("histogram " + std::string(name) + " is already registered with other bounds");
    return s.histogram;
}

std::string Registry::render() const {
    std::string out;
    for (const auto& f : families_) {
        out += "# HELP " + f.name + ' ' + escape_help(f.help) + '\n';
        out += "# TYPE " + f.name + ' ';
        out += f.type == Type::counter ? "counter" : f.type == Type::gauge ? "gauge" : "histogram";
        out += '\n';
        for (const auto& s : f.series) {
            switch (f.type) {
            case Type::counter: append_sample(out, f.name, s.labels, s.counter.value()); break;
            case Type::gauge: append_sample(out, f.name, s.labels, s.gauge.value()); break;
            case Type::histogram: {
                const auto& h = s.histogram;
                const auto cum = h.cumulative();
                for (std::size_t i = 0; i < h.bounds().size(); ++i)
                    append_sample(out, f.name + "_bucket", s.labels, static_cast<double>(cum[i]),
                                  format_value(h.bounds()[i]));
                append_sample(out, f.name + "_bucket", s.labels, static_cast<double>(h.count()), "+Inf");
                append_sample(out, f.name + "_sum", s.labels, h.sum());
                append_sample(out, f.name + "_count", s.labels, static_cast<double>(h.count()));
                break;
            }
            }
        }
    }
    return out;
}

}  // namespace certlab::api::metrics
