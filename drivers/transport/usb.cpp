#include "transport/usb.hpp"

#include <algorithm>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>

#include "sdk/error.hpp"
#include "transport/usb_device.hpp"
#include "transport/usb_event_loop.hpp"
#include "transport/usb_ieee1284.hpp"

namespace certlab::transport {
namespace {

namespace asio = boost::asio;
using sdk::TransportError;
using Kind = TransportError::Kind;
using Clock = std::chrono::steady_clock;
using IdFields = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t kMaxTransfer = 16 * 1024;  ///< one bulk transfer at most [B]
constexpr auto kMaxIdTimeout = std::chrono::seconds(2);
constexpr auto kPresenceCheck = std::chrono::milliseconds(250);  ///< peer_closed() asks sysfs this often

std::string describe(sdk::Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

/// libusb counts whole milliseconds and reads 0 as "forever": round up, at least 1.
unsigned timeout_ms(sdk::Duration d) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    return static_cast<unsigned>(std::clamp<std::chrono::milliseconds::rep>(ms, 1, 24 * 3600 * 1000));
}

/// A device opened with its printer interface claimed. Shared by the transport and
/// every transfer in flight on it, so the handle outlives them all; the last owner
/// hands the release and close to the USB thread (libusb_close waits for the event
/// handler, which must never be the executor).
struct OpenDevice {
    usb::HandlePtr handle;
    usb::PrinterInterface printer;
    bool gone = false;  ///< a transfer said the device is gone (executor thread only)

    OpenDevice(usb::HandlePtr h, usb::PrinterInterface p) : handle(std::move(h)), printer(p) {}
    OpenDevice(const OpenDevice&) = delete;
    OpenDevice& operator=(const OpenDevice&) = delete;
    ~OpenDevice() {
        usb::EventLoop::instance().post([h = handle.release(), itf = printer.interface] {
            usb::HandlePtr closing(h);
            libusb_release_interface(h, itf);  // fails harmlessly when the device is gone
        });
    }
};

enum class Cancelled { no, by_caller, by_close };

/// How a transfer ended, delivered on the executor.
struct Outcome {
    int submit_error = 0;  ///< libusb_submit_transfer's error; the transfer never ran
    libusb_transfer_status status = LIBUSB_TRANSFER_COMPLETED;
    std::size_t length = 0;  ///< bytes transferred
    std::string data;        ///< IN: the bytes received
    Cancelled cancelled = Cancelled::no;
};

struct Transfer;

/// What a transport and its transfers share. `live` is touched on the executor only;
/// `callbacks_pending` counts transfers whose libusb callback has not run yet, so the
/// destructor can wait until nothing will post to the executor any more.
struct Registry {
    std::set<Transfer*> live;
    std::mutex mutex;
    std::condition_variable done;
    int callbacks_pending = 0;

    void callback_expected() {
        std::lock_guard lock(mutex);
        ++callbacks_pending;
    }
    void callback_ran() {
        {
            std::lock_guard lock(mutex);
            --callbacks_pending;
        }
        done.notify_all();
    }
    /// False when libusb has not given every transfer back within `limit`.
    bool wait_for_callbacks(std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex);
        return done.wait_for(lock, limit, [this] { return callbacks_pending == 0; });
    }
};

/// One bulk transfer in flight: owned by libusb's callback between submit and
/// completion, then by the completion posted to the executor.
struct Transfer {
    libusb_transfer* xfer = libusb_alloc_transfer(0);
    std::vector<unsigned char> buffer;
    std::shared_ptr<OpenDevice> device;
    std::shared_ptr<Registry> registry;
    asio::any_io_executor executor;  ///< the waiting operation's, with work tracked
    /// Optional only to construct it in place: Boost 1.81's move *assignment* of
    /// any_completion_handler recurses until the stack overflows.
    std::optional<asio::any_completion_handler<void(Outcome)>> handler;
    asio::cancellation_slot slot;
    Cancelled cancelled = Cancelled::no;

