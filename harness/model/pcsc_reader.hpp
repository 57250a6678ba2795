#pragma once
// One PC/SC reader as pcsc-lite reports it: its state, the card's ATR, and what the driver tells
// about the reader (SCardGetAttrib, PC/SC part 10 features and TLV properties). Plain data; a
// query that failed is kept with its reason (a missing attribute is a fact for the report).
#include "pure/bytes.hpp"
#include "pure/finding.hpp"
#include "pure/pcsc_features.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::model {

// SCardGetStatusChange dwEventState, decoded (pcsclite.h SCARD_STATE_*); raw keeps every bit.
struct PcscReaderState {
    bool present = false;     // a card is in the reader
    bool empty = false;       // no card
    bool exclusive = false;   // someone holds the card exclusively
    bool in_use = false;      // someone holds the card shared
    bool mute = false;        // the card did not answer the reset (no valid ATR)
    bool unpowered = false;   // the card is not powered
    bool unavailable = false; // the reader's state cannot be read
    bool unknown = false;     // the reader name is unknown to pcscd
    std::uint32_t raw = 0;
    std::uint32_t event_count = 0; // pcsc-lite: card insert/remove counter (high 16 bits)
};

// Why one query failed: which query, which PC/SC call, its raw code and message.
struct PcscQueryFailure {
    std::string query;     // e.g. "SCARD_ATTR_VENDOR_NAME", "FEATURE_GET_TLV_PROPERTIES", "connect"
    std::string call;      // e.g. "SCardGetAttrib"
    long raw_code = 0;     // e.g. 0x8010001F
    std::string code_name; // e.g. "SCARD_E_UNSUPPORTED_FEATURE"
    std::string message;   // pcsc_stringify_error text
};

struct PcscReader {
    std::string name; // as SCardListReaders gives it, e.g. "Virtual PCD 00 00"
    PcscReaderState state;
    Bytes atr; // empty when no card (or a mute one)

    // How the attributes were read: "shared" (card present), "direct" (no card), or "none".
    std::string access;
    std::optional<std::string> protocol; // "T=0" / "T=1" / "raw" when a card was connected

    // SCardGetAttrib (reader.h SCARD_ATTR_*; domain.md §10).
    std::optional<std::string> vendor_name;          // SCARD_ATTR_VENDOR_NAME (USB iManufacturer)
    std::optional<std::string> vendor_ifd_type;      // SCARD_ATTR_VENDOR_IFD_TYPE (iProduct)
    std::optional<std::uint32_t> vendor_ifd_version; // 0xMMmmbbbb; CCID: bcdDevice << 16
    std::optional<std::string> vendor_ifd_serial;    // SCARD_ATTR_VENDOR_IFD_SERIAL_NO
    std::optional<std::uint32_t> channel_id;         // 0x0020BBAA for USB bus BB, address AA
    std::optional<std::uint32_t>
        max_input; // SCARD_ATTR_MAXINPUT (CCID: dwMaxCCIDMessageLength - 10)

    // PC/SC part 10: CM_IOCTL_GET_FEATURE_REQUEST and FEATURE_GET_TLV_PROPERTIES.
    std::optional<std::vector<pcsc::Feature>> features; // unset when the request failed
    std::optional<pcsc::TlvProperties> tlv_properties;  // unset when absent or failed

    std::vector<PcscQueryFailure> failures;
    Findings findings; // from the feature / TLV parsers

    // USB bus and address from channel_id when it has the USB channel type (0x0020).
    std::optional<std::uint8_t> usb_bus() const {
        if (!channel_id || (*channel_id >> 16) != 0x0020)
            return std::nullopt;
        return static_cast<std::uint8_t>((*channel_id >> 8) & 0xFF);
    }
    std::optional<std::uint8_t> usb_address() const {
        if (!channel_id || (*channel_id >> 16) != 0x0020)
            return std::nullopt;
        return static_cast<std::uint8_t>(*channel_id & 0xFF);
    }
};

} // namespace harness::model
