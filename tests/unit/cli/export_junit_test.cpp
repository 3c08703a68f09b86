// `certlab export --format junit` (daemon/cli/export_junit): counts per run, failures
// kept apart from the station's errors, and XML that validates against the common
// JUnit schema (tests/schemas/junit.xsd) whatever bytes the device sent.
#include <doctest/doctest.h>

#include <regex>

#include "export_fixture.hpp"
#include "support/process.hpp"

using namespace certlab;
using cli::Json;
namespace fx = certlab::test::export_fixture;

namespace {

/// The attributes of the <testsuite> for run `id`, as name -> value.
std::map<std::string, std::string> suite_attributes(const std::string& xml, int id) {
    std::regex suite("<testsuite ([^>]*id=\"" + std::to_string(id) + "\"[^>]*)>");
    std::smatch m;
    REQUIRE(std::regex_search(xml, m, suite));
    std::map<std::string, std::string> out;
    std::string attrs = m[1];
    std::regex attr("([a-z]+)=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(attrs.begin(), attrs.end(), attr); it != std::sregex_iterator(); ++it)
        out[(*it)[1]] = (*it)[2];
    return out;
}

/// xmllint's verdict on `xml` against the repository's JUnit schema.
test::RunResult validate(const std::string& xml) {
    test::TempDir dir;
    test::write_file(dir / "report.xml", xml);
    return test::run({"/usr/bin/xmllint", "--noout", "--schema", test::source("tests/schemas/junit.xsd").string(),
                      (dir / "report.xml").string()},
                     std::chrono::seconds(30), dir / "xmllint.err");
}

}  // namespace

TEST_CASE("export junit: one testsuite per run with its counts, errors kept apart from failures") {
    auto xml = cli::render_junit(cli::build_export(fx::source()));
    auto r7 = suite_attributes(xml, 7);
    CHECK(r7["name"] == "receipt-printer");
    CHECK(r7["tests"] == "6");
    CHECK(r7["failures"] == "1");  // PRN-002: the device's fault
    CHECK(r7["errors"] == "3");    // PRN-003 error, PRN-004 timeout, PRN-006 cut by the interruption
    CHECK(r7["skipped"] == "1");   // PRN-005
    CHECK(r7["hostname"] == "bench-3");
    CHECK(r7["timestamp"] == "2026-11-29T03:00:07");
    CHECK(r7["time"] == "30.000");
    auto r8 = suite_attributes(xml, 8);
    CHECK(r8["tests"] == "1");
    CHECK(r8["failures"] == "1");
    CHECK(r8["errors"] == "0");
    CHECK(xml.find("<testsuites name=\"certification 3: Acme &amp; Sons / Acme &lt;POS&gt; (TM-T88VI)\" tests=\"7\" "
                   "failures=\"2\" errors=\"3\"") != std::string::npos);

    CHECK(xml.find("<testcase classname=\"receipt-printer\" name=\"PRN-001 Scenario PRN-001\" time=\"0.500\">") !=
          std::string::npos);
    // The failure names its reason and the step that failed.
    std::smatch m;
    REQUIRE(std::regex_search(xml, m, std::regex("<failure message=\"([^\"]*)\" type=\"fail\">([^<]*)</failure>")));
    CHECK(m[1] == "step 1 printer.status: online: expected true");
    CHECK(std::string(m[2]).find("failing step #2 main iteration 0 step 0: call printer.status -&gt; fail") !=
          std::string::npos);
    CHECK(xml.find("<error message=\"no answer in 5s\" type=\"timeout\">") != std::string::npos);
    CHECK(xml.find("<error message=\"interrupted\" type=\"interrupted\">") != std::string::npos);
    CHECK(xml.find("<skipped message=\"when: not met\"/>") != std::string::npos);
    // Steps in <system-out>, the transcript printable, the note escaped.
    CHECK(xml.find("    &gt; <10><04><01>") == std::string::npos);  // raw '<' never appears in text
    CHECK(xml.find("&gt; &lt;10&gt;&lt;04&gt;&lt;01&gt;") != std::string::npos);
    CHECK(xml.find("# retry &lt;after&gt; &amp; timeout") != std::string::npos);
    CHECK(xml.find("<property name=\"role.psu\" value=\"psu-1 (scpi 1.0, firmware 1.00)\"/>") != std::string::npos);

    auto v = validate(xml);
    INFO(xml.substr(0, 2000));
    CHECK(v.status == 0);
}

TEST_CASE("export junit: any bytes in reasons, titles and values still give valid XML") {
    auto src = fx::source();
    std::string all_bytes;
    for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
    auto& scenario = src.runs[0].scenarios[1];
    scenario["reason"] = "garbage: " + all_bytes;
    scenario["title"] = all_bytes + "]]>";
    src.runs[0].steps[1]["reason"] = all_bytes;
    src.runs[0].steps[1]["values"]["raw"] = {{"value", all_bytes}};
    src.detail["certification"]["partner"] = "\x01\x02 \xC3\x28 partner";
    auto xml = cli::render_junit(cli::build_export(src));
    CHECK(xml.find("garbage: ") != std::string::npos);
    auto v = validate(xml);
    CHECK(v.status == 0);
}

TEST_CASE("export junit: a certification without runs is an empty but valid report") {
    auto src = fx::source();
    src.runs.clear();
    auto xml = cli::render_junit(cli::build_export(src));
    CHECK(xml.find("tests=\"0\" failures=\"0\" errors=\"0\"") != std::string::npos);
    CHECK(xml.find("<testsuite ") == std::string::npos);
    CHECK(validate(xml).status == 0);
}