    Transfer() = default;
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;
    ~Transfer() { libusb_free_transfer(xfer); }
};

/// On the executor: the transfer is over; hand its outcome to the waiting operation.
void deliver(std::unique_ptr<Transfer> t, Outcome o) {
    t->slot.clear();
    t->registry->live.erase(t.get());
    o.cancelled = t->cancelled;
    if (o.status == LIBUSB_TRANSFER_NO_DEVICE || o.submit_error == LIBUSB_ERROR_NO_DEVICE) t->device->gone = true;
    auto handler = std::move(*t->handler);
    t.reset();
    std::move(handler)(std::move(o));
}

/// On the USB thread, inside libusb_handle_events: only reads the transfer and posts.
void LIBUSB_CALL transfer_done(libusb_transfer* x) {
    std::unique_ptr<Transfer> t(static_cast<Transfer*>(x->user_data));
    Outcome o;
    o.status = x->status;
    o.length = static_cast<std::size_t>(std::max(x->actual_length, 0));
    if ((x->endpoint & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN)
        o.data.assign(reinterpret_cast<const char*>(t->buffer.data()), o.length);
    auto registry = t->registry;
    auto executor = t->executor;
    // From here the executor owns `t`; it may already be gone when post() returns.
    asio::post(executor, [t = std::move(t), o = std::move(o)]() mutable { deliver(std::move(t), std::move(o)); });
    usb::EventLoop::instance().transfer_finished();
    registry->callback_ran();
}

struct BulkRequest {
    std::shared_ptr<OpenDevice> device;
    std::shared_ptr<Registry> registry;
    asio::any_io_executor fallback;
    unsigned char endpoint = 0;
    std::vector<unsigned char> buffer;  ///< OUT: the bytes; IN: sized to the read
    unsigned timeout_ms = 1;
};

/// Submits one bulk transfer; completes with its Outcome on the caller's executor.
/// Cancelling the operation cancels the transfer (libusb_cancel_transfer), and the
/// outcome then says Cancelled::by_caller.
template <typename Token>
auto async_bulk(BulkRequest req, Token&& token) {
    return asio::async_initiate<Token, void(Outcome)>(
        [](auto handler, BulkRequest req) {
            auto t = std::make_unique<Transfer>();
            asio::any_io_executor ex = asio::get_associated_executor(handler, req.fallback);
            t->executor = asio::prefer(ex, asio::execution::outstanding_work.tracked);
            t->slot = asio::get_associated_cancellation_slot(handler);
            t->handler.emplace(std::move(handler));
            t->device = std::move(req.device);
            t->registry = std::move(req.registry);
            t->buffer = std::move(req.buffer);
            Transfer* raw = t.get();
            if (!raw->xfer) {
                Outcome o;
                o.submit_error = LIBUSB_ERROR_NO_MEM;
                asio::post(raw->executor, [t = std::move(t), o]() mutable { deliver(std::move(t), std::move(o)); });
                return;
            }
            libusb_fill_bulk_transfer(raw->xfer, raw->device->handle.get(), req.endpoint, raw->buffer.data(),
                                      static_cast<int>(raw->buffer.size()), &transfer_done, raw, req.timeout_ms);
            // Everything the completion needs is set before submitting: from then on
            // the callback may run on the USB thread at any moment.
            if (raw->slot.is_connected())
                raw->slot.assign([raw](asio::cancellation_type) {
                    raw->cancelled = Cancelled::by_caller;
                    libusb_cancel_transfer(raw->xfer);
                });
            raw->registry->live.insert(raw);
            raw->registry->callback_expected();
            auto& loop = usb::EventLoop::instance();
            loop.transfer_started();
            t.release();
            const int rc = libusb_submit_transfer(raw->xfer);
            if (rc == 0) return;
            std::unique_ptr<Transfer> back(raw);  // never submitted: ours again
            loop.transfer_finished();
            back->registry->callback_ran();
            Outcome o;
            o.submit_error = rc;
            auto executor = back->executor;
            asio::post(executor, [t = std::move(back), o]() mutable { deliver(std::move(t), std::move(o)); });
        },
        token, std::move(req));
}

/// Runs `work` on the USB thread and completes with its result on the caller's
/// executor. Not cancellable: the work is bounded by its own libusb timeouts.
template <typename Result, typename Token>
auto async_on_usb_thread(std::function<Result()> work, asio::any_io_executor fallback, Token&& token) {
    return asio::async_initiate<Token, void(Result)>(
        [](auto handler, std::function<Result()> work, asio::any_io_executor fallback) {
            asio::any_io_executor ex = asio::get_associated_executor(handler, fallback);
            ex = asio::prefer(ex, asio::execution::outstanding_work.tracked);
            // std::function needs a copyable job: the handler rides in a shared_ptr.
            auto h = std::make_shared<asio::any_completion_handler<void(Result)>>(std::move(handler));
            usb::EventLoop::instance().post([h, ex, work = std::move(work)] {
                Result r = work();
                asio::post(ex, [h, r = std::move(r)]() mutable { std::move(*h)(std::move(r)); });
            });
        },
        token, std::move(work), std::move(fallback));
}

struct OpenResult {
    std::shared_ptr<OpenDevice> device;
    IdFields id;
    Kind kind = Kind::io;  ///< when device is null
    std::string error;     ///< when device is null
};

/// On the USB thread: find the device in `port`, open it, claim its printer interface.
OpenResult open_device(const std::string& port, sdk::Duration timeout) {
    OpenResult r;
    try {
        libusb_context* ctx = usb::EventLoop::instance().context();
        usb::DeviceRef dev;
        {
            usb::DeviceList list(ctx);
            for (auto* d : list)
                if (usb::port_path(d) == port) dev = usb::DeviceRef(d);
        }
        if (!dev) {
            r.kind = Kind::closed;
            r.error = "no device in USB port " + port;
            return r;
        }
        auto printer = usb::find_printer_interface(dev.get());
        if (!printer) {
            libusb_device_descriptor dd{};
            libusb_get_device_descriptor(dev.get(), &dd);
            char ids[16];
            std::snprintf(ids, sizeof ids, "%04x:%04x", dd.idVendor, dd.idProduct);
            r.error = std::string("the device ") + ids + " has no printer-class interface with a bulk OUT endpoint";
            return r;
        }
        libusb_device_handle* raw = nullptr;
        if (int rc = libusb_open(dev.get(), &raw); rc != 0) {
            r.kind = rc == LIBUSB_ERROR_NO_DEVICE ? Kind::closed : Kind::io;
            r.error = "open: " + usb::error_text(rc);
            if (rc == LIBUSB_ERROR_ACCESS) r.error += " (the station user needs access to /dev/bus/usb: udev rule)";
            return r;
        }
        usb::HandlePtr handle(raw);
        // usblp claims printers on Linux; it is given back when we release the interface.
        libusb_set_auto_detach_kernel_driver(raw, 1);
        if (int rc = libusb_claim_interface(raw, printer->interface); rc != 0) {
            r.kind = rc == LIBUSB_ERROR_NO_DEVICE ? Kind::closed : Kind::io;
            r.error = "claim interface " + std::to_string(printer->interface) + ": " + usb::error_text(rc);
            if (rc == LIBUSB_ERROR_BUSY) r.error += " (another program has it)";
            return r;
        }
        if (printer->alt_setting != 0) {
            if (int rc = libusb_set_interface_alt_setting(raw, printer->interface, printer->alt_setting); rc != 0) {
                libusb_release_interface(raw, printer->interface);
                r.error = "select alternate setting " + std::to_string(printer->alt_setting) + ": " + usb::error_text(rc);
                return r;
            }
        }
        // The id is a nicety (identify, logs); a printer without one still prints.
        const auto id_timeout = std::min<sdk::Duration>(timeout, kMaxIdTimeout);
        auto id = usb::read_ieee1284_id(raw, *printer,
                                        std::chrono::duration_cast<std::chrono::milliseconds>(id_timeout));
        if (id.error == 0) r.id = parse_ieee1284_id(id.text);
        r.device = std::make_shared<OpenDevice>(std::move(handle), *printer);
    } catch (const std::exception& e) {
        r.device.reset();
        r.error = e.what();
    }
    return r;
}

}  // namespace

struct UsbTransport::Impl {
    Impl(asio::any_io_executor e, std::string p, std::string a)
        : ex(std::move(e)), port(std::move(p)), address(a.empty() ? "usb:" + port : std::move(a)),
          label("usb " + port) {}

