// Evaluates a step's expectations and limits against the values an action returned.
#pragma once

#include <optional>
#include <string>

#include "engine/suite.hpp"
#include "record/model.hpp"

namespace certlab::engine {

struct CheckResult {
    bool ok = true;
    std::string reason;                          ///< why it failed, for people
    std::string warning;                         ///< passed, but in the marginal band
    std::optional<record::Measurement> measurement;  ///< for `measure` checks with a number
};

[[nodiscard]] CheckResult evaluate(const Check& check, const sdk::Values& values);

}  // namespace certlab::engine
