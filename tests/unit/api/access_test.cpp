// Access control without a socket: the role table, the tokens file and the decision.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "api/access.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

using namespace certlab;
using api::Role;

namespace {

const std::string viewer_token = "clt_viewer-secret";
const std::string operator_token = "clt_operator-secret";
const std::string admin_token = "clt_admin-secret";

std::string line(const std::string& name, const std::string& role, const std::string& token) {
    return name + " " + role + " sha256:" + api::to_hex(api::hash_token(token)) + "\n";
}

std::filesystem::path tokens_file(const test::TempDir& dir, const std::string& text, mode_t mode = 0600) {
    auto p = dir / "api-tokens";
    test::write_file(p, text);
    ::chmod(p.c_str(), mode);
    return p;
}

std::string load_error(const std::filesystem::path& p) {
    try {
        (void)api::TokenTable::load(p);
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

api::TokenTable three_roles() {
    api::TokenTable t;
    t.add("tv", Role::viewer, api::hash_token(viewer_token));
    t.add("op", Role::operator_, api::hash_token(operator_token));
    t.add("ad", Role::admin, api::hash_token(admin_token));
    return t;
}

}  // namespace

TEST_CASE("access: reads need viewer, writes operator, reload and release admin, health and assets none") {
    using api::required_role;
    CHECK(required_role("GET", "/v1/health").public_);
    CHECK(required_role("GET", "/").public_);
    CHECK(required_role("GET", "/dashboard/app.js").public_);
    CHECK_FALSE(required_role("POST", "/v1/health").public_);
    CHECK_FALSE(required_role("GET", "/v1/devices").public_);
    CHECK(required_role("GET", "/v1/devices").role == Role::viewer);
    CHECK(required_role("GET", "/metrics").role == Role::viewer);
    CHECK(required_role("GET", "/v1/events").role == Role::viewer);
    CHECK(required_role("POST", "/v1/runs").role == Role::operator_);
    CHECK(required_role("POST", "/v1/runs/3/abort").role == Role::operator_);
    CHECK(required_role("POST", "/v1/prompts/9/answer").role == Role::operator_);
    CHECK(required_role("POST", "/v1/certifications/1/scenarios/PRN-001/certify").role == Role::operator_);
    CHECK(required_role("POST", "/v1/reload").role == Role::admin);
    CHECK(required_role("POST", "/v1/devices/printer-1/release").role == Role::admin);
    // Anything unknown that writes needs at least operator: no route is open by accident.
    CHECK(required_role("DELETE", "/v1/runs/3").role == Role::operator_);
    CHECK(required_role("PUT", "/dashboard/app.js").role == Role::operator_);
}

TEST_CASE("access: no token 401, unknown token 401, role too low 403, enough 200") {
    const auto t = three_roles();
    auto d = api::check_access(t, "GET", "/v1/devices", "");
    CHECK(d.status == 401);
    CHECK(d.detail.find("Authorization: Bearer") != std::string::npos);
    CHECK(api::check_access(t, "GET", "/v1/devices", "Bearer clt_wrong").status == 401);
    CHECK(api::check_access(t, "GET", "/v1/devices", "Basic dHY6eA==").status == 401);
    CHECK(api::check_access(t, "GET", "/v1/devices", "Bearer ").status == 401);

    d = api::check_access(t, "GET", "/v1/devices", "Bearer " + viewer_token);
    CHECK(d.status == 200);
    CHECK(d.who == "tv");
    // The scheme is case-insensitive; the token is not.
    CHECK(api::check_access(t, "GET", "/v1/devices", "bearer " + viewer_token).status == 200);
    CHECK(api::check_access(t, "GET", "/v1/devices", "Bearer CLT_VIEWER-SECRET").status == 401);

    d = api::check_access(t, "POST", "/v1/runs", "Bearer " + viewer_token);
    CHECK(d.status == 403);
    CHECK(d.detail == "role viewer may not POST /v1/runs: it needs operator");
    CHECK(api::check_access(t, "POST", "/v1/runs", "Bearer " + operator_token).status == 200);
    CHECK(api::check_access(t, "POST", "/v1/prompts/4/answer", "Bearer " + operator_token).status == 200);
    CHECK(api::check_access(t, "POST", "/v1/devices/p/release", "Bearer " + operator_token).status == 403);
    CHECK(api::check_access(t, "POST", "/v1/devices/p/release", "Bearer " + admin_token).status == 200);
    CHECK(api::check_access(t, "POST", "/v1/reload", "Bearer " + admin_token).status == 200);
    CHECK(api::check_access(t, "GET", "/v1/health", "").status == 200);

    // No tokens at all: access control is off (loopback-only stations).
    CHECK(api::check_access(api::TokenTable{}, "POST", "/v1/reload", "").status == 200);
}

TEST_CASE("access: a tokens file with all three roles loads; the table holds hashes only") {
    test::TempDir dir;
    auto p = tokens_file(dir, "# certlab API tokens\n\n" + line("tom", "viewer", viewer_token) +
                                  "  " + line("ann", "operator", operator_token) +
                                  line("ops-bot", "admin", admin_token) + "   # trailing comment\n",
                         0640);
    auto t = api::TokenTable::load(p);
    CHECK(t.size() == 3);
    REQUIRE(t.authenticate("Bearer " + operator_token) != nullptr);
    CHECK(t.authenticate("Bearer " + operator_token)->name == "ann");
    CHECK(t.authenticate("Bearer " + admin_token)->role == Role::admin);
    CHECK(test::read_file(p).find(operator_token) == std::string::npos);
}

TEST_CASE("access: a bad tokens file is refused with file:line:column and what was expected") {
    test::TempDir dir;
    const auto good = line("tom", "viewer", viewer_token);
    auto where = [&](const std::string& text, mode_t mode = 0600) { return load_error(tokens_file(dir, text, mode)); };
    const auto file = (dir / "api-tokens").string();

    auto e = where(good, 0644);
    CHECK(e.find(file + ": the API tokens file is open to every user of the machine (mode 0644)") == 0);
    CHECK(where(good, 0604) != "");
    CHECK(where(good, 0640) == "");

    e = where(good + "ann superuser sha256:" + std::string(64, 'a') + "\n");
    CHECK(e == file + ":2:5: expected a role (viewer, operator or admin), found 'superuser'");
    e = where(good + "ann operator " + operator_token + "\n");
    CHECK(e.find(file + ":2:14: expected sha256: and 64 hex digits") == 0);
    e = where(good + "ann operator sha256:" + std::string(63, 'a') + "\n");
    CHECK(e.find(file + ":2:14: expected sha256:") == 0);
    e = where("ann operator\n");
    CHECK(e == file + ":1:1: expected `NAME ROLE sha256:HEX` (three fields), found 2");
    e = where(good + line("tom", "admin", admin_token));
    CHECK(e == file + ":2:1: token name 'tom' is given twice");
    e = where(good + line("tim", "admin", viewer_token));
    CHECK(e == file + ":2:1: the same token hash is given twice");
    // As the package installs it: no token yet, so access control is off.
    CHECK(where("# nobody yet\n") == "");
    CHECK(api::TokenTable::load(tokens_file(dir, "# nobody yet\n")).empty());
    e = load_error(dir / "missing");
    CHECK(e.find((dir / "missing").string() + ": cannot read the API tokens file: No such file") == 0);
}
