#include "pure/usb_descriptors.hpp"

#include <fmt/core.h>
#include <map>

namespace harness::usbdesc {
namespace {

void put16(Bytes& out, unsigned value) {
    out.push_back(static_cast<std::uint8_t>(value & 0xFFU));
    out.push_back(static_cast<std::uint8_t>((value >> 8) & 0xFFU));
}

Bytes endpoint_descriptor(const Endpoint& e) {
    Bytes out{7, type_endpoint, e.address, static_cast<std::uint8_t>(e.transfer)};
    put16(out, e.max_packet_size);
    out.push_back(e.interval);
    return out;
}

std::string sysfs_escape(const std::string& text) {
    std::string out;
    for (char c : text)
        out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
}

} // namespace

std::uint8_t Device::string_index_of_interface(std::size_t position) const {
    std::uint8_t next = 4;
    for (std::size_t i = 0; i < interfaces.size(); ++i) {
        const bool named = interfaces[i].info.name.has_value();
        if (i == position)
            return named ? next : 0;
        if (named)
            ++next;
    }
    return 0;
}

std::vector<Endpoint> ccid_endpoints(std::size_t interface_position, std::uint8_t count) {
    std::vector<Endpoint> out;
    for (std::uint8_t e = 0; e < count; ++e) {
        const auto number = static_cast<std::uint8_t>((interface_position * 3 + e) % 15 + 1);
        const bool interrupt = e == 2;
        const bool in = e != 1;
        Endpoint ep;
        ep.address = static_cast<std::uint8_t>(number | (in ? 0x80U : 0x00U));
        ep.transfer = interrupt ? Transfer::Interrupt : Transfer::Bulk;
        ep.max_packet_size = interrupt ? 16 : 64;
        ep.interval = interrupt ? 0x10 : 0x00;
        out.push_back(ep);
    }
    return out;
}

Bytes device_descriptor(const Device& device) {
    const auto& id = device.identity;
    Bytes out{18, type_device};
    put16(out, device.bcd_usb);
    out.insert(out.end(), {0, 0, 0, device.max_packet_size0});
    put16(out, id.vendor_id);
    put16(out, id.product_id);
    put16(out, id.bcd_device);
    out.insert(out.end(), {static_cast<std::uint8_t>(id.manufacturer ? 1 : 0),
                           static_cast<std::uint8_t>(id.product ? 2 : 0),
                           static_cast<std::uint8_t>(device.serial ? 3 : 0), 1});
    return out;
}

Bytes configuration_descriptor(const Device& device) {
    Bytes body;
    for (std::size_t i = 0; i < device.interfaces.size(); ++i) {
        const auto& iface = device.interfaces[i];
        const auto& info = iface.info;
        // USB 2.0 §9.6.5; bNumEndpoints is what the endpoints list holds
        body.insert(body.end(),
                    {9, type_interface, info.number, info.alternate_setting,
                     static_cast<std::uint8_t>(iface.endpoints.size()), info.interface_class,
                     info.subclass, info.protocol, device.string_index_of_interface(i)});
        const Bytes ccid_bytes = iface.ccid ? ccid::encode(*iface.ccid) : Bytes{};
        const bool after =
            iface.placement == ccid::Placement::AfterEndpoints && !iface.endpoints.empty();
        if (!after)
            body.insert(body.end(), ccid_bytes.begin(), ccid_bytes.end());
        for (const auto& e : iface.endpoints) {
            const Bytes ep = endpoint_descriptor(e);
            body.insert(body.end(), ep.begin(), ep.end());
        }
        if (after)
            body.insert(body.end(), ccid_bytes.begin(), ccid_bytes.end());
    }
    // USB 2.0 §9.6.3: bus powered (bmAttributes 0x80)
    Bytes out{9, type_configuration};
    put16(out, static_cast<unsigned>(9 + body.size()));
    out.insert(out.end(), {static_cast<std::uint8_t>(device.interfaces.size()), 1, 0, 0x80,
                           device.max_power_2ma});
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

Bytes descriptors(const Device& device) {
    Bytes out = device_descriptor(device);
    const Bytes config = configuration_descriptor(device);
    out.insert(out.end(), config.begin(), config.end());
    return out;
}

std::optional<Bytes> string_descriptor(const Device& device, std::uint8_t index) {
    if (index == 0) {
        Bytes out{4, type_string};
        put16(out, language_en_us);
        return out;
    }
    std::optional<std::string> text;
    if (index == 1)
        text = device.identity.manufacturer;
    else if (index == 2)
        text = device.identity.product;
    else if (index == 3)
        text = device.serial;
    else
        for (std::size_t i = 0; i < device.interfaces.size(); ++i)
            if (device.string_index_of_interface(i) == index)
                text = device.interfaces[i].info.name;
    if (!text)
        return std::nullopt;
    // UTF-16LE of the (ASCII) text; a descriptor holds at most 126 characters
    const std::size_t n = std::min<std::size_t>(text->size(), 126);
    Bytes out{static_cast<std::uint8_t>(2 + 2 * n), type_string};
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>((*text)[i]);
        out.push_back(c < 0x80 ? c : static_cast<std::uint8_t>('?'));
        out.push_back(0);
    }
    return out;
}

bool puts_descriptor_after_endpoints(std::uint16_t vid, std::uint16_t pid) {
    return (vid == 0x0B97 && (pid == 0x7762 || pid == 0x7772)) ||
           (vid == 0x0C4B && pid == 0x0300) || (vid == 0x1B0E && pid == 0x1078);
}

Device from_dump(const ccid::Dump& dump, std::optional<std::string> serial) {
    Device device;
    device.serial = std::move(serial);
    if (dump.blocks.empty())
        return device;
    device.identity = dump.blocks.front().identity;
    std::map<std::uint8_t, const ccid::DumpBlock*> by_number;
    for (const auto& block : dump.blocks)
        by_number.emplace(block.interface.number, &block);
    const bool after =
        puts_descriptor_after_endpoints(device.identity.vendor_id, device.identity.product_id);
    for (const auto& [number, block] : by_number) {
        Interface iface;
        iface.info = block->interface;
        iface.ccid = block->descriptor;
        iface.placement = after ? ccid::Placement::AfterEndpoints : ccid::Placement::InterfaceExtra;
        iface.endpoints = ccid_endpoints(device.interfaces.size(), block->interface.num_endpoints);
        device.interfaces.push_back(std::move(iface));
    }
    return device;
}

std::string Location::port_path() const {
    return port.empty() ? std::to_string(address) : port;
}

std::string Location::sysfs_path() const {
    return fmt::format("/devices/pci0000:00/0000:00:14.0/usb{}/{}-{}", bus, bus, port_path());
}

std::string Location::interface_sysfs_path(std::uint8_t number) const {
    return fmt::format("{}/{}-{}:1.{}", sysfs_path(), bus, port_path(), number);
}

std::string Location::device_node() const {
    return fmt::format("/dev/bus/usb/{:03}/{:03}", bus, address);
}

std::string umockdev_description(const Device& device, const Location& location, bool device_node) {
    const auto& id = device.identity;
    const auto hex_all = hex::format(descriptors(device), hex::Style::Packed);
    const std::string node = location.device_node().substr(5); // without "/dev/"
    const unsigned minor = (location.bus - 1) * 128 + (location.address - 1);

    std::string out;
    out += fmt::format("P: {}\n", location.sysfs_path());
    if (device_node)
        out += fmt::format("N: {}={}\n", node, hex_all);
    out += fmt::format("E: DEVNAME=/dev/{}\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n", node);
    out += fmt::format("E: PRODUCT={:x}/{:x}/{:x}\nE: TYPE=0/0/0\n", id.vendor_id, id.product_id,
                       id.bcd_device);
    out += fmt::format("E: BUSNUM={:03}\nE: DEVNUM={:03}\nE: MAJOR=189\nE: MINOR={}\n",
                       location.bus, location.address, minor);
    out += "E: SUBSYSTEM=usb\n";
    out += fmt::format("E: ID_VENDOR_ID={:04x}\nE: ID_MODEL_ID={:04x}\nE: ID_REVISION={:04x}\n",
                       id.vendor_id, id.product_id, id.bcd_device);
    if (device.serial)
        out += fmt::format("E: ID_SERIAL_SHORT={}\n", sysfs_escape(*device.serial));
    out += "A: authorized=1\nA: bConfigurationValue=1\nA: bDeviceClass=00\n"
           "A: bDeviceProtocol=00\nA: bDeviceSubClass=00\n";
    out += fmt::format("A: bMaxPacketSize0={}\n", device.max_packet_size0);
    out += "A: bMaxPower=100mA\nA: bNumConfigurations=1\n";
    out += fmt::format("A: bNumInterfaces={:2}\n", device.interfaces.size());
    out += fmt::format("A: bcdDevice={:04x}\nA: bmAttributes=80\nA: busnum={}\n", id.bcd_device,
                       location.bus);
    out += fmt::format("H: descriptors={}\n", hex_all);
    out += fmt::format("A: dev=189:{}\nA: devnum={}\nA: devpath={}\n", minor, location.address,
                       location.port_path());
    out += fmt::format("A: idProduct={:04x}\nA: idVendor={:04x}\n", id.product_id, id.vendor_id);
    if (id.manufacturer)
        out += fmt::format("A: manufacturer={}\n", sysfs_escape(*id.manufacturer));
    out += "A: maxchild=0\n";
    if (id.product)
        out += fmt::format("A: product={}\n", sysfs_escape(*id.product));
    if (device.serial)
        out += fmt::format("A: serial={}\n", sysfs_escape(*device.serial));
    out += "A: speed=12\nA: version= 2.00\n\n";
    // The interfaces as the kernel lists them (bus-port:config.interface).
    for (std::size_t i = 0; i < device.interfaces.size(); ++i) {
        const auto& iface = device.interfaces[i];
        const auto& info = iface.info;
        out += fmt::format("P: {}\n", location.interface_sysfs_path(info.number));
        out += "E: DEVTYPE=usb_interface\nE: SUBSYSTEM=usb\n";
        out += fmt::format("E: INTERFACE={}/{}/{}\n", info.interface_class, info.subclass,
                           info.protocol);
        out += fmt::format("A: bAlternateSetting={:2}\nA: bInterfaceClass={:02x}\n",
                           info.alternate_setting, info.interface_class);
        out += fmt::format("A: bInterfaceNumber={:02x}\nA: bInterfaceProtocol={:02x}\n",
                           info.number, info.protocol);
        out += fmt::format("A: bInterfaceSubClass={:02x}\nA: bNumEndpoints={:02x}\n", info.subclass,
                           iface.endpoints.size());
        if (info.name && device.string_index_of_interface(i) != 0)
            out += fmt::format("A: interface={}\n", sysfs_escape(*info.name));
        out += "\n";
    }
    return out;
}

} // namespace harness::usbdesc
