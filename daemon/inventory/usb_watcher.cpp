#include "inventory/usb_watcher.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <vector>

#include "transport/usb_device.hpp"
#include "transport/usb_ieee1284.hpp"

namespace certlab::inventory {

namespace usb = transport::usb;
using Clock = std::chrono::steady_clock;

sdk::Resource usb_resource(const UsbDeviceInfo& d) {
    sdk::Resource r;
    r.kind = sdk::Resource::Kind::usb;
    r.address = "usb:" + d.port_path;
    r.source = "usb";
    auto& a = r.attributes;
    a["port_path"] = d.port_path;
    a["bus"] = std::to_string(d.bus);
    a["devnum"] = std::to_string(d.devnum);
    a["vid"] = fmt::format("{:04x}", d.vid);  // as the serial watcher writes them
    a["pid"] = fmt::format("{:04x}", d.pid);
    a["class"] = fmt::format("{:02x}", d.device_class);
    if (!d.interfaces.empty()) a["interfaces"] = d.interfaces;
    if (!d.manufacturer.empty()) a["manufacturer"] = d.manufacturer;
    if (!d.product.empty()) a["product"] = d.product;
    if (!d.serial_number.empty()) a["serial_number"] = d.serial_number;
    for (auto& [key, value] : transport::parse_ieee1284_id(d.ieee1284_id)) a["ieee1284." + key] = value;
    return r;
}

namespace {

/// Reads what a device says about itself: descriptors from libusb's cache, strings
/// and the 1284 id through control requests on a briefly opened handle.
std::optional<UsbDeviceInfo> describe(libusb_device* dev, std::chrono::milliseconds timeout, spdlog::logger& log) {
    auto port = usb::port_path(dev);
    if (!port) return std::nullopt;  // a root hub: nothing can be plugged "into" it as a device
    libusb_device_descriptor dd{};
    if (int rc = libusb_get_device_descriptor(dev, &dd); rc != 0) {
        log.warn("usb:{}: no device descriptor: {}", *port, usb::error_text(rc));
        return std::nullopt;
    }
    UsbDeviceInfo info;
    info.port_path = *port;
    info.bus = libusb_get_bus_number(dev);
    info.devnum = libusb_get_device_address(dev);
    info.vid = dd.idVendor;
    info.pid = dd.idProduct;
    info.device_class = dd.bDeviceClass;
    info.interfaces = usb::interface_classes(dev);

    libusb_device_handle* raw = nullptr;
    if (int rc = libusb_open(dev, &raw); rc != 0) {
        // Still listed, with ids only: a profile may match on vid/pid alone.
        log.info("usb:{}: cannot read its strings ({}); listed with ids only", *port, usb::error_text(rc));
        return info;
    }
    usb::HandlePtr handle(raw);
    info.manufacturer = usb::read_string(raw, dd.iManufacturer, timeout);
    info.product = usb::read_string(raw, dd.iProduct, timeout);
    info.serial_number = usb::read_string(raw, dd.iSerialNumber, timeout);
    if (auto printer = usb::find_printer_interface(dev)) {
        auto id = usb::read_ieee1284_id(raw, *printer, timeout);
        if (id.error == 0) info.ieee1284_id = id.text;
        else log.info("usb:{}: printer gave no IEEE 1284 id: {}", *port, usb::error_text(id.error));
    }
    return info;
}

}  // namespace

struct UsbWatcher::State {
    State(boost::asio::any_io_executor e, UsbWatchOptions o)
        : ex(std::move(e)), opts(o), log(spdlog::default_logger()->clone("usb-watch")) {}

    // Executor side.
    boost::asio::any_io_executor ex;
    UsbWatchOptions opts;
    std::shared_ptr<spdlog::logger> log;
    WatcherSink sink;
    bool running = false;
    unsigned generation = 0;  ///< bumped by start(): reports from an earlier run are stale

    // Shared with the watcher thread.
    usb::ContextPtr ctx;
    std::atomic<bool> stop_requested{false};
    std::atomic<bool> hotplug{false};
    std::thread thread;

    // Watcher thread only.
    struct Event {
        usb::DeviceRef device;
        bool arrived;
    };
    std::vector<Event> events;  ///< queued by the hotplug callback, handled outside it
    struct Known {
        usb::DeviceRef device;
        std::string address;
    };
    std::map<libusb_device*, Known> known;

