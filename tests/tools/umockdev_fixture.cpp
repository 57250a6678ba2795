// umockdev_fixture: turns a CCID driver `parse` dump into a umockdev device file, so libusb (and
// so `cardharness`) enumerates the reader under `umockdev-run -d FILE -- prog` with the sysfs
// `descriptors` attribute holding device + configuration descriptors (USB 2.0 §9.6) and the
// 54-byte CCID class descriptor re-encoded from the dump values (CCID §5.1).
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "pure/ccid_dump.hpp"
#include "pure/error.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/core.h>
#include <fmt/os.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

using namespace harness;

namespace {

enum class Where { Auto, Interface, AfterEndpoints };

// Readers that put the CCID descriptor after the last endpoint (the CCID driver's
// O2MICRO_OZ776_PATCH comment names the OZ776, the Reiner SCT and the bludrive II).
bool puts_descriptor_after_endpoints(std::uint16_t vid, std::uint16_t pid) {
    return (vid == 0x0B97 && (pid == 0x7762 || pid == 0x7772)) ||
           (vid == 0x0C4B && pid == 0x0300) || (vid == 0x1B0E && pid == 0x1078);
}

void put16(Bytes& out, unsigned value) {
    out.push_back(static_cast<std::uint8_t>(value & 0xFF));
    out.push_back(static_cast<std::uint8_t>((value >> 8) & 0xFF));
}

struct Options {
    std::string dump;
    unsigned bus = 1;
    unsigned address = 2;
    std::string port; // defaults to the address
    std::string serial;
    std::string placement = "auto";
    std::string output;
    std::string vendor_class; // VID:PID of a reader without CCID descriptor (catalogue readers)
    std::string manufacturer;
    std::string product;
    unsigned bcd_device = 0x0100;
};

// A device with one vendor-class interface and two bulk endpoints, no CCID descriptor: how
// non-CCID readers such as Sony's RC-S380 look on the bus.
ccid::Dump vendor_class_device(const Options& o) {
    unsigned vid = 0;
    unsigned pid = 0;
    char colon = 0;
    std::istringstream in(o.vendor_class);
    if (!(in >> std::hex >> vid >> colon >> pid) || colon != ':' || vid > 0xFFFF || pid > 0xFFFF)
        throw UsageError("--vendor-class: expected VID:PID in hex, e.g. 054C:06C1");
    ccid::DumpBlock block;
    block.identity.vendor_id = static_cast<std::uint16_t>(vid);
    block.identity.product_id = static_cast<std::uint16_t>(pid);
    block.identity.bcd_device = static_cast<std::uint16_t>(o.bcd_device);
    if (!o.manufacturer.empty())
        block.identity.manufacturer = o.manufacturer;
    if (!o.product.empty())
        block.identity.product = o.product;
    block.interface.interface_class = ccid::interface_class_vendor;
    block.interface.num_endpoints = 2;
    ccid::Dump dump;
    dump.file = "--vendor-class " + o.vendor_class;
    dump.blocks.push_back(block);
    return dump;
}

// USB 2.0 §9.6.6 endpoint descriptors as parse describes them: bulk-IN, bulk-OUT, interrupt-IN.
Bytes endpoints(std::size_t interface_index, std::uint8_t count) {
    Bytes out;
    for (std::uint8_t e = 0; e < count; ++e) {
        const auto number = static_cast<std::uint8_t>((interface_index * 3 + e) % 15 + 1);
        const bool interrupt = e == 2;
        const bool in = e != 1;
        out.insert(out.end(), {7, 0x05, static_cast<std::uint8_t>(number | (in ? 0x80 : 0x00)),
                               static_cast<std::uint8_t>(interrupt ? 0x03 : 0x02)});
        put16(out, interrupt ? 16 : 64);
        out.push_back(interrupt ? 0x10 : 0x00);
    }
    return out;
}

std::string sysfs_escape(const std::string& text) {
    std::string out;
    for (char c : text)
        out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"Build a umockdev device file from a CCID driver parse dump", "umockdev_fixture"};
    auto* dump_option =
        app.add_option("dump", o.dump, "parse dump (../shared/data/ccid-readers/NAME.txt)")
            ->check(CLI::ExistingFile);
    auto* vendor_option = app.add_option("--vendor-class", o.vendor_class,
                                         "instead of a dump: a vendor-class reader VID:PID");
    dump_option->excludes(vendor_option);
    app.add_option("--manufacturer", o.manufacturer, "iManufacturer (with --vendor-class)");
    app.add_option("--product", o.product, "iProduct (with --vendor-class)");
    app.add_option("--bcd-device", o.bcd_device, "bcdDevice (with --vendor-class)");
    app.add_option("--bus", o.bus, "USB bus number")->check(CLI::Range(1, 127));
    app.add_option("--address", o.address, "USB device address")->check(CLI::Range(2, 127));
    app.add_option("--port", o.port,
                   "port path below the root hub, e.g. 3 or 1.4 (default: "
                   "the address)");
    app.add_option("--serial", o.serial, "iSerialNumber string (default: none)");
    app.add_option("--placement", o.placement,
                   "where the CCID descriptor goes: auto (as the real reader does), interface, "
                   "after-endpoints")
        ->check(CLI::IsMember({"auto", "interface", "after-endpoints"}));
    app.add_option("-o,--output", o.output, "output file (default: standard output)");
    CLI11_PARSE(app, argc, argv);

