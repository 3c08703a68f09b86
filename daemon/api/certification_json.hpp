// JSON shapes of the certification record (docs/API.md, "Certifications").
// Fields are append-only, as everywhere in v1.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "certify/desk.hpp"

namespace certlab::api {

/// The summary the list shows, also the "certification" member of the detail.
[[nodiscard]] nlohmann::ordered_json certification_json(const certify::CertificationView& v);
/// Summary, plan with statuses, issues, merchants, phase history, next phase.
[[nodiscard]] nlohmann::ordered_json certification_detail_json(const certify::CertificationView& v);
[[nodiscard]] nlohmann::ordered_json plan_entry_json(const certify::ScenarioStatus& s);
[[nodiscard]] nlohmann::ordered_json issue_json(const record::Issue& i);
[[nodiscard]] nlohmann::ordered_json merchant_json(const record::Merchant& m);
[[nodiscard]] nlohmann::ordered_json signoff_json(const record::SignOff& s);
[[nodiscard]] nlohmann::ordered_json phase_change_json(const record::PhaseChange& c);

}  // namespace certlab::api
