// The TLS transport against certlab-sim kds on a TLS endpoint, with certificates the
// test makes: verification against the CA file and the server name, what each failure
// is (configuration, io, closed, timeout), and the byte stream once connected.
#include "transport/tls.hpp"

#include <array>
#include <boost/asio/io_context.hpp>

#include "sdk/error.hpp"
#include "support/pki.hpp"
#include "support/process.hpp"
#include "transport/factory.hpp"
#include "unit/transport/run_io.hpp"

using namespace certlab;
using namespace certlab::test;
using Kind = sdk::TransportError::Kind;

namespace {

/// certlab-sim kds on an ephemeral port, over TLS unless `plain`.
struct KdsSim {
    Process process;
    std::uint16_t port = 0;

    KdsSim(const Pki& pki, std::vector<std::string> options = {}, bool plain = false) {
        std::vector<std::string> argv{bin("certlab-sim").string(), "kds", "--tcp", "0"};
        if (!plain)
            argv.insert(argv.end(), {"--tls-cert", pki.server_cert.string(), "--tls-key", pki.server_key.string()});
        argv.insert(argv.end(), options.begin(), options.end());
        process = Process::start(argv);
        auto line = process.read_line(5s);
        REQUIRE(line);
        REQUIRE(line->rfind("tcp 127.0.0.1:", 0) == 0);
        port = static_cast<std::uint16_t>(std::stoi(line->substr(14)));
    }
};

transport::TlsOptions trusting(const std::filesystem::path& ca, std::string name = "localhost") {
    return {ca.string(), std::move(name)};
}

/// One request and the whole response (Content-Length bodies, as the simulator sends).
std::string ask(boost::asio::io_context& ioc, sdk::Transport& t, const std::string& request) {
    return run(ioc, [&]() -> sdk::Task<std::string> {
        co_await t.write(request, 2s);
        std::string got;
        std::array<char, 512> buf;
        for (;;) {
            const auto n = co_await t.read_some(buf, 2s);
            got.append(buf.data(), n);
            const auto head = got.find("\r\n\r\n");
            const auto cl = got.find("Content-Length: ");
            if (head != std::string::npos && cl != std::string::npos &&
                got.size() >= head + 4 + std::stoul(got.substr(cl + 16)))
                co_return got;
        }
    });
}

}  // namespace

TEST_CASE("transport: tls verifies the server against the CA file and carries bytes both ways") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    KdsSim sim(pki);
    boost::asio::io_context ioc;
    const auto addr = transport::parse_address("tls:127.0.0.1:" + std::to_string(sim.port) + "?ca=" + pki.ca.string() +
                                               "&server_name=localhost");
    CHECK(addr.kind == transport::Address::Kind::tls);
    CHECK(addr.tls.ca_file == pki.ca.string());
    CHECK(addr.tls.server_name == "localhost");
    auto t = transport::make_transport(addr, ioc.get_executor());
    CHECK(t->address() == addr.text);
    run(ioc, [&]() -> sdk::Task<void> { co_await t->open(3s); });
    CHECK(t->is_open());
    CHECK_FALSE(t->peer_closed());
    auto answer = ask(ioc, *t, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(answer.find("\"status\":\"ok\"") != std::string::npos);
    // Kept alive: a second request on the same session.
    answer = ask(ioc, *t, "GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n");
    CHECK(answer.find("\"serial\":\"KDS0001\"") != std::string::npos);
    t->close();
    CHECK_FALSE(t->is_open());
}

TEST_CASE("transport: tls names the IP address as the server when no name is given") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    KdsSim sim(pki);
    boost::asio::io_context ioc;
    transport::TlsTransport t(ioc.get_executor(), "127.0.0.1", sim.port, {pki.ca.string(), ""});
    run(ioc, [&]() -> sdk::Task<void> { co_await t.open(3s); });  // the certificate lists IP:127.0.0.1
    CHECK(t.is_open());
}

TEST_CASE("transport: tls refuses a server its CA file does not vouch for, as an io fault saying why") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    KdsSim sim(pki);
    boost::asio::io_context ioc;
    transport::TlsTransport t(ioc.get_executor(), "127.0.0.1", sim.port, trusting(pki.other_ca));
    auto e = transport_error(ioc, [&]() -> sdk::Task<void> { co_await t.open(3s); });
    CHECK(e.kind() == Kind::io);
    CHECK(std::string(e.what()) == "tls 127.0.0.1:" + std::to_string(sim.port) +
                                       ": certificate verification failed: unable to get local issuer certificate "
                                       "(trusting " + pki.other_ca.string() + ", expecting server name localhost)");
    CHECK_FALSE(t.is_open());

    transport::TlsTransport wrong_name(ioc.get_executor(), "127.0.0.1", sim.port, trusting(pki.ca, "pos.example"));
    auto m = transport_error(ioc, [&]() -> sdk::Task<void> { co_await wrong_name.open(3s); });
    CHECK(m.kind() == Kind::io);
    CHECK(std::string(m.what()).find("certificate verification failed: hostname mismatch") != std::string::npos);
}

