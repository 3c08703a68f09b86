// Prompt steps: the loader's rules and errors, what a valid answer is, how an answer
// becomes an outcome, and the runner's prompt branch with a scripted Prompter.
#include <doctest/doctest.h>

#include "engine/prompt.hpp"
#include "runner_fixture.hpp"

using namespace certlab;
namespace asio = boost::asio;
using engine::PromptKind;
using engine::PromptReply;
using record::Outcome;

namespace {

const std::string head = "suite: s\ntitle: S\nrequires: [printer]\nscenarios:\n  - id: A-1\n    title: t\n    steps:\n";

/// The ConfigError message for a suite with these steps, or "" if it loaded.
std::string error_of(const std::string& steps) {
    try {
        (void)engine::parse_suite(head + steps, "s.yaml");
    } catch (const sdk::ConfigError& e) {
        return e.what();
    }
    return "";
}

engine::PromptSpec spec_of(PromptKind kind) {
    engine::PromptSpec s;
    s.kind = kind;
    s.message = "?";
    return s;
}

PromptReply answered(std::string answer, std::string comment = {}) {
    PromptReply r;
    r.status = PromptReply::Status::answered;
    r.prompt_id = 7;
    r.answer = std::move(answer);
    r.answered_by = "tom";
    r.comment = std::move(comment);
    return r;
}

}  // namespace

TEST_CASE("prompt: the loader reads every kind with its options") {
    auto s = engine::parse_suite(head +
                                     "      - prompt: confirm\n        message: Is the receipt legible?\n"
                                     "        save: visual\n"
                                     "      - prompt: choice\n        message: Cut quality?\n"
                                     "        choices: [clean, ragged, torn]\n        fail_on: [torn]\n"
                                     "        timeout: 2min\n        on_timeout: skip\n"
                                     "      - prompt: number\n        message: Paper width?\n        unit: mm\n"
                                     "        min: 79\n        max: 0.081 m\n"
                                     "      - prompt: photo\n        message: Photograph the receipt\n"
                                     "        when: { visual.answer: no }\n",
                                 "s.yaml");
    const auto& steps = s.scenarios[0].steps;
    REQUIRE(steps.size() == 4);
    CHECK(steps[0].kind == engine::Step::Kind::prompt);
    CHECK(steps[0].prompt.kind == PromptKind::confirm);
    CHECK(steps[0].prompt.on_timeout == engine::OnTimeout::error);  // the default
    CHECK(steps[0].timeout == std::chrono::minutes(10));             // a person's default, not step_timeout
    CHECK(steps[0].describe() == "prompt.confirm");
    CHECK(steps[1].prompt.choices == std::vector<std::string>{"clean", "ragged", "torn"});
    CHECK(steps[1].prompt.fail_on == std::vector<std::string>{"torn"});
    CHECK(steps[1].timeout == std::chrono::minutes(2));
    CHECK(steps[1].prompt.on_timeout == engine::OnTimeout::skip);
    CHECK(steps[2].prompt.unit == "mm");
    CHECK(*steps[2].prompt.min == doctest::Approx(79));
    CHECK(*steps[2].prompt.max == doctest::Approx(81));  // 0.081 m in mm
    REQUIRE(steps[3].when.size() == 1);
    CHECK(steps[3].when[0].expected.data == sdk::Value(false).data);  // a confirm's answer is a boolean
}

