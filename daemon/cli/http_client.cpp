#include "cli/http_client.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <optional>

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

namespace certlab::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
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
        const auto name = rest.substr(0, scheme);
        if (name != "http" && name != "https") throw bad("expected http:// or https://");
        out.tls = name == "https";
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

std::string read_token(const std::string& token_file) {
    if (const char* env = std::getenv("CERTLAB_TOKEN"); env && *env) return env;
    std::string file = token_file;
    if (file.empty())
        if (const char* env = std::getenv("CERTLAB_TOKEN_FILE"); env && *env) file = env;
    if (file.empty()) return {};
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        throw CliError(exit_usage, "cannot read token file " + file + ": " + std::strerror(errno));
    if (st.st_mode & S_IRWXO)
        throw CliError(exit_usage, "token file " + file + " is readable by every user of the machine; chmod 0600 it");
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
    if (token.empty()) throw CliError(exit_usage, "token file " + file + " holds no token");
    return token;
}

namespace {

/// One request and its answer on a connected stream, plain or TLS. With `on_data`,
/// a 200 answer's body goes to it as it arrives (the event stream), each read under
/// the deadline `idle`; any other answer is read whole.
template <class Stream>
asio::awaitable<HttpResponse> exchange(Stream& stream, http::request<http::string_body>& req,
                                       const std::function<ConnectionError(const beast::error_code&)>& fail,
                                       const BodySink* on_data, std::chrono::seconds idle) {
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec) throw fail(wec);
    beast::flat_buffer buffer;
    if (on_data) {
        http::response_parser<http::buffer_body> parser;
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (hec) throw fail(hec);
        HttpResponse out{parser.get().result_int(), std::string(parser.get()[http::field::content_type]), {}};
        std::array<char, 8192> chunk;
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            beast::get_lowest_layer(stream).expires_after(idle);
            // read_some: an event must reach the caller when it comes, not when 8 KiB have.
            auto [rec, rn] = co_await http::async_read_some(stream, buffer, parser, use_tuple);
            if (rec == http::error::need_buffer) rec = {};
            const std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
            if (out.status != 200) {
                if (out.body.size() < max_response_body) out.body.append(got);
            } else if (!got.empty() && !(*on_data)(got)) {
                break;
            }
            if (rec == http::error::end_of_stream || rec == asio::error::eof) break;
            if (rec) throw fail(rec);
        }
        co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_body);
    auto [rdec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rdec) throw fail(rdec);
    auto res = parser.release();
    co_return HttpResponse{res.result_int(), std::string(res[http::field::content_type]), std::move(res.body())};
}

}  // namespace

template <class Request>
HttpResponse HttpClient::perform(Request& req, const BodySink* on_data,
                                 std::chrono::seconds idle) const {
    asio::io_context ioc;
    std::optional<ssl::context> tls;
    if (station_.tls) {
        tls.emplace(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
        tls->set_verify_mode(ssl::verify_peer);
        beast::error_code ec;
        if (auth_.ca_file.empty()) tls->set_default_verify_paths(ec);
        else tls->load_verify_file(auth_.ca_file, ec);
        if (ec)
            throw CliError(exit_usage, "cannot load CA certificates " +
                                           (auth_.ca_file.empty() ? std::string("(the system's)") : auth_.ca_file) +
                                           ": " + ec.message());
        tls->set_verify_callback(ssl::host_name_verification(station_.host));
    }
    // Every step runs under one deadline on the stream; a stalled daemon cannot
    // hang the CLI.
    auto run = [&]() -> asio::awaitable<HttpResponse> {
        std::function<ConnectionError(const beast::error_code&)> fail = [&](const beast::error_code& ec) {
            std::string why = ec == beast::error::timeout
                                  ? "no answer within " + std::to_string(timeout_.count()) + " s"
                                  : ec.message();
            if (ec.category() == asio::error::get_ssl_category() && why.find("certificate") != std::string::npos)
                why += " (is --ca the CA that signed the station's certificate?)";
            return ConnectionError("cannot reach certlabd at " + station_.text + ": " + why);
        };
        tcp::resolver resolver(ioc);
        auto [rec, endpoints] = co_await resolver.async_resolve(
            station_.host, std::to_string(station_.port), use_tuple);
        if (rec) throw fail(rec);

        req.set(http::field::host, station_.host + ":" + std::to_string(station_.port));
        req.set(http::field::user_agent, "certlab-cli");
        if (!auth_.token.empty()) req.set(http::field::authorization, "Bearer " + auth_.token);
        req.keep_alive(false);
        req.prepare_payload();

        beast::tcp_stream tcp(ioc);
        tcp.expires_after(timeout_);
        auto [cec, ep] = co_await tcp.async_connect(endpoints, use_tuple);
        if (cec) throw fail(cec);
        beast::error_code ignored;
        if (!tls) {
            auto res = co_await exchange(tcp, req, fail, on_data, idle);
            tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return res;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *tls);
        // SNI, for a station behind a name-based proxy.
        if (!SSL_set_tlsext_host_name(stream.native_handle(), station_.host.c_str()))
            throw fail(beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) throw fail(hec);
        auto res = co_await exchange(stream, req, fail, on_data, idle);
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return res;
    };
    auto result = asio::co_spawn(ioc, run(), asio::use_future);
    ioc.run();
    return result.get();
}

HttpResponse HttpClient::request(bool post, std::string_view path, std::string body) const {
    http::request<http::string_body> req{post ? http::verb::post : http::verb::get,
                                         station_.base + std::string(path), 11};
    req.set(http::field::accept, "application/json");
    if (post) {
        req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
    }
    return perform(req, nullptr, timeout_);
}

HttpResponse HttpClient::stream(std::string_view path, const std::string& last_event_id, std::chrono::seconds idle,
                                const BodySink& on_data) const {
    http::request<http::string_body> req{http::verb::get, station_.base + std::string(path), 11};
    req.set(http::field::accept, "text/event-stream");
    if (!last_event_id.empty()) req.set("Last-Event-ID", last_event_id);
    return perform(req, &on_data, idle);
}

}  // namespace certlab::cli