    static void run(const std::shared_ptr<State>& self, unsigned gen);
    void arrive(const std::shared_ptr<State>& self, unsigned gen, libusb_device* dev);
    void depart(const std::shared_ptr<State>& self, unsigned gen, libusb_device* dev);
    void rescan(const std::shared_ptr<State>& self, unsigned gen);
    static int LIBUSB_CALL on_hotplug(libusb_context*, libusb_device* dev, libusb_hotplug_event event, void* user);
};

int LIBUSB_CALL UsbWatcher::State::on_hotplug(libusb_context*, libusb_device* dev, libusb_hotplug_event event,
                                              void* user) {
    // Runs inside libusb's event handling: only queue. Opening the device here would
    // re-enter libusb (the library forbids most calls from a hotplug callback).
    static_cast<State*>(user)->events.push_back({usb::DeviceRef(dev), event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED});
    return 0;  // stay registered
}

void UsbWatcher::State::arrive(const std::shared_ptr<State>& self, unsigned gen, libusb_device* dev) {
    if (known.contains(dev)) return;  // hotplug and a rescan both saw it
    const auto t0 = Clock::now();
    auto info = describe(dev, opts.control_timeout, *log);
    if (!info) return;
    log->debug("described usb:{} in {:.1f} ms", info->port_path,
               std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    auto r = usb_resource(*info);
    known.emplace(dev, Known{usb::DeviceRef(dev), r.address});
    boost::asio::post(ex, [self, gen, r = std::move(r)] {
        if (!self->running || gen != self->generation) return;
        self->log->info("arrived {} ({}:{} {})", r.address, r.attributes.at("vid"), r.attributes.at("pid"),
                        r.attributes.contains("product") ? r.attributes.at("product") : "");
        self->sink.arrived(r);
    });
}

void UsbWatcher::State::depart(const std::shared_ptr<State>& self, unsigned gen, libusb_device* dev) {
    auto it = known.find(dev);
    if (it == known.end()) return;
    auto address = std::move(it->second.address);
    known.erase(it);
    boost::asio::post(ex, [self, gen, address = std::move(address)] {
        if (!self->running || gen != self->generation) return;
        self->log->info("departed {}", address);
        self->sink.departed(address);
    });
}

void UsbWatcher::State::rescan(const std::shared_ptr<State>& self, unsigned gen) {
    std::vector<usb::DeviceRef> now;
    try {
        usb::DeviceList list(ctx.get());
        for (auto* d : list) now.emplace_back(d);
    } catch (const std::exception& e) {
        log->warn("rescan: {}", e.what());
        return;
    }
    std::vector<libusb_device*> gone;
    for (const auto& [dev, _] : known) {
        const bool present = std::any_of(now.begin(), now.end(), [&](const auto& d) { return d.get() == dev; });
        if (!present) gone.push_back(dev);
    }
    for (auto* dev : gone) depart(self, gen, dev);
    for (const auto& d : now) {
        if (stop_requested) return;
        arrive(self, gen, d.get());
    }
}

void UsbWatcher::State::run(const std::shared_ptr<State>& self, unsigned gen) {
    auto& s = *self;
    libusb_hotplug_callback_handle handle = 0;
    bool registered = false;
    if (s.hotplug) {
        // ENUMERATE reports the devices already present as arrivals, right here.
        const int rc = libusb_hotplug_register_callback(
            s.ctx.get(), LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
            LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
            &State::on_hotplug, &s, &handle);
        registered = rc == 0;
        if (!registered) {
            s.log->warn("hotplug registration failed ({}); rescanning every {} ms instead", usb::error_text(rc),
                        s.opts.rescan_interval.count());
            s.hotplug = false;
        }
    }
    auto next_rescan = registered ? Clock::now() + s.opts.rescan_interval : Clock::now();
    while (!s.stop_requested) {
        auto events = std::move(s.events);
        s.events.clear();
        for (auto& e : events) {
            if (s.stop_requested) break;
            if (e.arrived) s.arrive(self, gen, e.device.get());
            else s.depart(self, gen, e.device.get());
        }
        if (Clock::now() >= next_rescan) {
            s.rescan(self, gen);
            next_rescan = Clock::now() + s.opts.rescan_interval;
        }
        if (!s.events.empty() || s.stop_requested) continue;
        const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(next_rescan - Clock::now());
        const auto us = std::clamp<std::int64_t>(wait.count(), 0, 1'000'000);
        timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
        libusb_handle_events_timeout_completed(s.ctx.get(), &tv, nullptr);
    }
    if (registered) libusb_hotplug_deregister_callback(s.ctx.get(), handle);
    s.events.clear();
    s.known.clear();
}

UsbWatcher::UsbWatcher(boost::asio::any_io_executor ex, UsbWatchOptions opts)
    : state_(std::make_shared<State>(std::move(ex), opts)) {
    if (opts.rescan_interval <= std::chrono::milliseconds::zero())
        throw std::invalid_argument("usb watcher: rescan_interval must be positive");
    if (opts.control_timeout <= std::chrono::milliseconds::zero())
        throw std::invalid_argument("usb watcher: control_timeout must be positive");
}

UsbWatcher::~UsbWatcher() { stop(); }

void UsbWatcher::start(WatcherSink sink) {
    auto& s = *state_;
    if (s.running) throw std::runtime_error("usb watcher: already started");
    if (!sink.arrived || !sink.departed) throw std::runtime_error("usb watcher: sink needs both arrived and departed");
    libusb_context* raw = nullptr;
    if (int rc = libusb_init(&raw); rc != 0)
        throw std::runtime_error("usb watcher: libusb_init failed: " + usb::error_text(rc));
    s.ctx.reset(raw);
    s.hotplug = s.opts.hotplug && libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG);
    if (!s.hotplug) s.log->info("no libusb hotplug here: rescanning every {} ms", s.opts.rescan_interval.count());
    s.sink = std::move(sink);
    s.running = true;
    s.stop_requested = false;
    s.thread = std::thread([self = state_, gen = ++s.generation] { State::run(self, gen); });
}

void UsbWatcher::stop() noexcept {
    auto& s = *state_;
    s.running = false;  // handlers already posted now do nothing
    if (!s.thread.joinable()) return;
    s.stop_requested = true;
    libusb_interrupt_event_handler(s.ctx.get());
    s.thread.join();
    s.ctx.reset();
}

}  // namespace certlab::inventory
