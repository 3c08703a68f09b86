// docs/record-api.openapi.yaml is well-formed: it parses as YAML, every $ref in it
// resolves, and its operations and schemas are consistent with each other (checked
// with yaml-cpp alone, independently of the record server's own loader); and the
// record server's validator checks documents against it as the contract says.
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "contract.hpp"
#include "support/process.hpp"

namespace certlab::test {
namespace {

/// The node a local JSON pointer (`#/components/schemas/Run`) names; an undefined
/// node when it does not resolve. Handles the ~0 and ~1 escapes.
YAML::Node resolve(const YAML::Node& root, const std::string& ref) {
    if (ref.rfind("#/", 0) != 0) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node node;
    node.reset(root);  // reset rebinds the handle; `=` would overwrite the node it holds
    std::size_t at = 2;
    while (at <= ref.size()) {
        const auto slash = std::min(ref.find('/', at), ref.size());
        std::string token = ref.substr(at, slash - at);
        for (std::size_t p; (p = token.find("~1")) != std::string::npos;) token.replace(p, 2, "/");
        for (std::size_t p; (p = token.find("~0")) != std::string::npos;) token.replace(p, 2, "~");
        if (!node.IsMap() || !node[token]) return YAML::Node(YAML::NodeType::Undefined);
        const YAML::Node child = node[token];
        node.reset(child);
        at = slash + 1;
    }
    return node;
}

/// Every $ref in the document, with where it was found.
void collect_refs(const YAML::Node& node, const std::string& where, std::vector<std::pair<std::string, std::string>>& out) {
    if (node.IsMap()) {
        for (const auto& kv : node) {
            const auto key = kv.first.as<std::string>();
            if (key == "$ref") out.emplace_back(where, kv.second.as<std::string>());
            else collect_refs(kv.second, where + "/" + key, out);
        }
    } else if (node.IsSequence()) {
        for (std::size_t i = 0; i < node.size(); ++i) collect_refs(node[i], where + "/" + std::to_string(i), out);
    }
}

/// The $refs that do not resolve, as `where -> ref`.
std::vector<std::string> dangling_refs(const YAML::Node& root) {
    std::vector<std::pair<std::string, std::string>> refs;
    collect_refs(root, "#", refs);
    std::vector<std::string> out;
    for (const auto& [where, ref] : refs)
        if (!resolve(root, ref).IsDefined()) out.push_back(where + " -> " + ref);
    return out;
}

/// A parameter, following its $ref.
YAML::Node deref(const YAML::Node& root, const YAML::Node& n) {
    return n["$ref"] ? resolve(root, n["$ref"].as<std::string>()) : n;
}

YAML::Node load_contract() { return YAML::LoadFile(source("docs/record-api.openapi.yaml").string()); }

TEST_CASE("record contract: the check finds a dangling reference") {
    const auto doc = YAML::Load(R"(
components:
  schemas:
    A: {type: object, properties: {b: {$ref: '#/components/schemas/B'}}}
    C: {$ref: '#/components/schemas/A'}
)");
    const auto dangling = dangling_refs(doc);
    REQUIRE(dangling.size() == 1);
    CHECK(dangling[0] == "#/components/schemas/A/properties/b -> #/components/schemas/B");
}

TEST_CASE("record contract: parses as OpenAPI 3.0.3 and every $ref resolves") {
    const auto doc = load_contract();
    CHECK(doc["openapi"].as<std::string>() == "3.0.3");
    std::vector<std::pair<std::string, std::string>> refs;
    collect_refs(doc, "#", refs);
    CHECK(refs.size() > 50);  // the operations and schemas lean on shared definitions
    const auto dangling = dangling_refs(doc);
    CHECK_MESSAGE(dangling.empty(), "dangling: " << (dangling.empty() ? "" : dangling.front()));
}

TEST_CASE("record contract: operations declare their path parameters, keys and answers") {
    const auto doc = load_contract();
    const std::regex param(R"(\{([a-z_]+)\})");
    int writes = 0;
    for (const auto& path : doc["paths"]) {
        const auto route = path.first.as<std::string>();
        CAPTURE(route);
        std::set<std::string> templated;
        for (std::sregex_iterator it(route.begin(), route.end(), param), end; it != end; ++it) templated.insert((*it)[1]);
        for (const auto& op : path.second) {
            const auto method = op.first.as<std::string>();
            if (method == "parameters") continue;
            CAPTURE(method);
            std::set<std::string> declared;
            bool key_required = false;
            for (const YAML::Node& list : {path.second["parameters"], op.second["parameters"]}) {
                if (!list) continue;
                for (const auto& p : list) {
                    const auto def = deref(doc, p);
                    REQUIRE(def.IsDefined());
                    if (def["in"].as<std::string>() == "path") declared.insert(def["name"].as<std::string>());
                    if (def["name"].as<std::string>() == "Idempotency-Key" && def["required"].as<bool>())
                        key_required = true;
                }
            }
            CHECK(declared == templated);
            CHECK(op.second["responses"]["401"]);
            if (method == "put" || method == "post") {
                ++writes;
                CHECK(key_required);
                const auto schema = op.second["requestBody"]["content"]["application/json"]["schema"];
                REQUIRE(schema);
                CHECK(resolve(doc, schema["$ref"].as<std::string>()).IsDefined());
                CHECK(op.second["responses"]["422"]);
            }
        }
    }
    CHECK(writes == 6);  // certification, run, scenario result, step, sign-off, issue
}

TEST_CASE("record contract: every schema requires only fields it defines") {
    const auto doc = load_contract();
    int objects = 0;
    for (const auto& s : doc["components"]["schemas"]) {
        const auto schema = s.second;
        if (!schema["required"]) continue;
        CAPTURE(s.first.as<std::string>());
        ++objects;
        REQUIRE(schema["properties"]);
        for (const auto& name : schema["required"]) CHECK(schema["properties"][name.as<std::string>()]);
    }
    CHECK(objects >= 15);
}

// The record server's validator (fixtures/record-server/contract.hpp), which the
// server and any test checking documents against the contract use.
using record_server::Contract;
using json = nlohmann::json;

json valid_run() {
    return {{"id", 42}, {"certification", nullptr}, {"device", "printer-1"}, {"suite", "printer-basic"},
            {"suite_title", "Printer basics"}, {"suite_hash", std::string(64, '0')}, {"status", "completed"},
            {"outcome", "pass"}, {"reason", ""}, {"started_at", "2026-11-29T10:05:00.000Z"},
            {"ended_at", "2026-11-29T10:06:00Z"}, {"scenarios_total", 2}, {"resumed", 0},
            {"provenance", {{"certlab_version", "0.1.0"}, {"driver", "escpos 1.0"}, {"firmware", "1"},
                            {"roles", {{"psu", {{"device", "psu-1"}, {"driver", "scpi"}, {"firmware", "2"}}}}}}}};
}

bool has(const std::vector<std::string>& errors, const std::string& text) {
    for (const auto& e : errors)
        if (e == text) return true;
    return false;
}

TEST_CASE("record contract: the compiled-in copy is the file in docs") {
    CHECK(record_server::contract_text() == read_file(source("docs/record-api.openapi.yaml")));
    CHECK(Contract::builtin().document()["openapi"] == "3.0.3");
}

TEST_CASE("record contract: the validator accepts a conforming run and names each violation") {
    const auto& contract = Contract::builtin();
    CHECK(contract.validate(valid_run(), "Run").empty());

    json bad = valid_run();
    bad["device"] = nullptr;                       // not nullable
    bad["outcome"] = "passed";                     // not in the enum
    bad["started_at"] = "29/11/2026 10:05";         // not RFC 3339
    bad["suite_hash"] = "ABC";                      // pattern
    bad["resumed"] = -1;                            // minimum
    bad["scenarios_total"] = 2.0;                   // not an integer
    bad["provenance"]["roles"]["psu"]["serial"] = "x";  // additionalProperties: false, through a map
    bad.erase("reason");
    const auto errors = contract.validate(bad, "Run");
    CAPTURE(json(errors).dump());
    CHECK(has(errors, "$.device: expected string, got null"));
    CHECK(has(errors, "$.outcome: must be one of [\"pass\",\"fail\",\"error\",\"timeout\",\"aborted\",\"skipped\"]"));
    CHECK(has(errors, "$.started_at: not an RFC 3339 date-time"));
    CHECK(has(errors, "$.suite_hash: does not match ^[0-9a-f]{64}$"));
    CHECK(has(errors, "$.resumed: less than 0"));
    CHECK(has(errors, "$.scenarios_total: expected integer, got number"));
    CHECK(has(errors, "$.provenance.roles.psu.serial: unknown field"));
    CHECK(has(errors, "$: missing required field \"reason\""));
    CHECK(errors.size() == 8);
    CHECK_THROWS_AS((void)contract.validate(valid_run(), "NoSuchSchema"), std::out_of_range);
}

TEST_CASE("record contract: values are scalars or lists of text, and transcripts base64") {
    const auto& contract = Contract::builtin();
    CHECK(contract.validate(json{{"value", 1.5}, {"unit", "V"}}, "Value").empty());
    CHECK(contract.validate(json{{"value", nullptr}}, "Value").empty());
    // A device's list (a prompt's choices, the flags a status reported).
    CHECK(contract.validate(json{{"value", json::array({"drawer", "cover"})}}, "Value").empty());
    CHECK(has(contract.validate(json{{"value", json::array({1, 2})}}, "Value"),
              "$.value: matches none of the allowed forms"));
    CHECK(has(contract.validate(json{{"value", json::object()}}, "Value"), "$.value: matches none of the allowed forms"));
    CHECK(contract.validate(json{{"dir", "tx"}, {"offset_us", 0}, {"data", "EAQB"}}, "TranscriptEntry").empty());
    CHECK(has(contract.validate(json{{"dir", "tx"}, {"offset_us", 0}, {"data", "EAQ"}}, "TranscriptEntry"),
              "$.data: not base64 (RFC 4648, padded)"));
}

TEST_CASE("record contract: the loader refuses what the validator cannot check") {
    const std::string head = "openapi: 3.0.3\npaths: {}\ncomponents:\n  schemas:\n";
    CHECK_NOTHROW((void)Contract::parse(head + "    A: {type: object, properties: {n: {type: integer}}}\n"));
    CHECK_THROWS_WITH_AS((void)Contract::parse(head + "    A: {oneOf: [{type: string}]}\n"),
                         doctest::Contains("keyword not supported"), std::runtime_error);
    CHECK_THROWS_WITH_AS((void)Contract::parse(head + "    A: {$ref: '#/components/schemas/B'}\n"),
                         doctest::Contains("unresolved reference"), std::runtime_error);
    CHECK_THROWS_WITH_AS((void)Contract::parse(head + "    A: {type: string, format: uuid}\n"),
                         doctest::Contains("format"), std::runtime_error);
    CHECK_THROWS_AS((void)Contract::parse("openapi: [unclosed\n"), std::runtime_error);
}

TEST_CASE("record contract: base64 is strict") {
    std::string out;
    CHECK(record_server::decode_base64("aGVsbG8=", out));
    CHECK(out == "hello");
    CHECK(record_server::decode_base64("", out));
    CHECK(out.empty());
    CHECK(record_server::decode_base64("/w==", out));
    CHECK(out == "\xff");
    CHECK_FALSE(record_server::decode_base64("aGVsbG8", out));    // not padded
    CHECK_FALSE(record_server::decode_base64("aG=sbG8=", out));   // padding inside
    CHECK_FALSE(record_server::decode_base64("aGVs\nbG8=", out)); // line break
    CHECK_FALSE(record_server::decode_base64("a===", out));       // too much padding
}

}  // namespace
}  // namespace certlab::test
