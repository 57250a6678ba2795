#pragma once
// One USB device that is (or may be) a smart-card reader, as USB enumeration sees it.
// Plain data: the CCID class descriptor is kept raw (54 bytes); decoding is pure/ccid's job.
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::model {

// A known smart-card reader that is not CCID class (profiles/readers/catalogue.csv).
struct CatalogueEntry {
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::string maker;
    std::string product;
    std::uint8_t interface_class = 0xFF;
    std::string note_en;
    std::string note_ja;
};

struct ReaderCatalogue {
    std::vector<CatalogueEntry> entries;
    const CatalogueEntry* find(std::uint16_t vid, std::uint16_t pid) const;
};

// One reader the installed CCID driver lists in its Info.plist (ifdVendorID/ifdProductID/
// ifdFriendlyName, index-aligned).
struct CcidDriverEntry {
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::string name;
};

struct CcidDriverList {
    std::string source; // the Info.plist path it was read from
    std::vector<CcidDriverEntry> entries;
    const CcidDriverEntry* find(std::uint16_t vid, std::uint16_t pid) const;
};

// One smart-card interface of a device (alternate setting 0 unless only others carry CCID).
struct UsbInterface {
    std::uint8_t number = 0;
    std::uint8_t alternate_setting = 0;
    std::uint8_t interface_class = 0;
    std::uint8_t interface_subclass = 0;
    std::uint8_t interface_protocol = 0;
    std::uint8_t endpoint_count = 0;
    std::optional<std::string> name;          // iInterface string (e.g. "... PICC"), when readable
    std::optional<ccid::Placement> placement; // where the CCID descriptor was; unset: none
    Bytes ccid_descriptor; // the raw class descriptor (normally 54 bytes); empty when none
};

struct UsbDevice {
    std::uint8_t bus = 0;
    std::uint8_t address = 0;
    std::string port_path; // "1-2.3": bus, then the port numbers from the root hub
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::uint16_t bcd_device = 0; // firmware release: results are keyed by vid, pid and this
    std::optional<std::string> manufacturer; // only when readable without claiming anything
    std::optional<std::string> product;
    std::optional<std::string> serial;
    std::vector<UsbInterface> interfaces;    // smart-card interfaces only
    std::optional<CatalogueEntry> catalogue; // set when the catalogue lists this VID:PID
    std::string listed_because;              // why enumeration kept it, e.g. "CCID class interface"
    std::optional<bool> listed_by_ccid_driver;   // unset when the driver's Info.plist was not read
    std::optional<std::string> ccid_driver_name; // the driver's friendly name when listed
};

// "072F:B100" (upper-case hex), as the CCID driver's lists and `lsusb` print them.
std::string vid_pid_string(std::uint16_t vid, std::uint16_t pid);

} // namespace harness::model
