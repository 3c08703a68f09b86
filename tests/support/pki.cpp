#include "support/pki.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace certlab::test {
namespace {

/// The openssl command from PATH (Process::start takes a path, not a name).
std::string openssl_path() {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t at = 0; at <= dirs.size();) {
        const auto colon = std::min(dirs.find(':', at), dirs.size());
        const std::filesystem::path candidate = std::filesystem::path(dirs.substr(at, colon - at)) / "openssl";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        at = colon + 1;
    }
    throw std::runtime_error("the openssl command is not on PATH; the TLS tests need it");
}

void openssl(const std::filesystem::path& dir, std::vector<std::string> args) {
    args.insert(args.begin(), openssl_path());
    const auto log = dir / "openssl.log";
    auto r = run(args, 60s, log);
    if (r.status != 0) {
        std::string cmd;
        for (const auto& a : args) cmd += a + " ";
        throw std::runtime_error("openssl failed (" + std::to_string(r.status) + "): " + cmd + "\n" + read_file(log));
    }
}

void make_ca(const std::filesystem::path& dir, const std::string& name, const std::string& cn) {
    openssl(dir, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  (dir / (name + ".key")).string(), "-out", (dir / (name + ".pem")).string(), "-days", "2", "-subj",
                  "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"});
}

}  // namespace

Pki make_pki(const std::filesystem::path& dir) {
    Pki p{dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "other-ca.pem", dir / "expired-server.pem",
          dir / "expired-server.key"};
    make_ca(dir, "ca", "certlab test CA");
    make_ca(dir, "other-ca", "certlab other CA");
    openssl(dir, {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  p.server_key.string(), "-out", (dir / "server.csr").string(), "-subj", "/CN=localhost"});
    write_file(dir / "server.ext",
               "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
               "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
    openssl(dir, {"x509", "-req", "-in", (dir / "server.csr").string(), "-CA", p.ca.string(), "-CAkey",
                  (dir / "ca.key").string(), "-set_serial", "2", "-days", "2", "-extfile", (dir / "server.ext").string(),
                  "-out", p.server_cert.string()});
    // Expired: OpenSSL 3.0's x509 has no -not_after, but -days -1 puts notAfter a day
    // before notBefore (now), which verification reports as "certificate has expired".
    openssl(dir, {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  p.expired_server_key.string(), "-out", (dir / "expired-server.csr").string(), "-subj", "/CN=localhost"});
    openssl(dir, {"x509", "-req", "-in", (dir / "expired-server.csr").string(), "-CA", p.ca.string(), "-CAkey",
                  (dir / "ca.key").string(), "-set_serial", "3", "-days", "-1", "-extfile",
                  (dir / "server.ext").string(), "-out", p.expired_server_cert.string()});
    return p;
}

}  // namespace certlab::test
