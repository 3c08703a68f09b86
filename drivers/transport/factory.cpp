#include "transport/factory.hpp"

#include "sdk/error.hpp"
#include "transport/serial.hpp"
#include "transport/tcp.hpp"
#include "transport/tls.hpp"
#include "transport/usb.hpp"

namespace certlab::transport {

std::unique_ptr<sdk::Transport> make_transport(const Address& a, boost::asio::any_io_executor ex) {
    switch (a.kind) {
        case Address::Kind::serial:
            return std::make_unique<SerialTransport>(std::move(ex), a.path, a.serial, a.text);
        case Address::Kind::tcp:
            return std::make_unique<TcpTransport>(std::move(ex), a.host, a.port, a.text);
        case Address::Kind::usb:
            return std::make_unique<UsbTransport>(std::move(ex), a.usb_port, a.text);
        case Address::Kind::tls:
            return std::make_unique<TlsTransport>(std::move(ex), a.host, a.port, a.tls, a.text);
    }
    throw sdk::ConfigError("address '" + a.text + "': unknown transport kind");
}

}  // namespace certlab::transport