    [[noreturn]] void fail(Kind kind, const std::string& what) const {
        throw TransportError(kind, label + ": " + what);
    }
    void require_open(const char* op) const {
        if (!device) fail(Kind::closed, std::string(op) + ": device is not open");
    }
    BulkRequest request(unsigned char endpoint, std::vector<unsigned char> buffer, sdk::Duration left) const {
        return BulkRequest{device, registry, ex, endpoint, std::move(buffer), timeout_ms(left)};
    }
    /// Throws for every ending but COMPLETED and TIMED_OUT (which callers word).
    void check(const Outcome& o, const char* op) const;

    asio::any_io_executor ex;
    std::string port;
    std::string address;
    std::string label;  ///< "usb 1-4", the prefix of every message
    std::shared_ptr<OpenDevice> device;
    std::shared_ptr<Registry> registry = std::make_shared<Registry>();
    std::string rx;  ///< received beyond what a read asked for
    IdFields id;
    Clock::time_point next_presence_check{};  ///< peer_closed() rate limit
};

void UsbTransport::Impl::check(const Outcome& o, const char* op) const {
    const std::string what = op;
    // Cancelled by the caller (a step timeout, shutdown): propagate as Asio does.
    if (o.cancelled == Cancelled::by_caller) throw boost::system::system_error(asio::error::operation_aborted);
    if (o.cancelled == Cancelled::by_close) fail(Kind::closed, what + ": closed while waiting");
    if (o.submit_error == LIBUSB_ERROR_NO_DEVICE) fail(Kind::closed, what + ": device disconnected");
    if (o.submit_error != 0) fail(Kind::io, what + ": submit: " + usb::error_text(o.submit_error));
    switch (o.status) {
        case LIBUSB_TRANSFER_COMPLETED:
        case LIBUSB_TRANSFER_TIMED_OUT: return;
        case LIBUSB_TRANSFER_NO_DEVICE: fail(Kind::closed, what + ": device disconnected");
        case LIBUSB_TRANSFER_CANCELLED: fail(Kind::closed, what + ": transfer cancelled");
        case LIBUSB_TRANSFER_STALL: fail(Kind::io, what + ": endpoint stalled");
        case LIBUSB_TRANSFER_OVERFLOW: fail(Kind::io, what + ": the device sent more than asked for (overflow)");
        case LIBUSB_TRANSFER_ERROR: break;
    }
    fail(Kind::io, what + ": transfer failed");
}

UsbTransport::UsbTransport(asio::any_io_executor ex, std::string port_path, std::string address)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(port_path), std::move(address))) {}

