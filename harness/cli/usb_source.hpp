#pragma once
// USB readers for the CLI: discovery with the shipped catalogue and the installed CCID driver's
// reader list, and the `describe --usb VID:PID` source.
#include "cli/describe.hpp"
#include "model/usb_device.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::cli {

// "072F:B100" (hex, either case, optional 0x per half). Throws UsageError otherwise.
std::pair<std::uint16_t, std::uint16_t> parse_vid_pid(std::string_view text);

// usb::enumerate() with profiles/readers/catalogue.csv ($CARDHARNESS_CATALOGUE) and the CCID
// driver's Info.plist ($CARDHARNESS_CCID_INFO_PLIST; skipped when absent). For `readers`.
std::vector<model::UsbDevice> discover_usb_readers();

// The first USB device with that VID:PID, as a describe input; the catalogue note and whether
// the CCID driver lists it become findings. EnvironmentError (exit 3) when no such device.
DescribeInput describe_usb(const std::string& vid_pid);

} // namespace harness::cli
