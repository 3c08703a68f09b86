#include "inventory/serial_watcher.hpp"

#include <fnmatch.h>
#include <glob.h>
#include <libserialport.h>
#include <sys/stat.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <spdlog/spdlog.h>
#include <system_error>

namespace certlab::inventory {

namespace {

namespace fs = std::filesystem;
using ResourceMap = std::map<std::string, sdk::Resource, std::less<>>;

// Applied whatever the configuration says; see SerialWatchOptions::exclude_globs.
constexpr std::array kAlwaysExcluded{"/dev/ttyS0", "/dev/console", "/dev/tty"};

bool matches(const char* pattern, const std::string& path) {
    return ::fnmatch(pattern, path.c_str(), FNM_PATHNAME) == 0;
}

// stat() follows symlinks but never opens the device, so this is safe on any tty.
bool is_char_device(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

sdk::Resource serial_resource(const std::string& path) {
    sdk::Resource r;
    r.kind = sdk::Resource::Kind::serial;
    r.address = "serial:" + path;
    r.source = "serial";
    return r;
}

// USB port path ("1-4.2") of the device a tty hangs off: the nearest sysfs ancestor
// that is a whole USB device (it has a busnum file). Stable across re-plugging into
// the same socket, unlike the bus address.
std::optional<std::string> usb_port_path(const std::string& dev_path) {
    std::error_code ec;
    const auto name = fs::path(dev_path).filename();
    auto dir = fs::canonical(fs::path("/sys/class/tty") / name / "device", ec);
    if (ec) return std::nullopt;
    for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
        if (fs::exists(dir / "busnum", ec)) return dir.filename().string();
    }
    return std::nullopt;
}

void set_if(sdk::Resource& r, const char* key, const char* value) {
    if (value && *value) r.attributes[key] = value;
}

sdk::Resource describe(sp_port* port, const std::string& path) {
    auto r = serial_resource(path);
    if (sp_get_port_transport(port) != SP_TRANSPORT_USB) return r;
    int vid = 0, pid = 0;
    if (sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK) {
        r.attributes["vid"] = fmt::format("{:04x}", vid);
        r.attributes["pid"] = fmt::format("{:04x}", pid);
    }
    // The strings belong to the port structure; copy before the list is freed.
    set_if(r, "serial_number", sp_get_port_usb_serial(port));
    set_if(r, "manufacturer", sp_get_port_usb_manufacturer(port));
    set_if(r, "product", sp_get_port_usb_product(port));
    int bus = 0, address = 0;
    if (sp_get_port_usb_bus_address(port, &bus, &address) == SP_OK) {
        r.attributes["usb_bus"] = std::to_string(bus);
        r.attributes["usb_address"] = std::to_string(address);
    }
    if (auto pp = usb_port_path(path)) r.attributes["port_path"] = *pp;
    return r;
}

struct PortList {
    sp_port** ports = nullptr;
    ~PortList() {
        if (ports) sp_free_port_list(ports);
    }
};

void enumerate_libserialport(const SerialWatchOptions& opts, ResourceMap& out,
                             std::vector<std::string>& problems) {
    PortList list;
    if (const auto rc = sp_list_ports(&list.ports); rc != SP_OK) {
        char* msg = sp_last_error_message();
        problems.push_back(fmt::format("sp_list_ports failed ({}): {}", static_cast<int>(rc),
                                       msg ? msg : "no detail"));
        if (msg) sp_free_error_message(msg);
        return;
    }
    for (auto** p = list.ports; p && *p; ++p) {
        const char* name = sp_get_port_name(*p);
        if (!name) continue;
        const std::string path = name;
        if (serial_path_excluded(opts, path)) continue;
        auto r = describe(*p, path);
        out.insert_or_assign(r.address, std::move(r));
    }
}

struct GlobResult {
    glob_t g{};
    ~GlobResult() { ::globfree(&g); }
};

void expand_glob(const std::string& pattern, std::vector<std::string>& out,
                 std::vector<std::string>& problems) {
    GlobResult res;
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &res.g);
    if (rc == GLOB_NOMATCH) return;
    if (rc != 0) {
        problems.push_back(fmt::format("glob '{}' failed ({})", pattern, rc));
        return;
    }
    for (size_t i = 0; i < res.g.gl_pathc; ++i) out.emplace_back(res.g.gl_pathv[i]);
}

ResourceMap scan(const SerialWatchOptions& opts, std::vector<std::string>& problems) {
    ResourceMap found;
    if (opts.enumerate) enumerate_libserialport(opts, found, problems);
    std::vector<std::string> named = opts.paths;
    for (const auto& pattern : opts.globs) expand_glob(pattern, named, problems);
    for (const auto& path : named) {
        if (serial_path_excluded(opts, path) || !is_char_device(path)) continue;
        // A path libserialport already described keeps its USB attributes.
        auto r = serial_resource(path);
        if (!found.contains(r.address)) found.emplace(r.address, std::move(r));
    }
    return found;
}

}  // namespace