UsbTransport::~UsbTransport() {
    close();
    // A callback still to run would post to an executor that may be destroyed next.
    // Cancelled transfers come back within milliseconds; the limit only guards
    // against a wedged host controller.
    (void)impl_->registry->wait_for_callbacks(std::chrono::seconds(2));
}

const std::string& UsbTransport::address() const { return impl_->address; }
const std::string& UsbTransport::port_path() const noexcept { return impl_->port; }
bool UsbTransport::is_open() const noexcept { return impl_->device != nullptr; }
const IdFields& UsbTransport::ieee1284_id() const noexcept { return impl_->id; }

bool UsbTransport::peer_closed() noexcept {
    Impl& s = *impl_;
    if (!s.device) return false;
    if (s.device->gone) return true;
    // Callers poll this often (every supervisor slice, per device); the sysfs read
    // below costs three syscalls, so it is asked at most every kPresenceCheck.
    const auto now = Clock::now();
    if (now < s.next_presence_check) return false;
    s.next_presence_check = now + kPresenceCheck;
    // Linux libusb answers this from sysfs (bConfigurationValue): no request reaches
    // the device, and a device the kernel dropped reads as LIBUSB_ERROR_NO_DEVICE.
    int config = 0;
    s.device->gone = libusb_get_configuration(s.device->handle.get(), &config) == LIBUSB_ERROR_NO_DEVICE;
    return s.device->gone;
}

