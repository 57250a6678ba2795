#pragma once
// Virtual lab reader models: a fictitious USB CCID reader with the quirks a PC/SC application
// sees (interfaces, exchange level, message size, Le=00, chaining bugs, PPS, waiting-time
// extension, latency, flaky contacts). Loaded from profiles/readers/*.csv (see its README.md).
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "pure/ccid_dump.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::lab {

// How a card is presented to a reader (the slot's interface in a lab file).
enum class Interface { Contact, TypeA, TypeB };
const char* to_string(Interface interface); // "contact", "type_a", "type_b"
std::optional<Interface> interface_from_string(std::string_view name);

// CCID §5.1 dwFeatures exchange level, as far as the lab models it.
enum class Exchange { Tpdu, ShortApdu, ExtendedApdu };
const char* to_string(Exchange exchange); // "tpdu", "short_apdu", "extended_apdu"

// Who does the PPS exchange after an ATR with TA1 other than 11 (ISO 7816-3 §9).
enum class Pps {
    Automatic, // the reader firmware (CCID dwFeatures 0x80)
    Driver,    // the host driver sends PPS (the CCID driver's IFDHSetProtocolParameters)
    None,      // nobody can: a card that needs TA1 fails to connect
};
const char* to_string(Pps pps); // "auto", "driver", "none"

// What the reader does with a short Le of 00 (= Ne 256, ISO 7816-4 §5.1).
enum class LeZero { Pass, Reject };
const char* to_string(LeZero le_zero); // "pass", "reject"

struct UsbIdentity {
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::uint16_t bcd_device = 0;
    std::string manufacturer;
    std::string product;
    std::string serial;
};

struct ReaderModel {
    std::string id; // e.g. "lab-short-261"
    UsbIdentity usb;
    bool contact = true;
    bool type_a = false;
    bool type_b = false;
    Exchange exchange = Exchange::Tpdu;
    std::uint32_t max_message_length = 271; // CCID dwMaxCCIDMessageLength
    bool t0 = true;
    bool t1 = true;
    Pps pps = Pps::Driver;
    LeZero le_zero = LeZero::Pass;
    // Extended readers chain long messages (CCID §6.1.4 bChainParameter); firmware corrupts
    // commands or responses longer than this many bytes (nullopt: chaining works).
    std::optional<std::size_t> chain_corrupt_above;
    bool wtx = true; // honours waiting-time extensions (ISO 7816-3 §11.4.3)
    std::chrono::milliseconds timeout{10000}; // gives up after this without WTX
    std::chrono::microseconds latency{0};     // added to every exchange
    std::uint32_t flaky_every = 0;            // every n-th transmit the card bounces (0: never)
    std::string notes;                        // one line: why this model exists
    // A model that wears a real reader's identity: the first CCID interface of a CCID driver
    // `parse` dump (descriptor_dump column). Its VID, PID, bcdDevice, strings and CCID descriptor
    // come from the dump, exactly; exchange, max_message_length and protocols are derived from it.
    std::optional<ccid::DumpBlock> dump;
    std::string dump_file; // as written in the CSV cell

    bool supports(Interface interface) const;
    // Largest command or response one CCID message carries (dwMaxCCIDMessageLength - 10).
    std::size_t max_block() const;
    // dwFeatures consistent with the quirks (exchange level, automatic PPS, ...).
    std::uint32_t ccid_features() const;
    ccid::Descriptor ccid_descriptor() const;
    // PC/SC part 10 §2.6.14 dwMaxAPDUDataSize: 0 = short APDUs only.
    std::uint32_t max_apdu_data_size() const;
    std::string interfaces_text() const; // "contact+type_b"
};

// Loads one CSV file (header + one row per model). Throws ConfigError "file:line:column: expected
// …".
std::vector<ReaderModel> load_reader_models(const std::filesystem::path& file);
// Every lab_*.csv file in a directory (profiles/readers also holds the real-reader catalogue),
// sorted by file name; ids must be unique across files.
std::vector<ReaderModel> load_reader_model_dir(const std::filesystem::path& dir);
const ReaderModel* find_model(const std::vector<ReaderModel>& models, std::string_view id);

} // namespace harness::lab