bool serial_path_excluded(const SerialWatchOptions& opts, const std::string& path) {
    std::vector<std::string> candidates{path};
    std::error_code ec;
    // A symlink such as /run/certlab/tty-x -> /dev/ttyS0 must not sneak the console in.
    if (auto real = fs::canonical(path, ec); !ec && real.string() != path)
        candidates.push_back(real.string());
    for (const auto& c : candidates) {
        for (const char* p : kAlwaysExcluded)
            if (matches(p, c)) return true;
        for (const auto& p : opts.exclude_globs)
            if (matches(p.c_str(), c)) return true;
    }
    return false;
}

std::vector<sdk::Resource> scan_serial_ports(const SerialWatchOptions& opts) {
    std::vector<std::string> problems;
    auto found = scan(opts, problems);
    std::vector<sdk::Resource> out;
    out.reserve(found.size());
    for (auto& [_, r] : found) out.push_back(std::move(r));
    return out;
}

struct SerialWatcher::State {
    State(boost::asio::any_io_executor ex, SerialWatchOptions o)
        : timer(std::move(ex)), opts(std::move(o)),
          log(spdlog::default_logger()->clone("serial-watch")) {}

    boost::asio::steady_timer timer;
    SerialWatchOptions opts;
    WatcherSink sink;
    bool running = false;
    unsigned generation = 0;  ///< bumped by start(): a handler from before a restart is stale
    ResourceMap present;
    std::shared_ptr<spdlog::logger> log;
    std::vector<std::string> last_problems;  ///< logged only when they change, not every poll

    static void poll(const std::shared_ptr<State>& self, unsigned gen);
    void report(ResourceMap now);
    void schedule(const std::shared_ptr<State>& self);
};

void SerialWatcher::State::poll(const std::shared_ptr<State>& self, unsigned gen) {
    if (!self->running || gen != self->generation) return;
    std::vector<std::string> problems;
    auto now = scan(self->opts, problems);
    if (problems != self->last_problems) {
        for (const auto& p : problems) self->log->warn("{}", p);
        self->last_problems = std::move(problems);
    }
    self->report(std::move(now));
    self->schedule(self);
}

void SerialWatcher::State::report(ResourceMap now) {
    // `running` is rechecked before every call: a sink may stop the watcher.
    for (const auto& [address, _] : present) {
        if (!running) return;
        if (!now.contains(address)) {
            log->info("departed {}", address);
            sink.departed(address);
        }
    }
    for (const auto& [address, r] : now) {
        if (!running) return;
        auto old = present.find(address);
        if (old == present.end() || old->second.attributes != r.attributes) {
            log->info("arrived {}", address);
            sink.arrived(r);
        }
    }
    present = std::move(now);
}

void SerialWatcher::State::schedule(const std::shared_ptr<State>& self) {
    if (!running) return;
    timer.expires_after(opts.poll_interval);
    timer.async_wait([self, gen = generation](const boost::system::error_code& ec) {
        if (!ec) poll(self, gen);
    });
}

SerialWatcher::SerialWatcher(boost::asio::any_io_executor ex, SerialWatchOptions opts)
    : state_(std::make_shared<State>(std::move(ex), std::move(opts))) {
    if (state_->opts.poll_interval <= std::chrono::milliseconds::zero())
        throw std::invalid_argument("serial watcher: poll_interval must be positive");
}

SerialWatcher::~SerialWatcher() { stop(); }

void SerialWatcher::start(WatcherSink sink) {
    if (state_->running) throw std::runtime_error("serial watcher: already started");
    if (!sink.arrived || !sink.departed)
        throw std::runtime_error("serial watcher: sink needs both arrived and departed");
    state_->sink = std::move(sink);
    state_->present.clear();
    state_->running = true;
    boost::asio::post(state_->timer.get_executor(),
                      [self = state_, gen = ++state_->generation] { State::poll(self, gen); });
}

void SerialWatcher::stop() noexcept {
    state_->running = false;
    state_->timer.cancel();
}

}  // namespace certlab::inventory
