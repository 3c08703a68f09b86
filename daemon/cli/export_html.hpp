// Parts of the certification report (export_html.cpp) shared by its sections.
#pragma once

#include <string>

#include "cli/format.hpp"

namespace certlab::cli::report {

/// A field of `obj` as text: strings as is, numbers in JSON form, null or missing "".
[[nodiscard]] std::string str(const Json& obj, const char* key);
/// str() escaped for HTML, "—" when empty.
[[nodiscard]] std::string cell(const Json& obj, const char* key);
/// An outcome or status as a coloured label (`<span class="pill pill-fail">fail</span>`).
[[nodiscard]] std::string pill(const std::string& word);
/// The scenario result with this result id among the export's runs, or null.
[[nodiscard]] const Json* find_result(const Json& doc, const Json& result_id);

/// The soak section: per soak scenario result, its statistics and SVG charts of pass
/// rate and latency over time (export_html_soak.cpp). Empty when there is no soak.
[[nodiscard]] std::string soak_section(const Json& doc);

}  // namespace certlab::cli::report
