// The printer-side ESC/POS parser on arbitrary host bytes. Besides not crashing, it
// must keep its promises: any chunking of the stream gives the same commands, memory
// stays bounded, and a command is never larger than max_command.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "escpos/device.hpp"

using certlab::escpos::device::Command;
using certlab::escpos::device::Parser;

namespace {

bool same(const Command& a, const Command& b) {
    return a.kind == b.kind && a.bytes == b.bytes && a.param == b.param && a.cut == b.cut &&
           a.has_feed == b.has_feed && a.feed == b.feed && a.pin == b.pin && a.on_units == b.on_units &&
           a.off_units == b.off_units;
}

/// Text commands may come in several pieces depending on chunking; join neighbours.
std::vector<Command> normalised(std::vector<Command> in) {
    std::vector<Command> out;
    for (auto& c : in) {
        if (c.kind == Command::Kind::text && !out.empty() && out.back().kind == Command::Kind::text)
            out.back().bytes += c.bytes;
        else
            out.push_back(std::move(c));
    }
    return out;
}

void require(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The first byte picks the split points of the second feeding.
    const std::size_t step = 1 + data[0] % 7;
    const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

    Parser whole;
    auto a = whole.feed(stream);
    for (const auto& c : a) require(c.bytes.size() <= Parser::max_command);

    Parser pieces;
    std::vector<Command> b;
    for (std::size_t at = 0; at < stream.size(); at += step) {
        auto part = pieces.feed(stream.substr(at, step));
        b.insert(b.end(), part.begin(), part.end());
    }
    require(whole.idle() == pieces.idle());
    a = normalised(std::move(a));
    b = normalised(std::move(b));
    require(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) require(same(a[i], b[i]));
    return 0;
}
