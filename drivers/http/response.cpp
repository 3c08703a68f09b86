// The http family's response side: one HTTP/1.x response parsed strictly as its bytes
// arrive, on Boost.Beast's parser (kept out of protocol.hpp).
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

#include "http/protocol.hpp"

namespace certlab::http {

namespace bhttp = boost::beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

}  // namespace

const std::string* Response::header(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return &h.value;
    return nullptr;
}

std::string Response::status_text() const {
    std::string out = std::to_string(status);
    if (!reason.empty()) out += " " + reason;
    return out;
}

struct ResponseParser::Impl {
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    bool status_line_ok = false;

    void start(const Limits& limits) {
        parser.emplace();
        parser->eager(true);
        parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.header_bytes, UINT32_MAX)));
        parser->body_limit(static_cast<std::uint64_t>(limits.body_bytes));
        status_line_ok = false;
    }
};

ResponseParser::ResponseParser(Limits limits) : limits_(limits), impl_(std::make_unique<Impl>()) {
    impl_->start(limits_);
}
ResponseParser::ResponseParser(ResponseParser&&) noexcept = default;
ResponseParser& ResponseParser::operator=(ResponseParser&&) noexcept = default;
ResponseParser::~ResponseParser() = default;

void ResponseParser::fail(std::string why) {
    state_ = State::failed;
    error_ = std::move(why);
}

bool ResponseParser::needs_eof() const {
    return state_ == State::reading && impl_->parser->is_header_done() && impl_->parser->need_eof();
}

/// The status line as far as it has arrived: `HTTP/1.0` or `HTTP/1.1`, a space, three
/// digits, a space or the line's end, then reason text up to CR LF. Checked before
/// the rest of the header arrives, so a device that answers garbage fails at once.
bool ResponseParser::check_status_prefix() {
    static constexpr std::string_view version = "HTTP/1.";
    const std::string_view b = pending_;
    std::size_t i = 0;
    auto bad = [&](const char* what) {
        const auto eol = b.find('\n');
        fail(std::string("not an HTTP response: ") + what + " in '" +
             excerpt(b.substr(0, eol == std::string_view::npos ? b.size() : eol + 1), 80) + "'");
        return false;
    };
    for (; i < version.size(); ++i) {
        if (i >= b.size()) return true;
        if (b[i] != version[i]) return bad("expected HTTP/1.x");
    }
    if (i >= b.size()) return true;
    if (b[i] != '0' && b[i] != '1') return bad("expected HTTP/1.0 or HTTP/1.1");
    if (++i >= b.size()) return true;
    if (b[i] != ' ') return bad("expected a space after the version");
    for (int d = 0; d < 3; ++d) {
        if (++i >= b.size()) return true;
        if (b[i] < '0' || b[i] > '9') return bad("expected a three-digit status code");
    }
    if (b[i - 2] < '1' || b[i - 2] > '5') return bad("expected a status code from 100 to 599");
    if (++i >= b.size()) return true;
    if (b[i] != ' ' && b[i] != '\r') return bad("expected a space after the status code");
    for (; i < b.size(); ++i) {
        if (i >= max_status_line) {
            fail("the status line is longer than " + std::to_string(max_status_line) + " bytes");
            return false;
        }
        const auto c = static_cast<unsigned char>(b[i]);
        if (c == '\r') {
            if (i + 1 >= b.size()) return true;
            if (b[i + 1] != '\n') return bad("expected CR LF at the end of the status line");
            impl_->status_line_ok = true;
            return true;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F) return bad("a control byte in the status line");
    }
    return true;
}

void ResponseParser::complete() {
    auto& p = *impl_->parser;
    const auto& msg = p.get();
    response_ = Response{};
    response_.version = static_cast<int>(msg.version());
    response_.status = static_cast<int>(msg.result_int());
    response_.reason = std::string(msg.reason());
    for (const auto& f : msg) response_.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    response_.body = msg.body();
    response_.keep_alive = p.keep_alive();
    response_.chunked = p.chunked();
    state_ = State::done;
}

std::size_t ResponseParser::feed(std::string_view data) {
    if (state_ != State::reading) return 0;
    pending_.append(data);
    parse_pending();
    // A failure takes the bytes that showed it; what is left over once done is not
    // this response's, and it all came from `data`, since the response could not
    // complete before `data` arrived.
    const std::size_t left = state_ == State::done ? std::min(pending_.size(), data.size()) : 0;
    const std::size_t used = data.size() - left;
    taken_ += used;
    if (state_ != State::reading) pending_.clear();
    return used;
}

void ResponseParser::parse_pending() {
    for (;;) {
        auto& p = *impl_->parser;
        // The header goes to Beast only once it is all there, so what is refused does not
        // depend on how the bytes were split (Beast checks a whole buffer at once, but
        // waits for the end of a split one).
        std::size_t give = pending_.size();
        if (!p.is_header_done()) {
            if (!impl_->status_line_ok && !check_status_prefix()) return;
            const auto eom = pending_.find("\r\n\r\n");
            if ((eom == std::string::npos && pending_.size() > limits_.header_bytes) ||
                (eom != std::string::npos && eom + 4 > limits_.header_bytes)) {
                fail("the header is longer than " + std::to_string(limits_.header_bytes) + " bytes");
                return;
            }
            if (eom == std::string::npos) return;
            give = eom + 4;
        }
        if (give == 0) return;
        boost::system::error_code ec;
        const std::size_t used = p.put(boost::asio::buffer(pending_.data(), give), ec);
        pending_.erase(0, used);
        if (ec == bhttp::error::need_more) return;
        if (ec) {
            fail(ec == bhttp::error::header_limit ? "the header is longer than " + std::to_string(limits_.header_bytes) + " bytes"
                 : ec == bhttp::error::body_limit ? "the body is longer than " + std::to_string(limits_.body_bytes) + " bytes"
                                                  : "malformed response: " + ec.message());
            return;
        }
        if (!p.is_done()) {
            if (used == 0) return;
            continue;
        }
        const int status = static_cast<int>(p.get().result_int());
        if (status / 100 != 1) {
            complete();
            return;
        }
        if (status == 101) {
            fail("the server switched protocols (101), which was never asked for");
            return;
        }
        if (++informational_ > 8) {
            fail("more than 8 informational (1xx) responses");
            return;
        }
        impl_->start(limits_);  // an interim response: the real one follows
    }
}

void ResponseParser::feed_eof() {
    if (state_ != State::reading) return;
    auto& p = *impl_->parser;
    if (p.is_header_done() && p.need_eof() && pending_.empty()) {
        boost::system::error_code ec;
        p.put_eof(ec);
        if (!ec && p.is_done()) {
            complete();
            return;
        }
    }
    if (taken_ == 0) fail("the connection closed before a response");
    else fail("the connection closed after " + std::to_string(taken_) + " bytes, before the response was complete");
}

}  // namespace certlab::http
