// Rendered step documents (docs/API.md, "step"), kept by step id. A committed step
// never changes, so its JSON is rendered once and reused by every GET /v1/runs/{id}
// and GET /v1/runs/{id}/steps that includes it: a soak's recent steps are asked for
// over and over while only a few new ones appear between two requests.
// Not thread-safe: one instance per thread that serves routes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "record/model.hpp"
#include "record/store.hpp"

namespace certlab::api {

class StepDocs {
public:
    /// [steps] At ~1.3 KB a soak step, the default holds a few MB: the latest 50
    /// steps of 80 runs.
    explicit StepDocs(std::size_t capacity = 4096) : capacity_(capacity) {}

    /// For Store::get_run_detail and Store::steps: the steps whose document is held.
    [[nodiscard]] record::Store::KnownStep known() const {
        return [this](std::int64_t id) { return docs_.contains(id); };
    }

    /// Appends the steps' documents to `out` as JSON array elements separated by
    /// commas: a held one as held, a decoded one rendered now and kept. `steps` come
    /// from a store read with known(), so a step not decoded is one held here.
    void append(const std::vector<record::StepResult>& steps, std::string& out);

    [[nodiscard]] std::size_t size() const { return docs_.size(); }

private:
    std::size_t capacity_;
    /// Oldest (lowest id) first: recent steps are what is asked for, so the oldest go.
    std::map<std::int64_t, std::string> docs_;
};

}  // namespace certlab::api
