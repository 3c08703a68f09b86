// A keep-alive HTTPS client for the certification record, for the uploader's own
// thread. Private to upload/ (it brings Asio and Beast with it).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

namespace boost::asio::ssl {
class context;
}

#include "config/upload_config.hpp"
#include "record/outbox.hpp"

namespace certlab::upload {

/// The request could not be delivered or answered: connection, TLS, timeout, or the
/// station's own credentials (a token file others can read). The message says which.
class DeliveryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RecordAnswer {
    unsigned status = 0;
    bool replayed = false;  ///< Idempotent-Replayed: the record had it already
    std::string body;
};

/// Reads the bearer token: the file's first line, trimmed. Throws DeliveryError when
/// it cannot be read, is empty, or is readable by others (the token would leak).
[[nodiscard]] std::string read_record_token(const std::filesystem::path& file);

class RecordClient {
public:
    RecordClient(boost::asio::io_context& io, config::UploadConfig cfg);
    ~RecordClient();
    RecordClient(const RecordClient&) = delete;
    RecordClient& operator=(const RecordClient&) = delete;

    /// Sends one request on the open connection, or on a new one (reading the CA
    /// afresh, so fixing it takes effect at the next attempt). The token file is
    /// read for every request.
    /// Any HTTP status is returned; a failure to deliver throws DeliveryError and
    /// closes the connection.
    boost::asio::awaitable<RecordAnswer> send(const record::OutboxRequest& request);
    /// Drops the connection (the next send reconnects); cancels an operation in flight.
    void close();

private:
    struct Connection;
    boost::asio::awaitable<void> connect();

    boost::asio::io_context& io_;
    config::UploadConfig cfg_;
    std::unique_ptr<boost::asio::ssl::context> tls_;  ///< outlives conn_, which uses it
    std::unique_ptr<Connection> conn_;
    std::string token_;
};

}  // namespace certlab::upload
