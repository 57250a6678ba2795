#pragma once
// A USB CCID device as an emulator serves it: device, configuration, interface, endpoint and
// string descriptors (USB 2.0 §9.6) with the 54-byte CCID class descriptor (CCID rev 1.1 §5.1),
// and the umockdev device description (sysfs attributes + the "descriptors" file) that makes
// libusb and libudev see it. Pure: no I/O. Used by the lab's USB readers (backends/umockdev) and
// by the test fixture builder (tests/tools/umockdev_fixture.cpp).
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "pure/ccid_dump.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::usbdesc {

inline constexpr std::uint8_t type_device = 0x01;
inline constexpr std::uint8_t type_configuration = 0x02;
inline constexpr std::uint8_t type_string = 0x03;
inline constexpr std::uint8_t type_interface = 0x04;
inline constexpr std::uint8_t type_endpoint = 0x05;
inline constexpr std::uint16_t language_en_us = 0x0409;

enum class Transfer : std::uint8_t { Control = 0, Isochronous = 1, Bulk = 2, Interrupt = 3 };

// USB 2.0 §9.6.6.
struct Endpoint {
    std::uint8_t address = 0; // bit 7 set: IN
    Transfer transfer = Transfer::Bulk;
    std::uint16_t max_packet_size = 64;
    std::uint8_t interval = 0;
    bool in() const { return (address & 0x80U) != 0; }
};

struct Interface {
    ccid::InterfaceInfo info; // number, class, protocol, bNumEndpoints, name (iInterface text)
    std::optional<ccid::Descriptor> ccid;
    ccid::Placement placement = ccid::Placement::InterfaceExtra; // or AfterEndpoints
    std::vector<Endpoint> endpoints;                             // info.num_endpoints of them
};

// Strings are indexed 1 manufacturer, 2 product, 3 serial, 4.. interface names (0 when absent).
struct Device {
    ccid::DeviceIdentity identity;
    std::optional<std::string> serial;
    std::vector<Interface> interfaces;
    std::uint16_t bcd_usb = 0x0200;
    std::uint8_t max_packet_size0 = 64;
    std::uint8_t max_power_2ma = 50; // bMaxPower in 2 mA units

    std::uint8_t string_index_of_interface(std::size_t position) const;
};

// The CCID endpoints a reader usually has, numbered as the dumps' readers do: bulk IN
// (0x81 + 3i), bulk OUT (0x02 + 3i), interrupt IN (0x83 + 3i); `count` of them (2 = no
// interrupt endpoint, the reader cannot signal card changes).
std::vector<Endpoint> ccid_endpoints(std::size_t interface_position, std::uint8_t count = 3);

Bytes device_descriptor(const Device& device); // 18 bytes
Bytes configuration_descriptor(
    const Device& device); // with interfaces, CCID descriptors, endpoints
// Device + configuration descriptor: the sysfs "descriptors" attribute libusb reads.
Bytes descriptors(const Device& device);
// GET_DESCRIPTOR(STRING): index 0 = the language list; nullopt when the index names nothing.
std::optional<Bytes> string_descriptor(const Device& device, std::uint8_t index);

// A reader built from one interface block of a CCID driver `parse` dump: its VID, PID,
// bcdDevice, strings and CCID descriptor; endpoints synthesized (the dumps do not carry them).
// Interfaces: every distinct bInterfaceNumber of the dump, in order.
Device from_dump(const ccid::Dump& dump, std::optional<std::string> serial);
// Readers known to put the CCID descriptor after the last endpoint (the CCID driver's
// O2MICRO_OZ776_PATCH: OZ776, Reiner SCT, Bludrive II).
bool puts_descriptor_after_endpoints(std::uint16_t vendor_id, std::uint16_t product_id);

// Where the device sits on the emulated bus.
struct Location {
    unsigned bus = 1;
    unsigned address = 2;
    std::string port; // port path below the root hub ("3", "1.4"); empty: the address
    std::string port_path() const;
    std::string sysfs_path() const; // /devices/pci0000:00/0000:00:14.0/usb1/1-3
    std::string interface_sysfs_path(std::uint8_t number) const; // .../1-3/1-3:1.0
    std::string device_node() const;                             // /dev/bus/usb/001/003
};

// umockdev_testbed_add_from_string() text: the usb_device with its attributes and descriptors,
// then one usb_interface child per interface (what pcscd's libudev hotplug looks for). With
// `device_node`, umockdev creates the node (a regular file holding the descriptors); without,
// the caller provides it (DEVNAME still names it).
std::string umockdev_description(const Device& device, const Location& location,
                                 bool device_node = true);

} // namespace harness::usbdesc
