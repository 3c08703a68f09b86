// The route table and the error mapping, without a socket.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/router.hpp"

using namespace certlab::api;

namespace {

Request make(std::string method, std::string target) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    parse_target(req.target, req);
    return req;
}

Router sample() {
    Router r;
    r.add("GET", "/v1/runs/{id}", [](const Request& req) {
        return Response{200, "text/plain", "run " + req.params.at("id"), {}};
    });
    r.add("GET", "/v1/runs/{id}/steps", [](const Request& req) {
        return Response{200, "text/plain", "steps " + req.params.at("id"), {}};
    });
    r.add("POST", "/v1/runs", [](const Request&) -> Response { throw HttpError(409, "busy"); });
    r.add("GET", "/v1/runs", [](const Request&) -> Response { throw std::runtime_error("disk"); });
    return r;
}

nlohmann::json body(const Response& res) { return nlohmann::json::parse(res.body); }

}  // namespace

TEST_CASE("api: router matches {id} segments and decodes them") {
    auto r = sample();
    auto req = make("GET", "/v1/runs/12");
    CHECK(r.dispatch(req).body == "run 12");
    req = make("GET", "/v1/runs/a%2Fb/steps");
    CHECK(r.dispatch(req).body == "steps a/b");  // an encoded slash stays in its segment
    CHECK(req.params.at("id") == "a/b");
}

TEST_CASE("api: router answers 404 for unknown paths and 405 with Allow for known ones") {
    auto r = sample();
    for (auto target : {"/v1/nothing", "/v1/runs/12/", "/v1/runs//steps", "/"}) {
        auto req = make("GET", target);
        auto res = r.dispatch(req);
        CHECK_MESSAGE(res.status == 404, target);
        CHECK(res.content_type == "application/problem+json");
    }
    auto req = make("DELETE", "/v1/runs");
    auto res = r.dispatch(req);
    CHECK(res.status == 405);
    REQUIRE(res.headers.size() == 1);
    CHECK(res.headers[0].first == "Allow");
    CHECK(res.headers[0].second == "POST, GET");
    CHECK(body(res)["status"] == 405);
}

TEST_CASE("api: router turns handler exceptions into problem documents") {
    auto r = sample();
    auto req = make("POST", "/v1/runs");
    auto res = r.dispatch(req);
    CHECK(res.status == 409);
    CHECK(body(res)["title"] == "Conflict");
    CHECK(body(res)["detail"] == "busy");
    req = make("GET", "/v1/runs");
    res = r.dispatch(req);
    CHECK(res.status == 500);
    CHECK(body(res)["detail"].get<std::string>().find("disk") != std::string::npos);
}

TEST_CASE("api: query strings are split and percent-decoded") {
    auto req = make("GET", "/v1/runs?device=bench%203+left&limit=5&flag&limit=7");
    CHECK(req.path == "/v1/runs");
    CHECK(req.query_param("device") == "bench 3 left");
    CHECK(req.query_param("limit") == "7");  // the last one wins
    CHECK(req.query_param("flag") == "");
    CHECK_FALSE(req.query_param("steps").has_value());
    Request bad;
    CHECK_THROWS_AS(parse_target("/v1/runs?device=%4", bad), HttpError);
    CHECK_FALSE(percent_decode("%zz", false).has_value());
    CHECK(percent_decode("a+b%41", false) == "a+bA");
}
