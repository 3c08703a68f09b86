#include "support/usb_bench.hpp"

#include <signal.h>

#include <cstdlib>
#include <stdexcept>

namespace certlab::test {

UsbBench::UsbBench() {
    process_ = Process::start({bin("certlab-usb-bench").string()}, Process::Options{{}, true});
    auto line = process_.read_line(10s);
    if (!line || line->rfind("ready ", 0) != 0)
        throw std::runtime_error("certlab-usb-bench did not report its testbed" + (line ? ": " + *line : std::string()));
    dir_ = line->substr(6);
}

UsbBench::~UsbBench() {
    // `quit` lets it remove the testbed directory; a kill would leave it behind.
    if (process_.write_stdin("quit\n") && process_.wait(5s)) return;
    process_.signal(SIGKILL);
}

std::string UsbBench::command(const std::string& line) {
    if (!process_.write_stdin(line + "\n")) throw std::runtime_error("certlab-usb-bench is gone (" + line + ")");
    auto reply = process_.read_line(10s);
    if (!reply) throw std::runtime_error("certlab-usb-bench did not answer: " + line);
    if (reply->rfind("ok ", 0) != 0) throw std::runtime_error("certlab-usb-bench: " + *reply + " (" + line + ")");
    return reply->substr(3);
}

std::string UsbBench::add(const std::string& name, const std::string& args) {
    // "add NAME usb:1-4 /dev/bus/usb/001/002"
    auto reply = command("add " + name + " " + args);
    auto start = reply.find(" usb:");
    if (start == std::string::npos) throw std::runtime_error("unexpected reply: " + reply);
    return reply.substr(start + 1, reply.find(' ', start + 1) - start - 1);
}

std::string UsbBench::add_serial(const std::string& name, const std::string& args) {
    auto reply = command("add-serial " + name + " " + args);
    return reply.substr(reply.rfind(' ') + 1);
}

void UsbBench::remove(const std::string& name) { command("remove " + name); }

std::uint64_t UsbBench::bytes_written(const std::string& name) {
    auto reply = command("bytes " + name);
    return std::stoull(reply.substr(reply.rfind(' ') + 1));
}

UmockdevEnvironment::UmockdevEnvironment(const UsbBench& bench) {
    auto set = [this](const char* key, const std::string& value) {
        const char* old = std::getenv(key);
        saved_.emplace_back(key, old ? std::optional<std::string>(old) : std::nullopt);
        setenv(key, value.c_str(), 1);
    };
    set("LD_PRELOAD", "libumockdev-preload.so.0");
    set("UMOCKDEV_DIR", bench.dir());
}

UmockdevEnvironment::~UmockdevEnvironment() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
        if (it->second) setenv(it->first.c_str(), it->second->c_str(), 1);
        else unsetenv(it->first.c_str());
    }
}

}  // namespace certlab::test