TEST_CASE("prompt: loader errors name the line, column and what was expected") {
    // Line 8 is the first step line.
    CHECK(error_of("      - prompt: guess\n        message: m\n")
              .find("s.yaml:8:17: prompt: expected confirm, choice, number, text, photo or file, got 'guess'") == 0);
    CHECK(error_of("      - prompt: confirm\n").find("s.yaml:8:9: prompt step: missing required key 'message'") == 0);
    CHECK(error_of("      - prompt: confirm\n        message: m\n        choices: [a, b]\n")
              .find("s.yaml:10:18: choices: only choice prompts take it") == 0);
    CHECK(error_of("      - prompt: text\n        message: m\n        min: 3\n")
              .find("s.yaml:10:14: min: only number prompts take it") == 0);
    CHECK(error_of("      - prompt: choice\n        message: m\n")
              .find("s.yaml:8:9: choice prompt: missing required key 'choices'") == 0);
    CHECK(error_of("      - prompt: choice\n        message: m\n        choices: [only]\n")
              .find("s.yaml:10:18: choices: expected a list of at least two choices") == 0);
    CHECK(error_of("      - prompt: choice\n        message: m\n        choices: [Good, good]\n")
              .find("choices: 'good' appears twice") != std::string::npos);
    CHECK(error_of("      - prompt: choice\n        message: m\n        choices: [good, torn]\n        fail_on: [bad]\n")
              .find("s.yaml:11:18: fail_on: 'bad' is not among the choices (good, torn)") == 0);
    CHECK(error_of("      - prompt: choice\n        message: m\n        choices: [a, b]\n        fail_on: [a, b]\n")
              .find("fail_on: every choice fails") != std::string::npos);
    CHECK(error_of("      - prompt: number\n        message: m\n        unit: furlong\n")
              .find("s.yaml:10:15: unit: 'furlong' is not a unit this station knows") == 0);
    CHECK(error_of("      - prompt: number\n        message: m\n        unit: mm\n        min: 3 V\n")
              .find("min: unit 'V' cannot be compared with the result's unit 'mm'") != std::string::npos);
    CHECK(error_of("      - prompt: number\n        message: m\n        min: 5\n        max: 1\n")
              .find("min is greater than max") != std::string::npos);
    CHECK(error_of("      - prompt: confirm\n        message: m\n        timeout: 0s\n")
              .find("s.yaml:10:18: timeout: expected a duration above zero") == 0);
    CHECK(error_of("      - prompt: confirm\n        message: m\n        on_timeout: pass\n")
              .find("s.yaml:10:21: on_timeout: expected skip, fail or error, got 'pass'") == 0);
    CHECK(error_of("      - prompt: confirm\n        message: m\n        role: psu\n")
              .find("unknown key 'role'") != std::string::npos);
    CHECK(error_of("      - prompt: confirm\n        message: m\n        save: v\n"
                   "      - call: printer.status\n        when: { v.colour: red }\n")
              .find("when: 'colour' is not a result of prompt.confirm") != std::string::npos);
}

TEST_CASE("prompt: answers are checked against their question") {
    auto confirm = spec_of(PromptKind::confirm);
    CHECK(engine::parse_answer(confirm, " Yes ", false).text == "yes");
    CHECK(engine::parse_answer(confirm, "n", false).text == "no");
    CHECK(engine::parse_answer(confirm, "maybe", false).error == "a confirm prompt is answered yes or no, not 'maybe'");

    auto choice = spec_of(PromptKind::choice);
    choice.choices = {"good", "faded", "torn"};
    CHECK(engine::parse_answer(choice, "FADED", false).text == "faded");
    CHECK(engine::parse_answer(choice, "smudged", false).error ==
          "'smudged' is not one of the choices offered (good, faded, torn)");

    auto number = spec_of(PromptKind::number);
    number.unit = "mm";
    auto p = engine::parse_answer(number, "79.5", false);
    CHECK(p.error.empty());
    CHECK(std::get<double>(p.value.data) == doctest::Approx(79.5));
    CHECK(p.value.unit == "mm");
    CHECK(std::get<double>(engine::parse_answer(number, "0.08 m", false).value.data) == doctest::Approx(80));
    CHECK(engine::parse_answer(number, "wide", false).error == "a number prompt is answered with a number in mm, not 'wide'");
    CHECK(engine::parse_answer(number, "3 V", false).error == "'3 V' is not in a unit comparable with mm");

    CHECK(engine::parse_answer(spec_of(PromptKind::text), "  ", false).error == "a text prompt needs a non-empty answer");
    CHECK(engine::parse_answer(spec_of(PromptKind::photo), "", false).error == "a photo prompt is answered with an attachment");
    CHECK(engine::parse_answer(spec_of(PromptKind::photo), "", true).error.empty());
}

