#include "support/https_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace certlab::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using Stream = beast::ssl_stream<beast::tcp_stream>;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

void fail(HttpsResponse& out, beast::error_code ec, const std::string& step) {
    if (ec == asio::error::connection_refused) out.failure = HttpsFailure::refused;
    else if (ec == asio::error::connection_reset) out.failure = HttpsFailure::reset;
    else if (ec == beast::error::timeout) out.failure = HttpsFailure::timeout;
    else if (ec == asio::error::eof || ec == http::error::end_of_stream || ec == ssl::error::stream_truncated)
        out.failure = HttpsFailure::closed;
    else out.failure = HttpsFailure::other;
    out.error = step + ": " + ec.message();
}

asio::awaitable<void> exchange(Stream& stream, const HttpsClient::Options& o, std::uint16_t port,
                               http::request<http::string_body>& req, HttpsResponse& out) {
    auto& lowest = beast::get_lowest_layer(stream);
    const tcp::endpoint at(asio::ip::address_v4::loopback(), port);
    lowest.expires_after(o.timeout);
    auto [cec] = co_await lowest.async_connect(at, use_tuple);
    if (cec) {
        fail(out, cec, "connect");
        co_return;
    }
    lowest.expires_after(o.timeout);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
        fail(out, hec, "TLS handshake");
        if (out.failure == HttpsFailure::other) out.failure = HttpsFailure::tls;
        // OpenSSL's reason says which check failed ("certificate has expired").
        const long verify = SSL_get_verify_result(stream.native_handle());
        if (verify != X509_V_OK) out.error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        co_return;
    }
    lowest.expires_after(o.timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec) {
        fail(out, wec, "write");
        co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    lowest.expires_after(o.timeout);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec) {
        fail(out, rec, "read");
        co_return;
    }
    const auto& msg = parser.get();
    out.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = msg.body();
}

}  // namespace

std::string HttpsResponse::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) return v;
    return {};
}

HttpsResponse HttpsClient::request(const std::string& method, const std::string& target, const std::string& body,
                                   const Headers& headers) const {
    HttpsResponse out;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    ctx.load_verify_file(options_.ca.string(), ec);
    if (ec) {
        out.failure = HttpsFailure::other;
        out.error = "CA " + options_.ca.string() + ": " + ec.message();
        return out;
    }

    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, options_.host + ":" + std::to_string(port_));
    req.set(http::field::connection, "close");
    bool typed = false;
    for (const auto& [name, value] : headers) {
        req.set(name, value);
        typed = typed || iequals(name, "Content-Type");
    }
    if (!body.empty() && !typed) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();

    asio::io_context io;
    Stream stream(io, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), options_.host.c_str());
    stream.set_verify_callback(ssl::host_name_verification(options_.host));
    asio::co_spawn(io, exchange(stream, options_, port_, req, out), asio::detached);
    io.run();
    return out;
}

}  // namespace certlab::test
