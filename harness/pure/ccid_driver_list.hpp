#pragma once
// The readers the installed CCID driver supports, from its Info.plist: the arrays ifdVendorID,
// ifdProductID and ifdFriendlyName are index-aligned (one entry per reader model).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace harness::ccid_driver {

struct SupportedReader {
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::string name; // XML entities decoded ("Giesecke & Devrient ...")
};

// Parses the plist text; `source` names it in errors. Throws harness::ConfigError with
// "source:line:column: expected ..." when a key is missing, an array is malformed, a VID/PID is
// not "0x" + 1..4 hex digits, or the three arrays differ in length.
std::vector<SupportedReader> parse_info_plist(std::string_view text, std::string_view source);

} // namespace harness::ccid_driver

namespace harness::ccid_driver {

// The plist text with `readers` appended to ifdVendorID, ifdProductID and ifdFriendlyName (the
// lab's private driver bundle: the system's list plus the lab's VID:PIDs). Everything else is
// kept byte for byte. Throws harness::ConfigError (as parse_info_plist) when an array is missing.
std::string add_readers(std::string_view text, const std::vector<SupportedReader>& readers,
                        std::string_view source);

} // namespace harness::ccid_driver
