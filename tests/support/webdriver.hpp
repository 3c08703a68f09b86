// A small WebDriver client for browser tests: starts chromedriver on an ephemeral
// loopback port, opens a headless Chromium session through it (W3C WebDriver over
// HTTP), and drives pages: navigate, find by CSS, read text and attributes, click,
// type, run a script, take a screenshot. Everything it starts lives in one process
// group, which the destructor kills whatever state the test left it in.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace certlab::test {

/// A WebDriver command that failed: chromedriver's error code and message, or why
/// chromedriver could not be reached.
class WebDriverError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct BrowserOptions {
    std::filesystem::path chromedriver = "/usr/bin/chromedriver";
    std::filesystem::path chromium = "/usr/bin/chromium";
    int width = 1280;   ///< [px] window size, which is what a screenshot shows
    int height = 1024;  ///< [px]
    /// Bound on chromedriver's start and on the browser session's creation.
    std::chrono::seconds start_timeout{60};
    /// Bound on one WebDriver command (a page load included).
    std::chrono::seconds command_timeout{30};
    std::vector<std::string> extra_args;  ///< more Chromium switches
};

class Browser {
public:
    /// An element reference, as WebDriver returns it.
    using Element = std::string;

    /// Starts chromedriver and a headless Chromium session with a fresh profile
    /// directory. Throws WebDriverError when either does not come up in time.
    explicit Browser(BrowserOptions options = {});
    /// Ends the session, then kills chromedriver and every browser process it started
    /// (the whole process group) and removes the profile directory.
    ~Browser();
    Browser(const Browser&) = delete;
    Browser& operator=(const Browser&) = delete;

    void navigate(const std::string& url);
    [[nodiscard]] std::string current_url();
    [[nodiscard]] std::string title();

    /// The first element matching the CSS selector, or nullopt.
    [[nodiscard]] std::optional<Element> find(const std::string& css);
    [[nodiscard]] std::vector<Element> find_all(const std::string& css);
    /// Polls find() until an element matches or `timeout` passes (then nullopt).
    [[nodiscard]] std::optional<Element> wait_for(const std::string& css, std::chrono::milliseconds timeout);

    /// The element's rendered text.
    [[nodiscard]] std::string text(const Element& e);
    /// An attribute (or property, as WebDriver decides), nullopt when absent.
    [[nodiscard]] std::optional<std::string> attribute(const Element& e, const std::string& name);
    void click(const Element& e);
    void send_keys(const Element& e, const std::string& keys);
    void clear(const Element& e);

    /// Runs `script` as a function body in the page with `args` (arguments[0], ...);
    /// returns what it returns.
    nlohmann::json execute(const std::string& script, const nlohmann::json& args = nlohmann::json::array());

    /// The viewport as PNG bytes.
    [[nodiscard]] std::string screenshot_png();
    /// Writes screenshot_png() to `file`, creating its directory.
    void save_screenshot(const std::filesystem::path& file);

    /// The browser console's messages since the last call ([{level, message, ...}]);
    /// empty when the driver does not keep them.
    [[nodiscard]] nlohmann::json console_log();

    /// chromedriver's output (and the browser's stderr), for a failing test's message.
    [[nodiscard]] std::string driver_log() const;

private:
    /// Sends one command; returns its `value`, throws WebDriverError on an error answer.
    nlohmann::json command(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
    nlohmann::json session_command(const std::string& method, const std::string& path,
                                   const nlohmann::json& body = nullptr);
    void start_driver();
    void stop() noexcept;

    BrowserOptions options_;
    std::filesystem::path dir_;  ///< profile directory and driver log
    pid_t driver_pid_ = -1;      ///< also the process group id
    std::uint16_t port_ = 0;
    std::string session_;
};

}  // namespace certlab::test
