#include "support/webdriver.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "support/http.hpp"
#include "support/process.hpp"

extern char** environ;

namespace certlab::test {

using json = nlohmann::json;

namespace {

// The W3C name of an element reference in JSON.
constexpr const char* element_key = "element-6066-11e4-a52e-4f735466cecf";

std::string decode_base64(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        const int v = value(c);
        if (v < 0) continue;  // line breaks
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

Browser::Element element_of(const json& value) {
    if (!value.is_object() || !value.contains(element_key))
        throw WebDriverError("not an element reference: " + value.dump());
    return value[element_key].get<std::string>();
}


}  // namespace

Browser::Browser(BrowserOptions options) : options_(std::move(options)) {
    std::string tmpl = "/tmp/certlab-browser-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw WebDriverError("mkdtemp failed: " + std::string(std::strerror(errno)));
    dir_ = tmpl;
    try {
        start_driver();
        std::vector<std::string> args = {
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // Without these the browser keeps opening connections to Google's services,
            // which this closed network answers with nothing (DESIGN.md section 8).
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            // /dev/shm in a container is small; a page can crash on it.
            "--disable-dev-shm-usage",
            "--window-size=" + std::to_string(options_.width) + "," + std::to_string(options_.height),
            "--user-data-dir=" + (dir_ / "profile").string(),
        };
        for (const auto& a : options_.extra_args) args.push_back(a);
        const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
        json caps = {
            {"browserName", "chrome"},
            {"goog:chromeOptions", {{"binary", options_.chromium.string()}, {"args", args}}},
            {"goog:loggingPrefs", {{"browser", "ALL"}}},
            {"timeouts", {{"pageLoad", ms(options_.command_timeout)}, {"script", ms(options_.command_timeout)}, {"implicit", 0}}},
        };
        auto value = command("POST", "/session", {{"capabilities", {{"alwaysMatch", caps}}}});
        session_ = value.at("sessionId").get<std::string>();
    } catch (...) {
        stop();
        throw;
    }
}

Browser::~Browser() { stop(); }

void Browser::start_driver() {
    const auto log = dir_ / "chromedriver.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A group of its own: the browser processes chromedriver starts join it, so one
    // kill(-pgid) ends them all, even when the session was never closed.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    // Port 0: chromedriver picks a free one and prints it; loopback only is its default.
    std::vector<std::string> argv = {options_.chromedriver.string(), "--port=0"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawn(&driver_pid_, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        driver_pid_ = -1;
        throw WebDriverError("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    static const std::regex started(R"(started successfully on port (\d+))");
    std::smatch m;
    const bool up = wait_until(
        [&] {
            const auto text = read_file(log);
            if (!std::regex_search(text, m, started)) return false;
            port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
            return true;
        },
        options_.start_timeout);
    if (!up) throw WebDriverError("chromedriver did not start within the timeout:\n" + driver_log());
}

void Browser::stop() noexcept {
    if (!session_.empty()) {
        try {
            // Lets chromedriver close the browser cleanly; the kill below is the backstop.
            (void)http_request("DELETE", port_, "/session/" + session_, {}, {}, 10000);
        } catch (...) {
        }
        session_.clear();
    }
    if (driver_pid_ > 0) {
        ::kill(-driver_pid_, SIGTERM);
        int st = 0;
        const bool ended = wait_until([&] { return waitpid(driver_pid_, &st, WNOHANG) == driver_pid_; },
                                      std::chrono::milliseconds(3000));
        // Whatever is left in the group (a browser that ignored SIGTERM) goes now.
        ::kill(-driver_pid_, SIGKILL);
        if (!ended) waitpid(driver_pid_, &st, 0);
        // The browser processes are not our children (init reaps them); wait, bounded,
        // until the group is empty so a next test starts from a clean machine.
        (void)wait_until([&] { return ::kill(-driver_pid_, 0) != 0 && errno == ESRCH; },
                         std::chrono::milliseconds(3000));
        driver_pid_ = -1;
    }
    if (!dir_.empty() && !std::getenv("CERTLAB_KEEP_TEST_DIRS")) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

json Browser::command(const std::string& method, const std::string& path, const json& body) {
    const auto timeout_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.command_timeout).count() + 5000);
    auto res = http_request(method, port_, path, body.is_null() ? std::string{} : body.dump(), {}, timeout_ms);
    if (res.status == 0) throw WebDriverError(method + " " + path + ": chromedriver did not answer");
    json doc = json::parse(res.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("value"))
        throw WebDriverError(method + " " + path + ": HTTP " + std::to_string(res.status) + ", not a WebDriver answer: " +
                             res.body.substr(0, 300));
    const auto& value = doc["value"];
    if (res.status != 200 || (value.is_object() && value.contains("error"))) {
        std::string error = value.is_object() ? value.value("error", "error") : "error";
        std::string message = value.is_object() ? value.value("message", "") : "";
        throw WebDriverError(method + " " + path + ": " + error + ": " + message.substr(0, 500));
    }
    return value;
}

json Browser::session_command(const std::string& method, const std::string& path, const json& body) {
    return command(method, "/session/" + session_ + path, body);
}

void Browser::navigate(const std::string& url) { session_command("POST", "/url", {{"url", url}}); }

std::string Browser::current_url() { return session_command("GET", "/url").get<std::string>(); }

std::string Browser::title() { return session_command("GET", "/title").get<std::string>(); }

std::optional<Browser::Element> Browser::find(const std::string& css) {
    auto all = find_all(css);
    if (all.empty()) return std::nullopt;
    return all.front();
}

std::vector<Browser::Element> Browser::find_all(const std::string& css) {
    std::vector<Element> out;
    for (const auto& v : session_command("POST", "/elements", {{"using", "css selector"}, {"value", css}}))
        out.push_back(element_of(v));
    return out;
}

std::optional<Browser::Element> Browser::wait_for(const std::string& css, std::chrono::milliseconds timeout) {
    std::optional<Element> found;
    (void)wait_until(
        [&] {
            found = find(css);
            return found.has_value();
        },
        timeout);
    return found;
}

std::string Browser::text(const Element& e) { return session_command("GET", "/element/" + e + "/text").get<std::string>(); }

std::optional<std::string> Browser::attribute(const Element& e, const std::string& name) {
    auto v = session_command("GET", "/element/" + e + "/attribute/" + name);
    if (v.is_null()) return std::nullopt;
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void Browser::click(const Element& e) { session_command("POST", "/element/" + e + "/click", json::object()); }

void Browser::send_keys(const Element& e, const std::string& keys) {
    session_command("POST", "/element/" + e + "/value", {{"text", keys}});
}

void Browser::clear(const Element& e) { session_command("POST", "/element/" + e + "/clear", json::object()); }

json Browser::execute(const std::string& script, const json& args) {
    json converted = json::array();
    for (const auto& a : args) converted.push_back(a);
    return session_command("POST", "/execute/sync", {{"script", script}, {"args", converted}});
}

std::string Browser::screenshot_png() { return decode_base64(session_command("GET", "/screenshot").get<std::string>()); }

void Browser::save_screenshot(const std::filesystem::path& file) {
    const auto png = screenshot_png();
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    write_file(file, png);
}

json Browser::console_log() {
    try {
        // chromedriver keeps the console under goog:loggingPrefs; W3C has no such command.
        return session_command("POST", "/se/log", {{"type", "browser"}});
    } catch (const WebDriverError&) {
        return json::array();
    }
}

std::string Browser::driver_log() const { return read_file(dir_ / "chromedriver.log"); }

}  // namespace certlab::test
