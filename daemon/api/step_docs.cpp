#include "api/step_docs.hpp"

#include "api/json.hpp"

namespace certlab::api {

void StepDocs::append(const std::vector<record::StepResult>& steps, std::string& out) {
    bool first = true;
    for (const auto& s : steps) {
        if (!first) out += ',';
        first = false;
        auto it = docs_.find(s.id);
        if (it == docs_.end()) it = docs_.emplace(s.id, dump(step_json(s))).first;
        out += it->second;
    }
    // Trimmed only now, so a document the store was told is held stays until used.
    while (docs_.size() > capacity_) docs_.erase(docs_.begin());
}

}  // namespace certlab::api
