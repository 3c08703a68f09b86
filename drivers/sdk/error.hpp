// The error kinds a driver or transport raises; the engine maps each to an outcome.
#pragma once

#include <stdexcept>
#include <string>

namespace certlab::sdk {

/// The station could not talk to the device: maps to outcome `error`, or `timeout`
/// for Kind::timeout. Never counted as a device failure.
class TransportError : public std::runtime_error {
public:
    enum class Kind { timeout, closed, io, limit };
    TransportError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    [[nodiscard]] Kind kind() const noexcept { return kind_; }

private:
    Kind kind_;
};

/// The device answered, but not in its protocol (garbage, bad length, impossible
/// value): the device did the wrong thing, so the step outcome is `fail`.
class ProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A setting, argument or address is unusable: outcome `error` at run time, a
/// start-up failure when found while loading configuration.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace certlab::sdk
