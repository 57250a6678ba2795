// umockdev_fixture: turns a CCID driver `parse` dump into a umockdev device file, so libusb (and
// so `cardharness`) enumerates the reader under `umockdev-run -d FILE -- prog` with the sysfs
// `descriptors` attribute holding device + configuration descriptors (USB 2.0 §9.6) and the
// 54-byte CCID class descriptor re-encoded from the dump values (CCID §5.1).
#include "pure/bytes.hpp"
#include "pure/ccid.hpp"
#include "pure/ccid_dump.hpp"
#include "pure/error.hpp"
#include "pure/usb_descriptors.hpp"

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
        usbdesc::Device device = usbdesc::from_dump(
            dump, o.serial.empty() ? std::nullopt : std::optional<std::string>(o.serial));
        if (o.placement != "auto")
            for (auto& iface : device.interfaces)
                iface.placement = o.placement == "after-endpoints"
                                      ? ccid::Placement::AfterEndpoints
                                      : ccid::Placement::InterfaceExtra;
        usbdesc::Location location;
        location.bus = o.bus;
        location.address = o.address;
        location.port = o.port;
        const std::string out = usbdesc::umockdev_description(device, location);

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
