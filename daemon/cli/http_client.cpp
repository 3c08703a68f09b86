#include "cli/http_client.hpp"

#include <charconv>
#include <future>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace certlab::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Run documents of long soaks can be large; anything beyond this is not ours.
constexpr std::uint64_t max_response_body = 64ull * 1024 * 1024;

}  // namespace

StationUrl parse_station_url(std::string_view url) {
    StationUrl out;
    out.text = std::string(url);
    auto bad = [&](const std::string& why) {
        return CliError(exit_usage, "invalid station URL '" + out.text + "': " + why);
    };
    std::string_view rest = url;
    if (auto scheme = rest.find("://"); scheme != std::string_view::npos) {
        if (rest.substr(0, scheme) != "http")
            throw bad("only http:// is supported by this version of certlab");
        rest.remove_prefix(scheme + 3);
    } else {
        out.text = "http://" + out.text;
    }
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        out.base = std::string(rest.substr(slash));
        while (!out.base.empty() && out.base.back() == '/') out.base.pop_back();
    }
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {  // [::1]:8470
        auto close = authority.find(']');
        if (close == std::string_view::npos) throw bad("unclosed '[' in host");
        out.host = std::string(authority.substr(1, close - 1));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw bad("expected ':' after ']'");
            port_text = after.substr(1);
        }
    } else {
        auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (out.host.empty()) throw bad("no host");
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            throw bad("port must be a number from 1 to 65535");
        out.port = static_cast<std::uint16_t>(port);
    }
    return out;
}

HttpResponse HttpClient::get(std::string_view path) const { return request(false, path, {}); }

HttpResponse HttpClient::post_json(std::string_view path, std::string body) const {
    return request(true, path, std::move(body));
}

HttpResponse HttpClient::request(bool post, std::string_view path, std::string body) const {
    asio::io_context ioc;
    // Every step runs under one deadline on the stream; a stalled daemon cannot
    // hang the CLI.
    auto exchange = [&]() -> asio::awaitable<HttpResponse> {
        auto fail = [&](const std::string& why) {
            return ConnectionError("cannot reach certlabd at " + station_.text + ": " + why);
        };
        auto why = [&](const beast::error_code& ec) {
            return ec == beast::error::timeout
                       ? "no answer within " + std::to_string(timeout_.count()) + " s"
                       : ec.message();
        };
        tcp::resolver resolver(ioc);
        auto [rec, endpoints] = co_await resolver.async_resolve(
            station_.host, std::to_string(station_.port), use_tuple);
        if (rec) throw fail(rec.message());

        beast::tcp_stream stream(ioc);
        stream.expires_after(timeout_);
        auto [cec, ep] = co_await stream.async_connect(endpoints, use_tuple);
        if (cec) throw fail(why(cec));

        http::request<http::string_body> req{post ? http::verb::post : http::verb::get,
                                             station_.base + std::string(path), 11};
        req.set(http::field::host, station_.host + ":" + std::to_string(station_.port));
        req.set(http::field::user_agent, "certlab-cli");
        req.set(http::field::accept, "application/json");
        if (post) {
            req.set(http::field::content_type, "application/json");
            req.body() = std::move(body);
        }
        req.keep_alive(false);
        req.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
        if (wec) throw fail(why(wec));

        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(max_response_body);
        auto [rdec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (rdec) throw fail(why(rdec));
        auto res = parser.release();
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return HttpResponse{res.result_int(), std::string(res[http::field::content_type]),
                               std::move(res.body())};
    };
    auto result = asio::co_spawn(ioc, exchange(), asio::use_future);
    ioc.run();
    return result.get();
}

}  // namespace certlab::cli
