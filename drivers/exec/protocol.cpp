#include "exec/protocol.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <type_traits>

#include "sdk/error.hpp"

namespace certlab::exec {
namespace {

using json = nlohmann::json;

/// Serialises one request line. Strings that are not UTF-8 (a setting with a stray
/// byte) are repaired rather than making the request impossible to send.
std::string line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

[[noreturn]] void violation(const std::string& what) { throw ProtocolViolation(what); }

const json& field(const json& j, const char* key, const char* type) {
    auto it = j.find(key);
    if (it == j.end()) violation(std::string(type) + ": missing field '" + key + "'");
    return *it;
}

std::string string_field(const json& j, const char* key, const char* type) {
    const auto& v = field(j, key, type);
    if (!v.is_string()) violation(std::string(type) + ": field '" + key + "' must be a string");
    return v.get<std::string>();
}

std::uint64_t id_field(const json& j, const char* type) {
    const auto& v = field(j, "id", type);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
        violation(std::string(type) + ": field 'id' must be a non-negative integer");
    return v.get<std::uint64_t>();
}

/// An integer field within [min, max].
std::int64_t int_field(const json& j, const char* key, const char* type, std::int64_t min, std::int64_t max) {
    const auto& v = field(j, key, type);
    if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max)
        violation(std::string(type) + ": field '" + key + "' must be an integer from " + std::to_string(min) +
                  " to " + std::to_string(max));
    return v.get<std::int64_t>();
}

std::string hex_field(const json& j, const char* key, const char* type) {
    auto bytes = from_hex(string_field(j, key, type));
    if (!bytes) violation(std::string(type) + ": field '" + key + "' must be hex digits, two per byte");
    return *bytes;
}

sdk::Value scalar_from_json(const json& j, const std::string& name) {
    switch (j.type()) {
        case json::value_t::null: return {};
        case json::value_t::boolean: return sdk::Value(j.get<bool>());
        case json::value_t::number_integer: return sdk::Value(j.get<std::int64_t>());
        case json::value_t::number_unsigned:
            if (j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                violation("value '" + name + "' is out of range");
            return sdk::Value(j.get<std::int64_t>());
        case json::value_t::number_float: return sdk::Value(j.get<double>());
        case json::value_t::string: return sdk::Value(j.get<std::string>());
        case json::value_t::array: {
            std::vector<std::string> list;
            for (const auto& e : j) {
                if (!e.is_string()) violation("value '" + name + "': a list holds strings only");
                list.push_back(e.get<std::string>());
            }
            return sdk::Value(std::move(list));
        }
        default: violation("value '" + name + "' must be null, a boolean, a number, a string or a list of strings");
    }
}

/// A value is written bare (`true`, `3`) or with its unit (`{"value": 3.2, "unit": "ms"}`).
sdk::Value value_from_json(const json& j, const std::string& name) {
    if (!j.is_object()) return scalar_from_json(j, name);
    for (const auto& [k, v] : j.items())
        if (k != "value" && k != "unit") violation("value '" + name + "': unknown field '" + k + "'");
    auto it = j.find("value");
    if (it == j.end()) violation("value '" + name + "': missing field 'value'");
    auto v = scalar_from_json(*it, name);
    if (auto u = j.find("unit"); u != j.end()) {
        if (!u->is_string()) violation("value '" + name + "': 'unit' must be a string");
        v.unit = u->get<std::string>();
    }
    return v;
}

json value_to_json(const sdk::Value& v) {
    json bare = std::visit(
        [](const auto& x) -> json {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, std::monostate>) return nullptr;
            else return x;
        },
        v.data);
    if (v.unit.empty()) return bare;
    return {{"value", std::move(bare)}, {"unit", v.unit}};
}

sdk::Values values_field(const json& j, const char* type) {
    sdk::Values out;
    auto it = j.find("values");
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_object()) violation(std::string(type) + ": field 'values' must be an object");
    for (const auto& [name, v] : it->items()) out[name] = value_from_json(v, name);
    return out;
}

