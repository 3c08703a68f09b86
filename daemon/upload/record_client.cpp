#include "upload/record_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace certlab::upload {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_answer_body = 1 << 20;

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

std::string read_record_token(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        throw DeliveryError("cannot read the record token file " + file.string() + ": " + std::strerror(errno));
    if ((st.st_mode & S_IRWXO) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw DeliveryError("the record token file " + file.string() + " is readable by others (mode " + mode +
                            "); refusing to use it: chmod o-rwx it");
    }
    std::ifstream in(file);
    std::string token;
    if (!in || !std::getline(in, token))
        throw DeliveryError("cannot read the record token file " + file.string());
    const auto first = token.find_first_not_of(" \t\r");
    const auto last = token.find_last_not_of(" \t\r");
    token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
    if (token.empty()) throw DeliveryError("the record token file " + file.string() + " is empty");
    return token;
}

struct RecordClient::Connection {
    Connection(asio::io_context& io, ssl::context& tls) : stream(io, tls) {}
    beast::ssl_stream<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
};

RecordClient::RecordClient(asio::io_context& io, config::UploadConfig cfg) : io_(io), cfg_(std::move(cfg)) {}

RecordClient::~RecordClient() = default;

void RecordClient::close() {
    if (!conn_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(conn_->stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(conn_->stream).close();
    conn_.reset();
    tls_.reset();
}

asio::awaitable<void> RecordClient::connect() {
    close();
    // Read afresh on every connection: fixing the CA file takes effect at the next
    // attempt, without a restart.
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
    tls_->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (cfg_.ca_file.empty()) tls_->set_default_verify_paths(ec);
    else tls_->load_verify_file(cfg_.ca_file.string(), ec);
    if (ec)
        throw DeliveryError("cannot load the CA certificates " +
                            (cfg_.ca_file.empty() ? std::string("(the system's)") : cfg_.ca_file.string()) + ": " +
                            ec.message());
    tls_->set_verify_callback(ssl::host_name_verification(cfg_.host));

    const std::string where = cfg_.host + ":" + std::to_string(cfg_.port);
    tcp::resolver resolver(io_);
    auto [rec, endpoints] = co_await resolver.async_resolve(cfg_.host, std::to_string(cfg_.port), use_tuple);
    if (rec) throw DeliveryError("cannot resolve " + cfg_.host + ": " + rec.message());
    auto conn = std::make_unique<Connection>(io_, *tls_);
    auto& lowest = beast::get_lowest_layer(conn->stream);
    lowest.expires_after(cfg_.timeout);
    auto [cec, ep] = co_await lowest.async_connect(endpoints, use_tuple);
    if (cec)
        throw DeliveryError("cannot connect to " + where + ": " +
                            (cec == beast::error::timeout ? "no answer within " + millis(cfg_.timeout) : cec.message()));
    if (!SSL_set_tlsext_host_name(conn->stream.native_handle(), cfg_.host.c_str()))
        throw DeliveryError("cannot set the TLS server name " + cfg_.host);
    lowest.expires_after(cfg_.timeout);
    auto [hec] = co_await conn->stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
        std::string why = hec == beast::error::timeout ? "no answer within " + millis(cfg_.timeout) : hec.message();
        // OpenSSL's own words for a certificate it refused ("certificate has
        // expired", "unable to get local issuer certificate") say what to fix.
        const long verify = SSL_get_verify_result(conn->stream.native_handle());
        if (verify != X509_V_OK) why = std::string("certificate refused: ") + X509_verify_cert_error_string(verify);
        throw DeliveryError("TLS handshake with " + where + " failed: " + why);
    }
    conn_ = std::move(conn);
}

asio::awaitable<RecordAnswer> RecordClient::send(const record::OutboxRequest& r) {
    // The token file is read for every request (a few microseconds): a rotated token,
    // or a file someone made readable to all, counts from the next request on.
    token_ = read_record_token(cfg_.token_file);
    if (!conn_) co_await connect();
    http::request<http::string_body> req{r.method == "POST" ? http::verb::post : http::verb::put,
                                         cfg_.base + r.path, 11};
    req.set(http::field::host, cfg_.host + ":" + std::to_string(cfg_.port));
    req.set(http::field::user_agent, "certlabd/" CERTLAB_VERSION);
    req.set(http::field::authorization, "Bearer " + token_);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    req.set("Idempotency-Key", r.idempotency_key);
    req.keep_alive(true);
    req.body() = r.body;
    req.prepare_payload();

    auto& lowest = beast::get_lowest_layer(conn_->stream);
    auto fail = [&](const beast::error_code& ec, const char* during) {
        std::string why = ec == beast::error::timeout ? "no answer within " + millis(cfg_.timeout) : ec.message();
        close();
        return DeliveryError(std::string(during) + " " + cfg_.url + " failed: " + why);
    };
    lowest.expires_after(cfg_.timeout);
    auto [wec, wn] = co_await http::async_write(conn_->stream, req, use_tuple);
    if (wec) throw fail(wec, "sending to");
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_answer_body);
    lowest.expires_after(cfg_.timeout);
    auto [rec, rn] = co_await http::async_read(conn_->stream, conn_->buffer, parser, use_tuple);
    if (rec) throw fail(rec, "reading the answer of");
    auto res = parser.release();
    RecordAnswer answer{res.result_int(), res["Idempotent-Replayed"] == "true", std::move(res.body())};
    if (!res.keep_alive()) close();
    co_return answer;
}

}  // namespace certlab::upload