TEST_CASE("prompt: an answer becomes an outcome, and nobody answering follows on_timeout") {
    const auto t = std::chrono::seconds(2);
    auto confirm = spec_of(PromptKind::confirm);
    CHECK(engine::judge(confirm, answered("yes"), t).outcome == Outcome::pass);
    auto no = engine::judge(confirm, answered("no", "last 5 lines faded"), t);
    CHECK(no.outcome == Outcome::fail);
    CHECK(no.reason == "technician answered no by tom (comment: last 5 lines faded)");

    auto choice = spec_of(PromptKind::choice);
    choice.choices = {"clean", "ragged", "torn"};
    choice.fail_on = {"torn"};
    CHECK(engine::judge(choice, answered("ragged"), t).outcome == Outcome::pass);
    CHECK(engine::judge(choice, answered("torn"), t).reason == "technician chose 'torn' by tom");

    auto number = spec_of(PromptKind::number);
    number.unit = "mm";
    number.min = 79;
    number.max = 81;
    CHECK(engine::judge(number, answered("80"), t).outcome == Outcome::pass);
    CHECK(engine::judge(number, answered("78.2"), t).reason == "answer 78.2 mm is below the limit of 79 mm by tom");
    CHECK(engine::judge(number, answered("82"), t).outcome == Outcome::fail);

    PromptReply silent;
    silent.status = PromptReply::Status::timed_out;
    CHECK(engine::judge(confirm, silent, t).outcome == Outcome::error);
    CHECK(engine::judge(confirm, silent, t).reason == "no answer from the technician within 2 s (on_timeout: error)");
    confirm.on_timeout = engine::OnTimeout::skip;
    CHECK(engine::judge(confirm, silent, t).outcome == Outcome::skipped);
    confirm.on_timeout = engine::OnTimeout::fail;
    CHECK(engine::judge(confirm, silent, t).outcome == Outcome::fail);
}

namespace {

using test::runner::NullTransport;

/// Answers printer.status with online: true, and counts the calls.
class OnlineDriver : public sdk::Driver {
public:
    int calls = 0;
    sdk::Task<void> open() override { co_return; }
    sdk::Task<sdk::Identity> identify() override { co_return sdk::Identity{}; }
    sdk::Task<sdk::Values> invoke(const sdk::ActionSpec&, const sdk::Args&) override {
        ++calls;
        co_return sdk::Values{{"online", true}};
    }
};

class Link : public engine::DeviceLink {
public:
    NullTransport transport;
    sdk::Stream stream_{transport};
    OnlineDriver driver_;
    std::string id = "dev";
    const std::string& device_id() const override { return id; }
    std::string driver_name() const override { return "online 1"; }
    sdk::Task<void> ensure_open() override { co_return; }
    sdk::Driver& driver() override { return driver_; }
    sdk::Stream& stream() override { return stream_; }
    void fault(std::string_view) override {}
};

/// Replies from a script; with an empty script it waits (polling like the real desk)
/// until the run is stopped. Records every request.
class ScriptedPrompter : public engine::Prompter {
public:
    std::deque<PromptReply> script;
    std::vector<engine::PromptRequest> asked;
    std::function<void()> on_waiting;  ///< called when a prompt starts to wait
    sdk::Task<PromptReply> ask(const engine::PromptRequest& request, const engine::RunControl& control) override {
        asked.push_back(request);
        if (!script.empty()) {
            auto reply = script.front();
            script.pop_front();
            co_return reply;
        }
        if (on_waiting) on_waiting();
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!control.stop_requested && std::chrono::steady_clock::now() < give_up) {
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::use_awaitable);
        }
        PromptReply out;
        out.status = control.stop_requested ? PromptReply::Status::stopped : PromptReply::Status::timed_out;
        co_return out;
    }
};

struct RunFixture {
    test::TempDir dir;
    std::unique_ptr<record::Store> store = record::Store::open(dir / "r.db", {record::Store::Sync::normal});
    Link link;
    ScriptedPrompter prompter;
    engine::RunControl control;
    record::Run run;
    engine::Suite suite;

    Outcome execute(const std::string& steps, engine::RunObserver obs = {}) {
        suite = engine::parse_suite(head + steps, "t.yaml");
        run.device_id = "dev";
        run.suite_id = "s";
        run.started_at = std::chrono::system_clock::now();
        store->begin_run(run);
        engine::Runner runner(*store, link, suite, run, control, std::move(obs));
        asio::io_context io;
        auto f = asio::co_spawn(io, runner.run(), asio::use_future);
        io.run();
        return f.get();
    }
    std::vector<record::StepResult> steps() { return store->get_run_detail(run.id, -1)->steps; }
};

const std::string legible = "      - prompt: confirm\n        message: Is the receipt legible?\n        timeout: 1s\n";

}  // namespace