Message parse_hello(const json& j) {
    Hello h;
    h.protocol = static_cast<int>(int_field(j, "protocol", "hello", 0, 1'000'000));
    h.driver = string_field(j, "driver", "hello");
    if (h.driver.empty()) violation("hello: field 'driver' must not be empty");
    h.version = string_field(j, "version", "hello");
    const auto& actions = field(j, "actions", "hello");
    if (!actions.is_array()) violation("hello: field 'actions' must be a list of strings");
    for (const auto& a : actions) {
        if (!a.is_string()) violation("hello: field 'actions' must be a list of strings");
        h.actions.push_back(a.get<std::string>());
    }
    return h;
}

Message parse_result(const json& j) { return Result{id_field(j, "result"), values_field(j, "result")}; }

Message parse_error(const json& j) {
    static const std::map<std::string, ErrorKind, std::less<>> kinds{
        {"fail", ErrorKind::fail},     {"timeout", ErrorKind::timeout}, {"link", ErrorKind::link},
        {"config", ErrorKind::config}, {"driver", ErrorKind::driver},
    };
    Error e;
    e.id = id_field(j, "error");
    e.message = string_field(j, "message", "error");
    // An unknown kind (from a newer protocol) is still an error of the driver.
    if (auto it = j.find("kind"); it != j.end() && it->is_string())
        if (auto k = kinds.find(it->get<std::string>()); k != kinds.end()) e.kind = k->second;
    return e;
}

Message parse_log(const json& j) {
    static const std::map<std::string, LogLevel, std::less<>> levels{
        {"trace", LogLevel::trace}, {"debug", LogLevel::debug}, {"info", LogLevel::info},
        {"warn", LogLevel::warn},   {"error", LogLevel::error},
    };
    Log l;
    l.message = string_field(j, "message", "log");
    if (auto it = j.find("level"); it != j.end()) {
        auto k = it->is_string() ? levels.find(it->get<std::string>()) : levels.end();
        if (k == levels.end()) violation("log: field 'level' must be trace, debug, info, warn or error");
        l.level = k->second;
    }
    if (auto it = j.find("transcript"); it != j.end()) {
        if (!it->is_boolean()) violation("log: field 'transcript' must be true or false");
        l.transcript = it->get<bool>();
    }
    return l;
}

Message parse_io(const json& j) {
    static const std::map<std::string, Io::Op, std::less<>> ops{
        {"write", Io::Op::write}, {"read", Io::Op::read}, {"read_until", Io::Op::read_until},
        {"discard", Io::Op::discard},
    };
    Io io;
    io.id = id_field(j, "io");
    auto op = ops.find(string_field(j, "op", "io"));
    if (op == ops.end()) violation("io: field 'op' must be write, read, read_until or discard");
    io.op = op->second;
    const auto max_bytes = static_cast<std::int64_t>(max_io_bytes);
    auto timeout = [&] {
        return std::chrono::milliseconds(int_field(j, "timeout_ms", "io", 1, max_io_timeout.count()));
    };
    switch (io.op) {
        case Io::Op::write:
            io.data = hex_field(j, "data", "io");
            if (io.data.size() > max_io_bytes) violation("io: write of more than " + std::to_string(max_io_bytes) + " bytes");
            io.timeout = timeout();
            break;
        case Io::Op::read:
            io.n = static_cast<std::size_t>(int_field(j, "n", "io", 1, max_bytes));
            io.timeout = timeout();
            break;
        case Io::Op::read_until:
            io.data = hex_field(j, "delim", "io");
            if (io.data.empty() || io.data.size() > 16) violation("io: field 'delim' must be 1 to 16 bytes");
            io.n = static_cast<std::size_t>(int_field(j, "max", "io", 1, max_bytes));
            io.timeout = timeout();
            break;
        case Io::Op::discard: break;
    }
    return io;
}

}  // namespace

Message parse_message(std::string_view text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        // Not only parse_error: a number too large for a double ("1e999") is an
        // out_of_range (406) thrown by the parser, and is malformed JSON just the same.
        // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
        std::string what = e.what();
        if (auto p = what.find("] "); p != std::string::npos) what.erase(0, p + 2);
        throw MalformedJson(what);
    }
    if (!j.is_object()) throw MalformedJson("a message must be a JSON object, got " + std::string(j.type_name()));
    // Dispatched from a table: a new message type is one line here and one parser.
    using Parser = Message (*)(const json&);
    static const std::map<std::string, Parser, std::less<>> parsers{
        {"hello", parse_hello}, {"result", parse_result}, {"error", parse_error},
        {"log", parse_log},     {"io", parse_io},
    };
    auto type = j.find("type");
    if (type == j.end() || !type->is_string()) violation("a message needs a string field 'type'");
    auto p = parsers.find(type->get<std::string>());
    if (p == parsers.end()) violation("unknown message type '" + type->get<std::string>() + "'");
    return p->second(j);
}

