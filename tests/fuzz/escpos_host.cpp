// The host-side ESC/POS decoders on arbitrary printer answers: every byte either
// decodes or yields an error message naming it, never both and never neither; and
// what decodes as a status byte passes the fixed-bit check that guards it.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "escpos/protocol.hpp"

namespace escpos = certlab::escpos;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

template <typename T>
void check(const escpos::Decoded<T>& d) {
    require(d.value.has_value() != !d.error.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t b = data[0];
    check(escpos::decode_printer_status(b));
    check(escpos::decode_offline_cause(b));
    check(escpos::decode_error_cause(b));
    check(escpos::decode_roll_paper(b));
    require(escpos::decode_printer_status(b).value.has_value() ==
            escpos::check_status_fixed_bits(b, escpos::StatusKind::printer).empty());
    for (auto kind : {escpos::IdKind::model_id, escpos::IdKind::type_id, escpos::IdKind::version_id})
        check(escpos::decode_id_byte(b, kind));
    const std::string_view answer(reinterpret_cast<const char*>(data) + 1, size - 1);
    for (auto kind : {escpos::IdKind::firmware, escpos::IdKind::maker, escpos::IdKind::model,
                      escpos::IdKind::serial, escpos::IdKind::extra_info})
        check(escpos::decode_id_text(answer, kind));
    require(!escpos::hex(answer).empty() || answer.empty());
    return 0;
}
