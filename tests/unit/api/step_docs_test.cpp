// Held step documents: what GET /v1/runs/{id} puts together must read exactly as
// rendering each step afresh would.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/json.hpp"
#include "api/step_docs.hpp"

using namespace certlab;
using namespace certlab::api;

namespace {

record::StepResult step(std::int64_t id) {
    record::StepResult s;
    s.id = id;
    s.run_id = 7;
    s.seq = id;
    s.kind = "call";
    s.action = "printer.status";
    s.values = {{"online", true}, {"latency", sdk::Value(1.25, "ms")}};
    s.transcript.append({sdk::TranscriptEntry::Dir::tx, 0, std::string("\x10\x04\x01", 3)});
    s.transcript.append({sdk::TranscriptEntry::Dir::rx, 300, std::string("\x12", 1)});
    s.started_at = record::TimePoint{std::chrono::milliseconds{1'795'923'941'123 + id}};
    s.duration_us = 1000 + id;
    return s;
}

/// What the held documents must equal: each step rendered now.
std::string fresh(const std::vector<record::StepResult>& steps) {
    std::string out;
    for (const auto& s : steps) out += (out.empty() ? "" : ",") + dump(step_json(s));
    return out;
}

/// A step as the store returns it when its document is held: id, run and seq only.
record::StepResult stub(std::int64_t id) {
    record::StepResult s;
    s.id = id;
    s.run_id = 7;
    s.seq = id;
    return s;
}

}  // namespace

TEST_CASE("api: held step documents read as fresh renderings, and the oldest go first") {
    StepDocs docs(3);
    auto known = docs.known();
    CHECK_FALSE(known(1));

    std::string out;
    docs.append({step(1), step(2)}, out);
    CHECK(out == fresh({step(1), step(2)}));
    CHECK(known(1));
    CHECK(known(2));
    CHECK(nlohmann::json::parse("[" + out + "]").size() == 2);

    // The store read 1 and 2 as held (stubs) and decoded 3: the answer is unchanged.
    out.clear();
    docs.append({stub(1), stub(2), step(3)}, out);
    CHECK(out == fresh({step(1), step(2), step(3)}));
    CHECK(docs.size() == 3);

    // Past the capacity the lowest ids leave, after the answer was put together.
    out.clear();
    docs.append({stub(2), stub(3), step(4), step(5)}, out);
    CHECK(out == fresh({step(2), step(3), step(4), step(5)}));
    CHECK(docs.size() == 3);
    CHECK_FALSE(known(1));
    CHECK_FALSE(known(2));
    CHECK(known(3));
    CHECK(known(5));

    out.clear();
    docs.append({}, out);
    CHECK(out.empty());
}
