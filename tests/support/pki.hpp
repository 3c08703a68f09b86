// Certificates for TLS tests, made on the spot with the openssl command (argv, no
// shell) in a test's temporary directory: never a key in the repository.
#pragma once

#include <filesystem>

namespace certlab::test {

struct Pki {
    std::filesystem::path ca;           ///< the test CA's certificate (PEM)
    std::filesystem::path server_cert;  ///< signed by it for DNS:localhost and IP:127.0.0.1
    std::filesystem::path server_key;
    std::filesystem::path other_ca;     ///< an unrelated CA that signed nothing here
    /// Signed by `ca` for the same names, but its validity ended a day before it began
    /// (notAfter in the past): a client must refuse it as expired.
    std::filesystem::path expired_server_cert;
    std::filesystem::path expired_server_key;
};

/// Makes a CA, a server certificate and key, and a second CA in `dir` (EC P-256,
/// valid for two days). Throws std::runtime_error with openssl's output on failure.
Pki make_pki(const std::filesystem::path& dir);

}  // namespace certlab::test
