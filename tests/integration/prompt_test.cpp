// Technician prompts through the real daemon, CLI and simulator: answered with
// `certlab answer`, left to time out under their policy, refused when the answer is
// wrong or comes twice, attachments read back byte for byte, withdrawn by a shutdown,
// and closed at the restart after a SIGKILL.
#include <doctest/doctest.h>

#include <signal.h>

#include "harness.hpp"

using namespace certlab::test;
using nlohmann::json;

namespace {

// Short timeouts: the test answers at once or lets the prompt lapse.
const char* lab_suite = R"(suite: prompt-lab
title: Prompts at the bench
requires: [printer]
scenarios:
  - id: PR-1
    title: Legible receipt, its cut left unjudged
    steps:
      - call: printer.print
        args: { count: 3, title: "PROMPT LAB" }
        expect: { accepted: true }
      - prompt: confirm
        message: Is the receipt legible?
        timeout: 30s
        save: look
      - prompt: choice
        message: How is the cut?
        choices: [clean, ragged, torn]
        fail_on: [torn]
        timeout: 1s
        on_timeout: skip
      - call: printer.status
        when: { look.answer: yes }
        expect: { online: true }
  - id: PR-2
    title: Paper width
    steps:
      - prompt: number
        message: Paper width?
        unit: mm
        min: 79
        max: 81
        timeout: 30s
  - id: PR-3
    title: Photo of the receipt
    steps:
      - prompt: photo
        message: Photograph the receipt
        timeout: 30s
)";

const char* waiting_suite = R"(suite: prompt-wait
title: A prompt nobody answers
requires: [printer]
scenarios:
  - id: PW-1
    title: Waits for the technician
    steps:
      - prompt: confirm
        message: Anybody there?
        timeout: 60s
)";

struct Bench {
    TempDir dir;
    Sim sim = start_printer(Link::tcp);
    std::filesystem::path db = dir / "store.db";
    std::string yaml;

    explicit Bench(const std::string& suite_text) {
        std::filesystem::create_directory(dir / "suites");
        write_file(dir / "suites" / "lab.yaml", suite_text);
        yaml = station_yaml({{"p", sim.address, ""}}, db, dir / "suites");
    }
};

/// The open prompt of `run` in `scenario` (kind `kind`), once it is there; null after 20 s.
json wait_for_prompt(const Daemon& d, std::int64_t run, const std::string& scenario, const std::string& kind) {
    json found;
    wait_until(
        [&] {
            const auto doc = d.get("/v1/prompts?run=" + std::to_string(run));
            for (const auto& p : doc["prompts"])
                if (p["scenario"] == scenario && p["kind"] == kind) {
                    found = p;
                    return true;
                }
            return false;
        },
        20s);
    return found;
}

std::pair<int, json> answer(const Daemon& d, std::int64_t id, const json& body) {
    auto r = http("POST", d.port(), "/v1/prompts/" + std::to_string(id) + "/answer", body.dump(), 20000);
    return {r.status, json::parse(r.body, nullptr, false)};
}

json step_of(const json& run, const std::string& action, const std::string& outcome = {}) {
    for (const auto& s : run["steps"])
        if (s["action"] == action && (outcome.empty() || s["outcome"] == outcome)) return s;
    return json{{"outcome", "missing"}};
}

/// Bytes that text handling would mangle: NULs, high bytes, CR LF.
std::string photo_bytes() {
    std::string out;
    for (int i = 0; i < 200'000; ++i) out += static_cast<char>((i * 7919 + i / 256) & 0xFF);
    return out;
}

}  // namespace

