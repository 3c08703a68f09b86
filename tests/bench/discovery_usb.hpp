// USB figures of the discovery bench, under umockdev (fixtures/usb-printer).
#pragma once

namespace certlab::bench {

/// Plugs `n` new USB printers in one after another (each into its own port) and `n`
/// times re-plugs one known printer, timing each until certlabd shows it ready, and
/// the CPU the daemon and the emulator use while printers idle.
void usb_arrivals(int n);

}  // namespace certlab::bench
