// The technician desk over a real store: an answer wakes the waiting run, a stop or
// the deadline ends the wait, and an answer is refused when it cannot be taken.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>

#include "engine/runner.hpp"
#include "station/prompt_desk.hpp"
#include "support/process.hpp"

using namespace certlab;
namespace asio = boost::asio;
using engine::PromptReply;

namespace {

struct Fixture {
    test::TempDir dir;
    std::unique_ptr<record::Store> store = record::Store::open(dir / "r.db", {record::Store::Sync::normal});
    station::PromptDesk desk{*store};
    engine::RunControl control;
    record::Run run;
    asio::io_context io;

    Fixture() {
        run.device_id = "dev";
        run.suite_id = "s";
        run.started_at = std::chrono::system_clock::now();
        store->begin_run(run);
    }

    engine::PromptRequest request(engine::PromptKind kind, std::chrono::milliseconds timeout) const {
        engine::PromptRequest r;
        r.run_id = run.id;
        r.scenario_id = "INS-001";
        r.step_index = 2;
        r.spec.kind = kind;
        r.spec.message = "Is the receipt legible?";
        r.timeout = timeout;
        return r;
    }

    /// Runs ask() on the io context while `meanwhile` runs on the same executor once
    /// the prompt is stored (as an API request would); returns the reply. Bounded by
    /// the request's timeout.
    PromptReply ask(const engine::PromptRequest& req, std::function<void(std::int64_t)> meanwhile) {
        auto reply = asio::co_spawn(io, desk.ask(req, control), asio::use_future);
        asio::co_spawn(
            io,
            [&]() -> sdk::Task<void> {
                asio::steady_timer t(co_await asio::this_coro::executor);
                for (int i = 0; i < 500; ++i) {
                    auto open = store->list_prompts(true, run.id, 1);
                    if (!open.empty()) {
                        meanwhile(open[0].id);
                        co_return;
                    }
                    t.expires_after(std::chrono::milliseconds(2));
                    co_await t.async_wait(asio::use_awaitable);
                }
            },
            asio::detached);
        io.run();
        return reply.get();
    }
};

api::PromptAnswerInput input(std::string answer, std::string by = "tom") {
    api::PromptAnswerInput in;
    in.answer = std::move(answer);
    in.by = std::move(by);
    return in;
}

}  // namespace

TEST_CASE("prompt desk: an answer is committed, then wakes the waiting run") {
    Fixture f;
    std::vector<api::ActionResult> results;
    auto reply = f.ask(f.request(engine::PromptKind::confirm, std::chrono::seconds(60)), [&](std::int64_t id) {
        results.push_back(f.desk.answer(id, input("maybe")));
        results.push_back(f.desk.answer(id + 100, input("yes")));
        auto in = input("no");
        in.comment = "last lines faded";
        results.push_back(f.desk.answer(id, in));
        // Committed before the run is woken: the store has it already.
        auto stored = f.store->get_prompt(id);
        CHECK(stored->status == record::PromptStatus::answered);
        results.push_back(f.desk.answer(id, input("yes", "eve")));
    });
    // Answered long before the 60 s deadline: the answer woke it.
    CHECK(reply.status == PromptReply::Status::answered);
    CHECK(reply.answer == "no");
    CHECK(reply.answered_by == "tom");
    CHECK(reply.comment == "last lines faded");
    REQUIRE(results.size() == 4);
    CHECK(results[0].http_status == 422);
    CHECK(results[0].error.find("a confirm prompt is answered yes or no, not 'maybe'") != std::string::npos);
    CHECK(results[1].http_status == 404);
    CHECK(results[2].http_status == 200);
    CHECK(results[3].http_status == 409);
    CHECK(results[3].error.find("is already answered ('no')") != std::string::npos);

    auto p = f.store->get_prompt(reply.prompt_id);
    REQUIRE(p);
    CHECK(p->answer == "no");
    CHECK(p->answered_by == "tom");
    CHECK(p->scenario_id == "INS-001");
    CHECK(p->step_index == 2);
    CHECK(p->device_id == "dev");
    // After the run moved on, a late answer is refused from the record.
    auto late = f.desk.answer(reply.prompt_id, input("yes"));
    CHECK(late.http_status == 409);
    CHECK(late.error.find("is already answered ('no' by tom)") != std::string::npos);
}