    try {
        if (o.dump.empty() == o.vendor_class.empty())
            throw UsageError("give a parse dump file or --vendor-class VID:PID");
        ccid::Dump dump;
        if (!o.dump.empty()) {
            std::ifstream in(o.dump, std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            dump = ccid::parse_dump(text.str(), o.dump);
        } else {
            dump = vendor_class_device(o);
        }
        if (dump.blocks.empty())
            throw ConfigError(o.dump + ":1:1: expected at least one interface block");
        const auto& id = dump.blocks.front().identity;

        // One interface per distinct bInterfaceNumber (the first block that names it).
        std::map<std::uint8_t, const ccid::DumpBlock*> by_number;
        for (const auto& block : dump.blocks)
            by_number.emplace(block.interface.number, &block);

        const bool after =
            o.placement == "after-endpoints" ||
            (o.placement == "auto" && puts_descriptor_after_endpoints(id.vendor_id, id.product_id));
        Bytes interfaces;
        std::size_t index = 0;
        std::uint8_t next_string = 4;
        std::vector<std::pair<const ccid::DumpBlock*, std::uint8_t>> interface_strings;
        for (const auto& [number, block] : by_number) {
            const auto& info = block->interface;
            const std::uint8_t string_index = info.name ? next_string++ : 0;
            interface_strings.emplace_back(block, string_index);
            // USB 2.0 §9.6.5 interface descriptor
            interfaces.insert(interfaces.end(),
                              {9, 0x04, info.number, info.alternate_setting, info.num_endpoints,
                               info.interface_class, info.subclass, info.protocol, string_index});
            const Bytes ccid_bytes = block->descriptor ? ccid::encode(*block->descriptor) : Bytes{};
            const Bytes eps = endpoints(index++, info.num_endpoints);
            const bool here = !after || info.num_endpoints == 0;
            if (here)
                interfaces.insert(interfaces.end(), ccid_bytes.begin(), ccid_bytes.end());
            interfaces.insert(interfaces.end(), eps.begin(), eps.end());
            if (!here)
                interfaces.insert(interfaces.end(), ccid_bytes.begin(), ccid_bytes.end());
        }
        // USB 2.0 §9.6.3 configuration descriptor
        Bytes config{9, 0x02};
        put16(config, static_cast<unsigned>(9 + interfaces.size()));
        config.insert(config.end(), {static_cast<std::uint8_t>(by_number.size()), 1, 0, 0x80, 50});
        config.insert(config.end(), interfaces.begin(), interfaces.end());
        // USB 2.0 §9.6.1 device descriptor
        Bytes device{18, 0x01};
        put16(device, 0x0200);
        device.insert(device.end(), {0, 0, 0, 64});
        put16(device, id.vendor_id);
        put16(device, id.product_id);
        put16(device, id.bcd_device);
        device.insert(device.end(), {static_cast<std::uint8_t>(id.manufacturer ? 1 : 0),
                                     static_cast<std::uint8_t>(id.product ? 2 : 0),
                                     static_cast<std::uint8_t>(o.serial.empty() ? 0 : 3), 1});
        Bytes descriptors = device;
        descriptors.insert(descriptors.end(), config.begin(), config.end());
        const auto hex_all = hex::format(descriptors, hex::Style::Packed);

        const std::string port = o.port.empty() ? std::to_string(o.address) : o.port;
        const std::string name = fmt::format("{}-{}", o.bus, port);
        const std::string sys =
            fmt::format("/devices/pci0000:00/0000:00:14.0/usb{}/{}", o.bus, name);
        const std::string node = fmt::format("bus/usb/{:03}/{:03}", o.bus, o.address);
        const unsigned minor = (o.bus - 1) * 128 + (o.address - 1);

        std::string out;
        out += fmt::format("P: {}\n", sys);
        out += fmt::format("N: {}={}\n", node, hex_all);
        out += fmt::format("E: DEVNAME=/dev/{}\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n", node);
        out += fmt::format("E: PRODUCT={:x}/{:x}/{:x}\nE: TYPE=0/0/0\n", id.vendor_id,
                           id.product_id, id.bcd_device);
        out += fmt::format("E: BUSNUM={:03}\nE: DEVNUM={:03}\nE: MAJOR=189\nE: MINOR={}\n", o.bus,
                           o.address, minor);
        out += "E: SUBSYSTEM=usb\n";
        out += fmt::format("E: ID_VENDOR_ID={:04x}\nE: ID_MODEL_ID={:04x}\nE: ID_REVISION={:04x}\n",
                           id.vendor_id, id.product_id, id.bcd_device);
        out += "A: authorized=1\nA: bConfigurationValue=1\nA: bDeviceClass=00\n"
               "A: bDeviceProtocol=00\nA: bDeviceSubClass=00\nA: bMaxPacketSize0=64\n"
               "A: bMaxPower=100mA\nA: bNumConfigurations=1\n";
        out += fmt::format("A: bNumInterfaces={:2}\n", by_number.size());
        out += fmt::format("A: bcdDevice={:04x}\nA: bmAttributes=80\nA: busnum={}\n", id.bcd_device,
                           o.bus);
        out += fmt::format("H: descriptors={}\n", hex_all);
        out += fmt::format("A: dev=189:{}\nA: devnum={}\nA: devpath={}\n", minor, o.address, port);
        out +=
            fmt::format("A: idProduct={:04x}\nA: idVendor={:04x}\n", id.product_id, id.vendor_id);
        if (id.manufacturer)
            out += fmt::format("A: manufacturer={}\n", sysfs_escape(*id.manufacturer));
        out += "A: maxchild=0\n";
        if (id.product)
            out += fmt::format("A: product={}\n", sysfs_escape(*id.product));
        if (!o.serial.empty())
            out += fmt::format("A: serial={}\n", sysfs_escape(o.serial));
        out += "A: speed=12\nA: version= 2.00\n\n";
        // The interfaces as the kernel lists them (bus-port:config.interface).
        for (const auto& [block, string_index] : interface_strings) {
            const auto& info = block->interface;
            out += fmt::format("P: {}/{}:1.{}\n", sys, name, info.number);
            out += "E: DEVTYPE=usb_interface\nE: SUBSYSTEM=usb\n";
            out += fmt::format("E: INTERFACE={}/{}/{}\n", info.interface_class, info.subclass,
                               info.protocol);
            out += fmt::format("A: bAlternateSetting={:2}\nA: bInterfaceClass={:02x}\n",
                               info.alternate_setting, info.interface_class);
            out += fmt::format("A: bInterfaceNumber={:02x}\nA: bInterfaceProtocol={:02x}\n",
                               info.number, info.protocol);
            out += fmt::format("A: bInterfaceSubClass={:02x}\nA: bNumEndpoints={:02x}\n",
                               info.subclass, info.num_endpoints);
            if (info.name && string_index)
                out += fmt::format("A: interface={}\n", sysfs_escape(*info.name));
            out += "\n";
        }

        if (o.output.empty()) {
            std::fwrite(out.data(), 1, out.size(), stdout);
        } else {
            std::ofstream file(o.output, std::ios::binary);
            file << out;
            if (!file)
                throw EnvironmentError("cannot write " + o.output);
        }
    } catch (const UsageError& e) {
        fmt::print(stderr, "umockdev_fixture: {}\n", e.what());
        return exit_code::usage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "umockdev_fixture: {}\n", e.what());
        return exit_code::failure;
    }
    return 0;
}