TEST_CASE("prompt: the runner records the question and the answer, and a no fails the device") {
    RunFixture f;
    f.control.prompter = &f.prompter;
    SUBCASE("yes passes, and the saved answer drives a when-guard") {
        f.prompter.script.push_back(answered("yes", "crisp"));
        CHECK(f.execute(legible + "        save: look\n"
                                  "      - call: printer.status\n        when: { look.answer: yes }\n") == Outcome::pass);
        REQUIRE(f.prompter.asked.size() == 1);
        const auto& req = f.prompter.asked[0];
        CHECK(req.run_id == f.run.id);
        CHECK(req.scenario_id == "A-1");
        CHECK(req.step_index == 0);
        CHECK(req.spec.message == "Is the receipt legible?");
        CHECK(req.timeout == std::chrono::seconds(1));
        auto steps = f.steps();
        REQUIRE(steps.size() == 2);
        CHECK(steps[0].kind == "prompt");
        CHECK(steps[0].action == "prompt.confirm");
        CHECK(std::get<std::string>(steps[0].args.at("message").data) == "Is the receipt legible?");
        CHECK(std::get<bool>(steps[0].values.at("answer").data) == true);
        CHECK(std::get<std::string>(steps[0].values.at("answered_by").data) == "tom");
        CHECK(std::get<std::string>(steps[0].values.at("comment").data) == "crisp");
        CHECK(std::get<std::int64_t>(steps[0].values.at("prompt_id").data) == 7);
        CHECK(steps[1].outcome == Outcome::pass);
        CHECK(f.link.driver_.calls == 1);
    }
    SUBCASE("no fails the scenario with the technician's words") {
        f.prompter.script.push_back(answered("no", "faded"));
        CHECK(f.execute(legible + "      - call: printer.status\n") == Outcome::fail);
        auto d = f.store->get_run_detail(f.run.id, -1);
        CHECK(d->scenarios[0].reason == "step 1 prompt.confirm: technician answered no by tom (comment: faded)");
        CHECK(f.link.driver_.calls == 0);  // the scenario ended at the failed step
    }
    SUBCASE("an attachment's description is kept with the answer") {
        auto reply = answered("");
        reply.attachment = engine::PromptAttachment{"receipt.jpg", 1234, std::string(64, 'a')};
        f.prompter.script.push_back(reply);
        CHECK(f.execute("      - prompt: photo\n        message: Photograph it\n") == Outcome::pass);
        auto v = f.steps()[0].values;
        CHECK(std::get<std::string>(v.at("attachment_name").data) == "receipt.jpg");
        CHECK(std::get<std::int64_t>(v.at("attachment_size").data) == 1234);
        CHECK(v.at("attachment_size").unit == "B");
    }
    SUBCASE("a timed-out prompt follows its policy: skip lets the scenario go on") {
        PromptReply silent;
        silent.status = PromptReply::Status::timed_out;
        f.prompter.script.push_back(silent);
        CHECK(f.execute(legible + "        on_timeout: skip\n      - call: printer.status\n") == Outcome::pass);
        auto steps = f.steps();
        CHECK(steps[0].outcome == Outcome::skipped);
        CHECK(steps[0].reason.find("no answer from the technician within 1 s (on_timeout: skip)") == 0);
        CHECK(f.link.driver_.calls == 1);
    }
    SUBCASE("a stop request ends a waiting prompt as aborted") {
        // As the API's abort would, on the run's own executor while the prompt waits.
        f.prompter.on_waiting = [&] { f.control.request_stop("technician pulled the plug"); };
        auto outcome = f.execute(legible);
        CHECK(outcome == Outcome::aborted);
        auto steps = f.steps();
        REQUIRE(steps.size() == 1);
        CHECK(steps[0].outcome == Outcome::aborted);
        CHECK(steps[0].reason == "stopped: technician pulled the plug");
        CHECK(f.run.status == record::RunStatus::aborted);
    }
}

TEST_CASE("prompt: without a technician desk a prompt step is the station's error") {
    RunFixture f;
    CHECK(f.execute(legible) == Outcome::error);
    auto steps = f.steps();
    REQUIRE(steps.size() == 1);
    CHECK(steps[0].outcome == Outcome::error);
    CHECK(steps[0].reason == "no technician desk on this station");
}

TEST_CASE("prompt: the shipped inspection suite loads, with times a person can keep") {
    auto s = engine::load_suite(std::string(CERTLAB_SOURCE_DIR) + "/lab-config/suites/receipt-printer-inspection.yaml");
    CHECK(s.id == "receipt-printer-inspection");
    int prompts = 0;
    for (const auto& sc : s.scenarios)
        for (const auto& st : sc.steps)
            if (st.kind == engine::Step::Kind::prompt) {
                ++prompts;
                CHECK(st.timeout >= std::chrono::minutes(5));
            }
    CHECK(prompts >= 3);
}