TEST_CASE("prompt desk: an attachment is kept byte for byte with its digest, within the size limit") {
    Fixture f;
    std::vector<api::ActionResult> results;
    const std::string bytes("\x89PNG\r\n\x1a\n\0\x01\xff", 11);
    auto reply = f.ask(f.request(engine::PromptKind::photo, std::chrono::seconds(60)), [&](std::int64_t id) {
        results.push_back(f.desk.answer(id, input("")));  // a photo prompt needs the photo
        auto big = input("");
        big.attachment = record::Attachment{"huge.jpg", std::string(record::Store::max_attachment_bytes + 1, 'x')};
        results.push_back(f.desk.answer(id, big));
        auto photo = input("");
        photo.attachment = record::Attachment{"receipt.png", bytes};
        results.push_back(f.desk.answer(id, photo));
    });
    REQUIRE(results.size() == 3);
    CHECK(results[0].http_status == 422);
    CHECK(results[1].http_status == 413);
    CHECK(results[2].http_status == 200);
    REQUIRE(reply.attachment);
    CHECK(reply.attachment->name == "receipt.png");
    CHECK(reply.attachment->size == 11);
    CHECK(reply.attachment->sha256.size() == 64);
    auto a = f.store->get_attachment(reply.prompt_id);
    REQUIRE(a);
    CHECK(a->content == bytes);
    CHECK(f.store->get_prompt(reply.prompt_id)->attachment->sha256 == reply.attachment->sha256);
}

TEST_CASE("prompt desk: nobody answering closes the prompt as timed out, and a late answer is refused") {
    Fixture f;
    auto reply = f.ask(f.request(engine::PromptKind::confirm, std::chrono::milliseconds(50)), [](std::int64_t) {});
    CHECK(reply.status == PromptReply::Status::timed_out);
    auto p = f.store->get_prompt(reply.prompt_id);
    CHECK(p->status == record::PromptStatus::timed_out);
    CHECK(p->closed_at.has_value());
    auto late = f.desk.answer(reply.prompt_id, input("yes"));
    CHECK(late.http_status == 409);
    CHECK(late.error.find("timed out") != std::string::npos);
}

TEST_CASE("prompt desk: a stop request withdraws a waiting prompt") {
    Fixture f;
    auto reply = f.ask(f.request(engine::PromptKind::confirm, std::chrono::seconds(60)),
                       [&](std::int64_t) { f.control.request_stop("run 1 aborted by eve"); });
    CHECK(reply.status == PromptReply::Status::stopped);
    auto p = f.store->get_prompt(reply.prompt_id);
    CHECK(p->status == record::PromptStatus::cancelled);
    CHECK(p->close_reason == "stopped: run 1 aborted by eve");
    CHECK(f.desk.answer(reply.prompt_id, input("yes")).http_status == 409);
}

TEST_CASE("prompt desk: prompts a dead process left open are closed at start") {
    Fixture f;
    record::Prompt p;
    p.run_id = f.run.id;
    p.scenario_id = "INS-001";
    p.kind = "confirm";
    p.message = "Is it legible?";
    p.on_timeout = "error";
    p.opened_at = std::chrono::system_clock::now();
    p.deadline = p.opened_at + std::chrono::minutes(5);
    f.store->open_prompt(p);
    CHECK(f.desk.close_left_open() == 1);
    CHECK(f.desk.close_left_open() == 0);
    auto stored = f.store->get_prompt(p.id);
    CHECK(stored->status == record::PromptStatus::interrupted);
    auto refused = f.desk.answer(p.id, input("yes"));
    CHECK(refused.http_status == 409);
    CHECK(refused.error.find("was closed at a restart") != std::string::npos);
    CHECK(f.store->list_prompts(true, std::nullopt, -1).empty());
    CHECK(f.store->list_prompts(false, std::nullopt, -1).size() == 1);
}
