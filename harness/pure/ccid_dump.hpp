#pragma once
// The text format of the CCID driver's `parse` tool (one reader per file, one block per CCID
// interface) and the driver's supported_readers.txt list. Pure: callers read the files.
#include "pure/ccid.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::ccid {

// One interface block of a dump: the device header repeated, the interface, the descriptor.
struct DumpBlock {
    std::size_t line = 0; // 1-based line of the block's " idVendor:" line
    DeviceIdentity identity;
    InterfaceInfo interface;
    std::optional<Descriptor> descriptor; // absent when parse stopped before it
    // Answers to GET CLOCK FREQUENCIES / GET DATA RATES (CCID §5.3.2/3), when parse got them.
    std::vector<std::uint32_t> clock_frequencies_khz;
    std::vector<std::uint32_t> data_rates_bps;
    // The dwFeatures lines parse printed under the value (text after the "....02 " tag), so
    // decoders can be checked against the driver's own reading.
    std::vector<std::string> feature_texts;
};

struct Dump {
    std::string file;
    std::vector<DumpBlock> blocks;
};

// Parses parse's output. Throws harness::ConfigError "file:line:column: expected …" on text that
// is not that format. Old layouts (unprefixed feature lines, wrapped lines) are accepted.
Dump parse_dump(std::string_view text, const std::string& file);

// Prints a block the way the CCID driver's parse does (without the live GET CLOCK FREQUENCIES
// and GET DATA RATES answers unless the block carries them), so output looks familiar.
std::string format_block(const DumpBlock& block);
// Only the " CCID Class Descriptor" part.
std::string format_descriptor(const Descriptor& descriptor);

// supported_readers.txt: "0xVVVV:0xPPPP:Name" lines under "# section: …" headers; "#0x…" lines
// (commented out) are disabled entries of their section.
struct SupportedReader {
    std::size_t line = 0;
    std::string section; // "supported", "shouldwork", "unsupported", "disabled", …
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::string name;
    bool commented_out = false;
};

std::vector<SupportedReader> parse_supported_readers(std::string_view text,
                                                     const std::string& file);

} // namespace harness::ccid