TEST_CASE("transport: tls against a server that does not speak TLS fails the handshake") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    KdsSim sim(pki, {}, true);
    boost::asio::io_context ioc;
    transport::TlsTransport t(ioc.get_executor(), "127.0.0.1", sim.port, trusting(pki.ca));
    auto e = transport_error(ioc, [&]() -> sdk::Task<void> { co_await t.open(3s); });
    CHECK((e.kind() == Kind::io || e.kind() == Kind::closed));
    CHECK(std::string(e.what()).find("TLS handshake") != std::string::npos);
}

TEST_CASE("transport: a tls CA file that cannot be read is a configuration error at construction") {
    boost::asio::io_context ioc;
    try {
        transport::TlsTransport t(ioc.get_executor(), "127.0.0.1", 1, {"/nonexistent/ca.pem", ""});
        FAIL("constructed");
    } catch (const sdk::ConfigError& e) {
        CHECK(std::string(e.what()).find("tls: cannot load CA file '/nonexistent/ca.pem'") != std::string::npos);
    }
    CHECK_THROWS_AS((void)transport::parse_address("tls:127.0.0.1:8443?ca=relative/ca.pem"), sdk::ConfigError);
    CHECK_THROWS_AS((void)transport::parse_address("tls:127.0.0.1:8443?ca=/a&ca=/b"), sdk::ConfigError);
    CHECK_THROWS_AS((void)transport::parse_address("tls:127.0.0.1:8443?cert=/a"), sdk::ConfigError);
    CHECK_THROWS_AS((void)transport::parse_address("tls:127.0.0.1:8443?server_name=a b"), sdk::ConfigError);
}

TEST_CASE("transport: tls options from settings fill what the address query leaves out") {
    auto a = transport::parse_address("tls:10.0.0.5:8443?server_name=kds.lab");
    sdk::Settings s;
    s.set("tls_ca", "/etc/certlab/ca.pem", "station.yaml:9:17");
    s.set("tls_server_name", "other.lab", "station.yaml:10:17");
    transport::fill_tls_options(a, s);
    CHECK(a.tls.ca_file == "/etc/certlab/ca.pem");
    CHECK(a.tls.server_name == "kds.lab");  // the query wins
    sdk::Settings bad;
    bad.set("tls_ca", "ca.pem", "station.yaml:9:17");
    auto b = transport::parse_address("tls:10.0.0.5:8443");
    try {
        transport::fill_tls_options(b, bad);
        FAIL("accepted a relative CA path");
    } catch (const sdk::ConfigError& e) {
        CHECK(std::string(e.what()) == "station.yaml:9:17: tls_ca: ca: expected an absolute path to a PEM file, got 'ca.pem'");
    }
}

TEST_CASE("transport: tls reports a dropped connection as closed and a silent one as a timeout") {
    TempDir dir;
    const auto pki = make_pki(dir.path());
    SUBCASE("dropped") {
        KdsSim sim(pki, {"--disconnect-after", "0"});
        boost::asio::io_context ioc;
        transport::TlsTransport t(ioc.get_executor(), "127.0.0.1", sim.port, trusting(pki.ca));
        run(ioc, [&]() -> sdk::Task<void> { co_await t.open(3s); });
        auto e = transport_error(ioc, [&]() -> sdk::Task<void> {
            co_await t.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", 2s);
            std::array<char, 64> buf;
            (void)co_await t.read_some(buf, 2s);
        });
        CHECK(e.kind() == Kind::closed);
        CHECK(wait_until([&] { return t.peer_closed() || !t.is_open(); }, 2s));
    }
    SUBCASE("silent") {
        KdsSim sim(pki, {"--stall"});
        boost::asio::io_context ioc;
        transport::TlsTransport t(ioc.get_executor(), "127.0.0.1", sim.port, trusting(pki.ca));
        run(ioc, [&]() -> sdk::Task<void> { co_await t.open(3s); });
        const auto start = Clock::now();
        auto e = transport_error(ioc, [&]() -> sdk::Task<void> {
            co_await t.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", 2s);
            std::array<char, 64> buf;
            (void)co_await t.read_some(buf, 200ms);
        });
        CHECK(e.kind() == Kind::timeout);
        CHECK(elapsed_since(start) >= 190ms);
        CHECK(std::string(e.what()).find("read: no data within 200 ms") != std::string::npos);
    }
}
