// libFuzzer target for the template driver's protocol module (drivers/template): the
// one a new driver starts from, so its fuzz target is the one a new driver copies.
// Properties: a decode either gives a value or says why, never both or neither; a
// decoded id text is the answer without its `_` and NUL; encoded pulses stay in range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "template/protocol.hpp"

using namespace certlab::tmpl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto status = decode_status(data[0]);
    if (status.value.has_value() == !status.error.empty()) std::abort();

    std::string_view answer(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto id = decode_id_text(answer);
    if (id.value.has_value() == !id.error.empty()) std::abort();
    if (id.value && (answer.size() < 2 || id.value->size() != answer.size() - 2 || answer.size() > max_id_answer))
        std::abort();

    if (size >= 17) {
        std::int64_t on = 0, off = 0;
        std::memcpy(&on, data + 1, sizeof on);
        std::memcpy(&off, data + 9, sizeof off);
        const auto p = encode_pulse(data[0] & 1 ? Pin::pin5 : Pin::pin2, on, off);
        if (p.bytes.size() != 5 || p.on_ms < 2 || p.on_ms > 510 || p.off_ms < 2 || p.off_ms > 510) std::abort();
    }
    return 0;
}
