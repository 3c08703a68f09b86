// What the prompt routes need beyond the router's basics: strict base64 for
// attachments, and a body limit of their own for the upload route.
#include <doctest/doctest.h>

#include "api/prompt_routes.hpp"

using namespace certlab::api;

TEST_CASE("api: base64 of attachments decodes exactly and refuses what is malformed") {
    CHECK(decode_base64("") == std::string());
    CHECK(decode_base64("YQ==") == std::string("a"));
    CHECK(decode_base64("YWI=") == std::string("ab"));
    CHECK(decode_base64("YWJj") == std::string("abc"));
    CHECK(decode_base64("AP8A/w==") == std::string("\x00\xff\x00\xff", 4));
    CHECK_FALSE(decode_base64("YWJ"));       // not a multiple of 4
    CHECK_FALSE(decode_base64("YW=j"));      // data after padding
    CHECK_FALSE(decode_base64("Y==="));      // too much padding
    CHECK_FALSE(decode_base64("YQ==YWJj"));  // padding before the end
    CHECK_FALSE(decode_base64("YW J"));      // no whitespace
    CHECK_FALSE(decode_base64("YW-_"));      // not the URL alphabet
}

TEST_CASE("api: a route may carry its own body limit, and only that route has it") {
    Router r;
    auto handler = [](const Request&) { return Response{}; };
    r.add("GET", "/v1/prompts/{id}", handler);
    r.add("POST", "/v1/prompts/{id}/answer", handler, 12'000'000);
    CHECK(r.largest_body_limit() == 12'000'000);
    CHECK(r.body_limit("POST", "/v1/prompts/4/answer") == std::optional<std::size_t>(12'000'000));
    CHECK_FALSE(r.body_limit("GET", "/v1/prompts/4/answer"));
    CHECK_FALSE(r.body_limit("POST", "/v1/prompts/4"));
    CHECK_FALSE(r.body_limit("POST", "/v1/runs"));
    CHECK_FALSE(r.body_limit("POST", "/v1/prompts/%zz/answer"));  // malformed: the default limit
}
