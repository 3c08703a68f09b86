// `certlab token new`: tokens are made here, where they are handed out, and only
// their hash goes to the station (api/access.hpp reads it).
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"

namespace certlab::cli {

namespace {

std::string base64url(const unsigned char* data, std::size_t n) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        acc = acc << 8 | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3f];
    return out;
}

}  // namespace

int cmd_token_new(const std::string& name, const std::string& role) {
    for (char c : name)
        if (c == ' ' || c == '\t' || c == '#' || c == '\n')
            throw CliError(exit_usage, "--name must not contain spaces or '#'");
    // 256 bits from the system's CSPRNG: a hash of it needs no salt or stretching.
    std::array<unsigned char, 32> secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
        throw CliError(exit_usage, "cannot get random bytes for the token");
    const std::string token = "clt_" + base64url(secret.data(), secret.size());
    std::array<unsigned char, SHA256_DIGEST_LENGTH> hash{};
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), hash.data());
    std::string hex;
    for (auto b : hash) {
        char two[3];
        std::snprintf(two, sizeof two, "%02x", b);
        hex += two;
    }
    std::cout << "token (shown once; give it to " << name << " and keep it out of git and logs):\n  " << token
              << "\nline for the station's tokens file (api.tokens in station.yaml):\n  " << name << ' ' << role
              << " sha256:" << hex << '\n';
    return exit_ok;
}

}  // namespace certlab::cli
