// The runner's test fixture: a scripted driver at the edge of a real store.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <deque>
#include <functional>

#include "engine/runner.hpp"
#include "record/store.hpp"
#include "sdk/error.hpp"
#include "support/process.hpp"

namespace certlab::test::runner {
namespace asio = boost::asio;

/// A transport that is never used for I/O: the scripted driver answers itself.
class NullTransport : public sdk::Transport {
public:
    const std::string& address() const override { return addr_; }
    sdk::Task<void> open(sdk::Duration) override { co_return; }
    void close() noexcept override {}
    bool is_open() const noexcept override { return true; }
    sdk::Task<void> write(std::string_view, sdk::Duration) override { co_return; }
    sdk::Task<std::size_t> read_some(std::span<char>, sdk::Duration) override { co_return 0; }

private:
    std::string addr_ = "null:";
};

/// Each action call pops the next scripted behaviour.
using Behaviour = std::function<sdk::Task<sdk::Values>()>;

class ScriptedDriver : public sdk::Driver {
public:
    std::deque<Behaviour> script;
    int calls = 0;
    sdk::Task<void> open() override { co_return; }
    sdk::Task<sdk::Identity> identify() override { co_return sdk::Identity{}; }
    sdk::Task<sdk::Values> invoke(const sdk::ActionSpec&, const sdk::Args&) override {
        ++calls;
        auto b = std::move(script.front());
        script.pop_front();
        sdk::Values v = co_await b();
        co_return v;
    }
};

class Link : public engine::DeviceLink {
public:
    NullTransport transport;
    sdk::Stream stream_{transport};
    ScriptedDriver driver_;
    std::string id = "dev";
    int faults = 0;
    const std::string& device_id() const override { return id; }
    std::string driver_name() const override { return "scripted 1"; }
    sdk::Task<void> ensure_open() override { co_return; }
    sdk::Driver& driver() override { return driver_; }
    sdk::Stream& stream() override { return stream_; }
    void fault(std::string_view) override { ++faults; }
};

inline Behaviour values(sdk::Values v) {
    return [v]() -> sdk::Task<sdk::Values> { co_return v; };
}
template <typename E>
inline Behaviour throws(E e) {
    return [e]() -> sdk::Task<sdk::Values> {
        throw e;
        co_return sdk::Values{};
    };
}
inline Behaviour sleeps(std::chrono::milliseconds d) {
    return [d]() -> sdk::Task<sdk::Values> {
        asio::steady_timer t(co_await asio::this_coro::executor, d);
        co_await t.async_wait(asio::use_awaitable);
        co_return sdk::Values{{"online", true}};
    };
}

struct Fixture {
    test::TempDir dir;
    std::unique_ptr<record::Store> store = record::Store::open(dir / "r.db", {record::Store::Sync::normal});
    Link link;
    engine::RunControl control;
    record::Run run;

    record::Outcome execute(const std::string& scenarios, engine::RunObserver obs = {}) {
        suite = engine::parse_suite("suite: t\ntitle: T\nrequires: [printer]\nscenarios:\n" + scenarios, "t.yaml");
        run.device_id = "dev";
        run.suite_id = "t";
        run.started_at = std::chrono::system_clock::now();
        store->begin_run(run);
        return go(std::move(obs));
    }
    /// Runs (or, with run.resumed set, resumes) the run already in the store.
    record::Outcome go(engine::RunObserver obs = {}) {
        engine::Runner runner(*store, link, suite, run, control, std::move(obs));
        asio::io_context io;
        auto f = asio::co_spawn(io, runner.run(), asio::use_future);
        io.run();
        return f.get();
    }
    engine::Suite suite;
};

}  // namespace certlab::test::runner
