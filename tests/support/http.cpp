#include "support/http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace certlab::test {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::string> HttpFullResponse::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (iequal(n, name)) return v;
    return std::nullopt;
}

HttpFullResponse http_request(const std::string& method, std::uint16_t port, const std::string& target,
                              const std::string& body, const HttpHeaders& headers, int timeout_ms) {
    HttpFullResponse r;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return r;
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return r;
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    bool has_type = false;
    for (const auto& [n, v] : headers) {
        has_type = has_type || iequal(n, "Content-Type");
        req += n + ": " + v + "\r\n";
    }
    if (!body.empty() || method == "POST") {
        if (!has_type) req += "Content-Type: application/json\r\n";
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return r;
    std::string raw;
    std::size_t head_end = std::string::npos;
    std::optional<std::size_t> length;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (head_end != std::string::npos && length && raw.size() >= head_end + 4 + *length) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd pfd{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[8192];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<std::size_t>(n));
        if (head_end == std::string::npos && (head_end = raw.find("\r\n\r\n")) != std::string::npos) {
            std::string_view head(raw.data(), head_end);
            head.remove_prefix(std::min(head.size(), head.find("\r\n")));
            while (!head.empty()) {
                head.remove_prefix(2);  // the CR LF before this line
                const auto eol = std::min(head.size(), head.find("\r\n"));
                const auto line = head.substr(0, eol);
                head.remove_prefix(eol);
                const auto colon = line.find(':');
                if (colon == std::string_view::npos) continue;
                r.headers.emplace_back(std::string(trim_spaces(line.substr(0, colon))),
                                       std::string(trim_spaces(line.substr(colon + 1))));
            }
            if (auto cl = r.header("Content-Length")) length = std::stoull(*cl);
        }
    }
    if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return r;
    r.status = std::stoi(raw.substr(9, 3));
    r.content_type = r.header("Content-Type").value_or("");
    r.body = raw.substr(head_end + 4, length.value_or(std::string::npos));
    return r;
}

HttpResponse http(const std::string& method, std::uint16_t port, const std::string& target,
                  const std::string& body, int timeout_ms) {
    return http_request(method, port, target, body, {}, timeout_ms);
}

}  // namespace certlab::test
