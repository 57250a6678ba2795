#pragma once
// Which cards a real reader's CCID interface can physically take: reviewed data
// (profiles/readers/card_interfaces.csv), because a CCID descriptor does not say whether a reader
// is contactless, has only a SAM socket, or is a token with its chip built in. An interface that
// matches no row is an ID-1 contact slot, the default most CCID readers fit; callers say so.
#include "pure/ccid.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::survey {

// What goes into the interface.
enum class Socket {
    Contact,               // an ID-1 contact slot (the My Number and Juki cards fit)
    Contactless,           // ISO/IEC 14443 (NFC): a Type B card is read on it
    ContactAndContactless, // both on one CCID interface (slot 0 is what the survey uses)
    Sam,                   // an ID-000 SAM socket only: no ID-1 card fits
    Sim,                   // an ID-000 SIM socket only
    None,                  // a token, key or module with its chip built in: no card goes in
};
const char* to_string(Socket socket); // the CSV spellings: contact, contactless, …, none
std::optional<Socket> socket_from(std::string_view text);

struct InterfaceRule {
    std::uint16_t vendor_id = 0;
    std::uint16_t product_id = 0;
    std::optional<std::uint16_t> bcd_device;      // empty cell: every firmware
    std::optional<std::uint8_t> interface_number; // empty cell: every interface
    Socket takes = Socket::Contact;
    std::string evidence;
    std::string where; // "file:line"
};

// Parses the CSV (header vid,pid,bcd_device,interface,takes,evidence; '#' lines are comments).
// Throws ConfigError "file:line:column: expected …" for a bad cell, a duplicate key or a row
// without evidence.
std::vector<InterfaceRule> parse_card_interfaces(std::string_view text, const std::string& file);
std::vector<InterfaceRule> load_card_interfaces(const std::filesystem::path& file);

// What one interface takes, and why the survey believes it.
struct Physical {
    Socket socket = Socket::Contact;
    bool reviewed = false; // a row matched; false: the default (an ID-1 contact slot)
    std::string evidence;  // the row's evidence, or the default's wording
    std::string where;     // the row's "file:line", empty for the default
    bool contact() const {
        return socket == Socket::Contact || socket == Socket::ContactAndContactless;
    }
    bool contactless() const {
        return socket == Socket::Contactless || socket == Socket::ContactAndContactless;
    }
};

// The most specific row wins: VID:PID + bcdDevice + interface, then + interface, then +
// bcdDevice, then VID:PID alone.
Physical physical_of(const std::vector<InterfaceRule>& rules, const ccid::DeviceIdentity& identity,
                     std::uint8_t interface_number);

} // namespace harness::survey
