#pragma once
// `cardharness describe`: one reader's identity and CCID descriptors (from a dump, hex, USB, …)
// rendered as the CCID driver's parse prints them, plus findings and the My Number prediction.
// A new source is one entry in describe_sources() (describe.cpp) and a resolver function.
#include "model/usb_device.hpp"
#include "pure/ccid.hpp"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace harness::cli {

struct DescribedInterface {
    std::optional<ccid::InterfaceInfo> interface; // unknown for a bare descriptor
    ccid::Placement placement = ccid::Placement::Given;
    std::optional<ccid::Descriptor> descriptor;       // absent: a reader interface without one
    Bytes raw;                                        // the descriptor bytes as found (may be odd)
    Findings findings;                                // decode + placement findings
    std::vector<std::uint32_t> clock_frequencies_khz; // GET CLOCK FREQUENCIES answers, if known
    std::vector<std::uint32_t> data_rates_bps;        // GET DATA RATES answers, if known
};

struct DescribeInput {
    std::string source; // "ccid-dump FILE", "descriptor-hex", "usb 072F:B100"
    std::optional<ccid::DeviceIdentity> identity; // unknown for a bare descriptor
    std::vector<DescribedInterface> interfaces;
    Findings findings; // about the whole source (configuration walk)
};

// Resolvers of the built-in sources (throw UsageError/ConfigError on bad input: exit 2).
DescribeInput describe_ccid_dump(const std::filesystem::path& file);
// 54 CCID descriptor bytes, or a configuration descriptor (09 02 …), optionally preceded by the
// 18-byte device descriptor (12 01 …), as sysfs "descriptors" holds them.
DescribeInput describe_descriptor_hex(const std::string& hex);
// A device found by backends/usb (for `--usb VID:PID`).
DescribeInput describe_usb_device(const model::UsbDevice& device);
// A PC/SC reader by name (or a unique part of it), described through the USB device the inventory
// joins it to (cli/readers.cpp). EnvironmentError when it has no USB view; UsageError when the
// name matches no reader or several.
DescribeInput describe_pcsc_reader(const std::string& name);

enum class Language { En, Ja };
std::string render_text(const DescribeInput& input, Language language = Language::En);
// snake_case, keys shared with cli/json_usb: vid, pid, bcd_device (integers), interfaces[] with
// exchange_level, max_message_length, protocols, slots, features (names), findings, prediction.
nlohmann::json render_json(const DescribeInput& input);

// One "--option VALUE" of describe. Exactly one source must be given.
struct DescribeSource {
    std::string option;     // "--ccid-dump"
    std::string value_name; // "FILE"
    std::string help;
    std::function<DescribeInput(const std::string& value)> resolve;
};
std::vector<DescribeSource> describe_sources();

} // namespace harness::cli