sdk::Task<void> UsbTransport::open(sdk::Duration timeout) {
    Impl& s = *impl_;
    close();
    std::function<OpenResult()> work = [port = s.port, timeout] { return open_device(port, timeout); };
    asio::any_io_executor ex = s.ex;
    OpenResult r = co_await async_on_usb_thread<OpenResult>(std::move(work), std::move(ex), asio::use_awaitable);
    if (!r.device) s.fail(r.kind, r.error);
    close();  // an open() that overlapped this one must not leak its device
    s.device = std::move(r.device);
    s.id = std::move(r.id);
}

void UsbTransport::close() noexcept {
    Impl& s = *impl_;
    for (auto* t : s.registry->live) {
        t->cancelled = Cancelled::by_close;
        libusb_cancel_transfer(t->xfer);  // NOT_FOUND when it has just completed: fine
    }
    s.device.reset();  // transfers in flight keep it until libusb gives them back
    s.rx.clear();
}

void UsbTransport::discard_input() noexcept { impl_->rx.clear(); }

sdk::Task<std::size_t> UsbTransport::read_some(std::span<char> buf, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("read");
    if (buf.empty()) co_return 0;
    if (!s.rx.empty()) {
        const std::size_t n = std::min(buf.size(), s.rx.size());
        std::memcpy(buf.data(), s.rx.data(), n);
        s.rx.erase(0, n);
        co_return n;
    }
    // Copies: the device may be closed (and freed) while the coroutine waits.
    const unsigned char endpoint = s.device->printer.ep_in;
    if (endpoint == 0) s.fail(Kind::io, "read: the printer interface has no bulk IN endpoint (unidirectional)");
    const std::size_t packet = s.device->printer.in_packet;
    const std::size_t size = std::min(kMaxTransfer, (buf.size() + packet - 1) / packet * packet);
    const auto until = Clock::now() + timeout;
    for (;;) {
        const auto left = until - Clock::now();
        if (left <= sdk::Duration::zero()) s.fail(Kind::timeout, "read: no data within " + describe(timeout));
        // Built in plain statements: g++ 12 mishandles temporaries inside a co_await.
        BulkRequest req = s.request(endpoint, std::vector<unsigned char>(size), left);
        Outcome o = co_await async_bulk(std::move(req), asio::use_awaitable);
        s.check(o, "read");
        if (!o.data.empty()) {
            const std::size_t n = std::min(buf.size(), o.data.size());
            std::memcpy(buf.data(), o.data.data(), n);
            s.rx.append(o.data, n);
            co_return n;
        }
        if (o.status == LIBUSB_TRANSFER_TIMED_OUT)
            s.fail(Kind::timeout, "read: no data within " + describe(timeout));
        // A zero-length packet: nothing to report yet; ask again until the deadline.
    }
}

sdk::Task<void> UsbTransport::write(std::string_view data, sdk::Duration timeout) {
    Impl& s = *impl_;
    s.require_open("write");
    const auto until = Clock::now() + timeout;
    std::size_t done = 0;
    while (done < data.size()) {
        const auto left = until - Clock::now();
        const auto sent_text = [&] {
            return "write: sent " + std::to_string(done) + " of " + std::to_string(data.size()) + " bytes within " +
                   describe(timeout) + " (printer not accepting data)";
        };
        if (left <= sdk::Duration::zero()) s.fail(Kind::timeout, sent_text());
        const auto chunk = data.substr(done, std::min(kMaxTransfer, data.size() - done));
        std::vector<unsigned char> bytes(chunk.begin(), chunk.end());
        BulkRequest req = s.request(s.device->printer.ep_out, std::move(bytes), left);
        Outcome o = co_await async_bulk(std::move(req), asio::use_awaitable);
        s.check(o, "write");
        done += o.length;
        if (o.status == LIBUSB_TRANSFER_TIMED_OUT) s.fail(Kind::timeout, sent_text());
        if (o.length == 0) s.fail(Kind::io, "write: the printer accepted no data");
    }
}

}  // namespace certlab::transport