std::string encode_open(std::uint64_t id, const std::string& device_id, const sdk::Resource& resource,
                        const sdk::Settings& settings) {
    json attrs = json::object();
    for (const auto& [k, v] : resource.attributes) attrs[k] = v;
    json set = json::object();
    for (const auto& [k, e] : settings.entries()) set[k] = e.value;
    json device{{"id", device_id},
                {"address", resource.address},
                {"kind", std::string(sdk::to_string(resource.kind))},
                {"attributes", std::move(attrs)}};
    return line({{"type", "open"}, {"id", id}, {"device", std::move(device)}, {"settings", std::move(set)}});
}

std::string encode_identify(std::uint64_t id) { return line({{"type", "identify"}, {"id", id}}); }

std::string encode_invoke(std::uint64_t id, const sdk::ActionSpec& action, const sdk::Args& args) {
    json a = json::object();
    for (const auto& [k, v] : args) a[k] = value_to_json(v);
    return line({{"type", "invoke"}, {"id", id}, {"action", action.qualified()}, {"args", std::move(a)}});
}

std::string encode_io_result(std::uint64_t id, std::string_view data) {
    return line({{"type", "io_result"}, {"id", id}, {"data", to_hex(data)}});
}

std::string encode_io_error(std::uint64_t id, std::string_view kind, std::string_view message) {
    return line({{"type", "io_error"}, {"id", id}, {"kind", kind}, {"message", message}});
}

std::string check_results(const sdk::ActionSpec& action, const sdk::Values& values) {
    for (const auto& [name, v] : values) {
        const auto* spec = action.result(name);
        if (!spec) {
            std::string known;
            for (const auto& r : action.results) known += (known.empty() ? "" : ", ") + r.name;
            return action.qualified() + " has no result '" + name + "' (it returns " + known + ")";
        }
        bool ok = v.is_null();
        switch (spec->type) {
            case sdk::ValueType::boolean: ok = ok || v.is_bool(); break;
            case sdk::ValueType::integer: ok = ok || std::holds_alternative<std::int64_t>(v.data); break;
            case sdk::ValueType::number: ok = ok || v.is_number(); break;
            case sdk::ValueType::string: ok = ok || v.is_string(); break;
            case sdk::ValueType::string_list: ok = ok || v.is_list(); break;
        }
        if (!ok)
            return action.qualified() + " result '" + name + "' must be " + std::string(sdk::to_string(spec->type)) +
                   ", got " + v.to_string();
    }
    return {};
}

sdk::Identity identity_from(const sdk::Values& values) {
    static const std::map<std::string, std::string sdk::Identity::*, std::less<>> fields{
        {"manufacturer", &sdk::Identity::manufacturer},
        {"model", &sdk::Identity::model},
        {"serial_number", &sdk::Identity::serial_number},
        {"firmware", &sdk::Identity::firmware},
    };
    sdk::Identity id;
    for (const auto& [name, v] : values) {
        if (auto f = fields.find(name); f != fields.end()) id.*(f->second) = v.to_string();
        else id.extra[name] = v;
    }
    return id;
}

std::vector<std::string> split_command(std::string_view command) {
    std::vector<std::string> argv;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < command.size(); ++i) {
        char c = command[i];
        if (quote == '\'') {
            if (c == '\'') quote = 0;
            else word += c;
        } else if (c == '\\' && i + 1 < command.size()) {
            word += command[++i];
            in_word = true;
        } else if (quote == '"') {
            if (c == '"') quote = 0;
            else word += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) argv.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote) throw sdk::ConfigError(std::string("command: unterminated ") + quote + " quote");
    if (in_word) argv.push_back(std::move(word));
    if (argv.empty()) throw sdk::ConfigError("command: expected a program and its arguments, got nothing");
    return argv;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (hex.size() % 2) return std::nullopt;
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

}  // namespace certlab::exec