TEST_CASE("prompts: answered through the CLI, timed out under its policy, wrong or double answers refused") {
    Bench b(lab_suite);
    Daemon d(b.dir, b.yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto run_id = d.start_run("p", "prompt-lab");
    REQUIRE(run_id > 0);

    // The confirm prompt: listed for the technician, with how to answer it.
    auto confirm = wait_for_prompt(d, run_id, "PR-1", "confirm");
    REQUIRE_MESSAGE(confirm.is_object(), d.log());
    const auto confirm_id = confirm["id"].get<std::int64_t>();
    CHECK(confirm["status"] == "open");
    CHECK(confirm["device"] == "p");
    CHECK(confirm["time_left_s"].get<double>() > 0);
    auto listed = cli(d, {"prompts"});
    CHECK(listed.status == 0);
    CHECK(listed.out.find("Is the receipt legible?") != std::string::npos);
    CHECK(listed.out.find("yes|no") != std::string::npos);

    auto [maybe_status, maybe] = answer(d, confirm_id, {{"answer", "maybe"}, {"by", "tom"}});
    CHECK(maybe_status == 422);
    CHECK(text_contains(maybe["detail"], "a confirm prompt is answered yes or no, not 'maybe'"));
    auto yes = cli(d, {"answer", std::to_string(confirm_id), "yes", "--by", "tom", "--comment", "crisp to the end"});
    CHECK(yes.status == 0);
    CHECK(yes.out.find("prompt " + std::to_string(confirm_id) + " answered: yes by tom") != std::string::npos);
    auto [again_status, again] = answer(d, confirm_id, {{"answer", "no"}, {"by", "eve"}});
    CHECK(again_status == 409);
    CHECK(text_contains(again["detail"], "is already answered ('yes' by tom)"));
    CHECK(answer(d, 99999, {{"answer", "yes"}}).first == 404);

    // The choice prompt is left alone: it times out and is skipped (its policy).
    auto choice = wait_for_prompt(d, run_id, "PR-1", "choice");
    REQUIRE_MESSAGE(choice.is_object(), d.log());
    const auto choice_href = "/v1/prompts/" + std::to_string(choice["id"].get<std::int64_t>());
    CHECK(wait_until([&] { return d.get(choice_href)["status"] == "timed_out"; }, 10s));
    CHECK(answer(d, choice["id"], {{"answer", "clean"}}).first == 409);

    // The number prompt: a non-number is refused, a number in another unit is taken.
    auto number = wait_for_prompt(d, run_id, "PR-2", "number");
    REQUIRE_MESSAGE(number.is_object(), d.log());
    auto [wide_status, wide] = answer(d, number["id"], {{"answer", "wide"}});
    CHECK(wide_status == 422);
    CHECK(text_contains(wide["detail"], "a number prompt is answered with a number in mm, not 'wide'"));
    auto [num_status, num] = answer(d, number["id"], {{"answer", "0.0802 m"}, {"by", "tom"}});
    CHECK(num_status == 200);
    CHECK(num["answer"] == "80.2");

    // The photo prompt: too big is refused, a real photo is kept byte for byte.
    auto photo = wait_for_prompt(d, run_id, "PR-3", "photo");
    REQUIRE_MESSAGE(photo.is_object(), d.log());
    const auto photo_id = photo["id"].get<std::int64_t>();
    json huge{{"attachment", {{"name", "huge.bin"}, {"content_base64", std::string((8 * 1024 * 1024 + 3) / 3 * 4, 'A')}}}};
    auto [huge_status, huge_doc] = answer(d, photo_id, huge);
    CHECK(huge_status == 413);
    CHECK(text_contains(huge_doc["detail"], "exceeds the limit of 8388608 bytes"));
    CHECK(answer(d, photo_id, {{"answer", ""}}).first == 422);  // a photo prompt needs the photo
    const auto bytes = photo_bytes();
    write_file(b.dir / "receipt.jpg", bytes);
    auto sent = cli(d, {"answer", std::to_string(photo_id), "--file", (b.dir / "receipt.jpg").string(), "--by", "tom"});
    CHECK(sent.status == 0);
    CHECK(sent.out.find("attached receipt.jpg, 200000 bytes") != std::string::npos);
    auto back = http_get(d.port(), "/v1/prompts/" + std::to_string(photo_id) + "/attachment");
    CHECK(back.status == 200);
    CHECK(back.content_type == "application/octet-stream");
    CHECK(back.body.size() == bytes.size());
    CHECK(back.body == bytes);

    auto run = d.wait_for_run(run_id);
    INFO(run.dump(1).substr(0, 3000));
    CHECK(run["run"]["outcome"] == "pass");
    auto confirm_step = step_of(run, "prompt.confirm");
    CHECK(confirm_step["outcome"] == "pass");
    CHECK(confirm_step["args"]["message"]["value"] == "Is the receipt legible?");
    CHECK(confirm_step["values"]["answer"]["value"] == true);
    CHECK(confirm_step["values"]["answered_by"]["value"] == "tom");
    CHECK(confirm_step["values"]["comment"]["value"] == "crisp to the end");
    auto choice_step = step_of(run, "prompt.choice");
    CHECK(choice_step["outcome"] == "skipped");
    CHECK(text_contains(choice_step["reason"], "no answer from the technician within 1 s (on_timeout: skip)"));
    CHECK(step_of(run, "printer.status")["outcome"] == "pass");  // its when-guard saw the saved yes
    auto photo_step = step_of(run, "prompt.photo");
    CHECK(photo_step["values"]["attachment_name"]["value"] == "receipt.jpg");
    CHECK(photo_step["values"]["attachment_sha256"]["value"].get<std::string>().size() == 64);
    CHECK(d.get("/v1/prompts/" + std::to_string(photo_id))["attachment"]["sha256"] ==
          photo_step["values"]["attachment_sha256"]["value"]);

    // Nothing is waiting any more; --all shows how each ended.
    CHECK(d.get("/v1/prompts")["prompts"].empty());
    auto all = cli(d, {"prompts", "--all"});
    CHECK(all.out.find("timed_out") != std::string::npos);
    CHECK(all.out.find("answered") != std::string::npos);
}

TEST_CASE("prompts: a number out of its limits fails the scenario, naming the answer") {
    Bench b(lab_suite);
    Daemon d(b.dir, b.yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto run_id = d.start_run("p", "prompt-lab");
    REQUIRE(run_id > 0);
    auto confirm = wait_for_prompt(d, run_id, "PR-1", "confirm");
    REQUIRE_MESSAGE(confirm.is_object(), d.log());
    CHECK(cli(d, {"answer", std::to_string(confirm["id"].get<std::int64_t>()), "no", "--comment", "faded"}).status == 0);
    auto number = wait_for_prompt(d, run_id, "PR-2", "number");
    REQUIRE_MESSAGE(number.is_object(), d.log());
    CHECK(cli(d, {"answer", std::to_string(number["id"].get<std::int64_t>()), "57.5", "--by", "tom"}).status == 0);
    auto photo = wait_for_prompt(d, run_id, "PR-3", "photo");
    REQUIRE_MESSAGE(photo.is_object(), d.log());
    write_file(b.dir / "p.jpg", "jpeg");
    CHECK(cli(d, {"answer", std::to_string(photo["id"].get<std::int64_t>()), "--file", (b.dir / "p.jpg").string()})
              .status == 0);
    auto run = d.wait_for_run(run_id);
    CHECK(run["run"]["outcome"] == "fail");
    CHECK(text_contains(scenario_of(run, "PR-1")["reason"], "technician answered no"));
    CHECK(text_contains(scenario_of(run, "PR-1")["reason"], "faded"));
    CHECK(text_contains(scenario_of(run, "PR-2")["reason"], "answer 57.5 mm is below the limit of 79 mm by tom"));
    CHECK(scenario_of(run, "PR-3")["outcome"] == "pass");
}

TEST_CASE("prompts: a shutdown withdraws a waiting prompt and the run ends aborted") {
    Bench b(waiting_suite);
    Daemon d(b.dir, b.yaml);
    REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
    auto run_id = d.start_run("p", "prompt-wait");
    REQUIRE(run_id > 0);
    auto prompt = wait_for_prompt(d, run_id, "PW-1", "confirm");
    REQUIRE_MESSAGE(prompt.is_object(), d.log());
    const auto id = std::to_string(prompt["id"].get<std::int64_t>());
    d.process().signal(SIGTERM);
    auto status = d.process().wait(15s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    // Withdrawn by the stop request, not left open for the restart to find.
    CHECK(sql_value(b.db, "SELECT status FROM prompts WHERE id = " + id) == "cancelled");
    CHECK(sql_value(b.db, "SELECT close_reason FROM prompts WHERE id = " + id).find("shutting down") != std::string::npos);
    CHECK(sql_value(b.db, "SELECT status FROM runs WHERE id = " + std::to_string(run_id)) == "aborted");
    CHECK(sql_value(b.db, "SELECT outcome FROM step_results WHERE run_id = " + std::to_string(run_id)) == "aborted");
}

TEST_CASE("prompts: a prompt left open by a SIGKILL is closed at the restart and refuses answers") {
    Bench b(waiting_suite);
    std::int64_t run_id = 0;
    std::string id;
    {
        Daemon d(b.dir, b.yaml);
        REQUIRE_MESSAGE(d.wait_for_state({"p"}, "ready"), d.log());
        run_id = d.start_run("p", "prompt-wait");
        REQUIRE(run_id > 0);
        auto prompt = wait_for_prompt(d, run_id, "PW-1", "confirm");
        REQUIRE_MESSAGE(prompt.is_object(), d.log());
        id = std::to_string(prompt["id"].get<std::int64_t>());
        d.process().signal(SIGKILL);
        REQUIRE(d.process().wait(5s).has_value());
    }
    CHECK(sql_value(b.db, "SELECT status FROM prompts WHERE id = " + id) == "open");
    // Closed before any run is taken back: a resumed run asks afresh, as a new prompt.
    Daemon again(b.dir, b.yaml);
    const auto open = again.get("/v1/prompts");
    for (const auto& p : open["prompts"]) CHECK(std::to_string(p["id"].get<std::int64_t>()) != id);
    auto p = again.get("/v1/prompts/" + id);
    CHECK(p["status"] == "interrupted");
    CHECK_FALSE(p["closed_at"].is_null());
    auto [status, doc] = answer(again, std::stoll(id), {{"answer", "yes"}});
    CHECK(status == 409);
    CHECK(text_contains(doc["detail"], "was closed at a restart"));
    CHECK(text_contains(p["close_reason"], "certlabd stopped while the prompt was waiting"));
}
