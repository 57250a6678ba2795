#include "backends/usb/usb.hpp"

#include "pure/ccid.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <fstream>
#include <libusb.h>
#include <memory>
#include <string>

namespace harness::usb {
namespace {

struct ContextDeleter {
    void operator()(libusb_context* context) const { libusb_exit(context); }
};
struct ListDeleter {
    void operator()(libusb_device** list) const { libusb_free_device_list(list, 1); }
};
struct ConfigDeleter {
    void operator()(libusb_config_descriptor* config) const {
        libusb_free_config_descriptor(config);
    }
};
struct HandleDeleter {
    void operator()(libusb_device_handle* handle) const { libusb_close(handle); }
};

ByteView view(const unsigned char* data, int length) {
    if (!data || length <= 0)
        return {};
    return {data, static_cast<std::size_t>(length)};
}

std::string port_path(libusb_device* device) {
    std::uint8_t ports[8] = {};
    const int count = libusb_get_port_numbers(device, ports, sizeof ports);
    std::string path = fmt::format("{}", libusb_get_bus_number(device));
    if (count <= 0)
        return "usb" + path; // a root hub
    for (int i = 0; i < count; ++i)
        path += fmt::format("{}{}", i == 0 ? '-' : '.', ports[i]);
    return path;
}

// Linux keeps the device's strings in sysfs, readable by anyone while pcscd holds the device.
std::optional<std::string> sysfs_string(const std::string& port, const char* attribute) {
    std::ifstream in("/sys/bus/usb/devices/" + port + "/" + attribute);
    std::string value;
    if (!in || !std::getline(in, value))
        return std::nullopt;
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' '))
        value.pop_back();
    return value;
}

std::optional<std::string> descriptor_string(libusb_device_handle* handle, std::uint8_t index) {
    if (!handle || index == 0)
        return std::nullopt;
    unsigned char buffer[256] = {};
    const int n = libusb_get_string_descriptor_ascii(handle, index, buffer, sizeof buffer);
    if (n < 0)
        return std::nullopt;
    return std::string(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n));
}

void read_strings(libusb_device* device, const libusb_device_descriptor& dd,
                  std::uint8_t configuration, model::UsbDevice& out) {
    // iInterface strings: sysfs <port>:<configuration>.<interface>/interface.
    for (auto& interface : out.interfaces)
        interface.name = sysfs_string(
            fmt::format("{}:{}.{}", out.port_path, configuration, interface.number), "interface");
    out.manufacturer = sysfs_string(out.port_path, "manufacturer");
    out.product = sysfs_string(out.port_path, "product");
    out.serial = sysfs_string(out.port_path, "serial");
    const bool missing = (dd.iManufacturer && !out.manufacturer) || (dd.iProduct && !out.product) ||
                         (dd.iSerialNumber && !out.serial);
    if (!missing)
        return;
    // GET_DESCRIPTOR(STRING) on the default pipe: needs open permission, never a claim.
    libusb_device_handle* raw = nullptr;
    if (libusb_open(device, &raw) != LIBUSB_SUCCESS)
        return; // no permission (or the device is gone): strings stay unknown
    std::unique_ptr<libusb_device_handle, HandleDeleter> handle(raw);
    if (!out.manufacturer)
        out.manufacturer = descriptor_string(handle.get(), dd.iManufacturer);
    if (!out.product)
        out.product = descriptor_string(handle.get(), dd.iProduct);
    if (!out.serial)
        out.serial = descriptor_string(handle.get(), dd.iSerialNumber);
}

ccid::InterfaceInfo interface_info(const libusb_interface_descriptor& alt) {
    ccid::InterfaceInfo info;
    info.length = alt.bLength;
    info.descriptor_type = alt.bDescriptorType;
    info.number = alt.bInterfaceNumber;
    info.alternate_setting = alt.bAlternateSetting;
    info.num_endpoints = alt.bNumEndpoints;
    info.interface_class = alt.bInterfaceClass;
    info.subclass = alt.bInterfaceSubClass;
    info.protocol = alt.bInterfaceProtocol;
    info.string_index = alt.iInterface;
    return info;
}

model::UsbInterface to_model(const libusb_interface_descriptor& alt) {
    model::UsbInterface out;
    out.number = alt.bInterfaceNumber;
    out.alternate_setting = alt.bAlternateSetting;
    out.interface_class = alt.bInterfaceClass;
    out.interface_subclass = alt.bInterfaceSubClass;
    out.interface_protocol = alt.bInterfaceProtocol;
    out.endpoint_count = alt.bNumEndpoints;
    return out;
}

// The class descriptor's bytes as the device sent them (a re-encoding could hide oddities):
// the first type-0x21 descriptor, or a 54-byte type-0xFF one, in a chain of descriptors.
Bytes raw_class_descriptor(ByteView extra) {
    for (std::size_t off = 0; off + 1 < extra.size() && extra[off] >= 2; off += extra[off]) {
        const std::size_t length = std::min<std::size_t>(extra[off], extra.size() - off);
        if (extra[off + 1] == ccid::descriptor_type ||
            (length == ccid::descriptor_length && extra[off + 1] == 0xFF)) {
            const auto first = extra.begin() + static_cast<std::ptrdiff_t>(off);
            return Bytes(first, first + static_cast<std::ptrdiff_t>(length));
        }
    }
    return {};
}

// The smart-card interfaces of one configuration: CCID ones, and (for a catalogue entry) the
// interfaces of the catalogue's class.
std::vector<model::UsbInterface> smart_card_interfaces(const libusb_config_descriptor& config,
                                                       const model::CatalogueEntry* entry) {
    std::vector<model::UsbInterface> found;
    for (int i = 0; i < config.bNumInterfaces; ++i) {
        const libusb_interface& interface = config.interface[i];
        for (int a = 0; a < interface.num_altsetting; ++a) {
            const libusb_interface_descriptor& alt = interface.altsetting[a];
            ByteView last_endpoint_extra;
            if (alt.bNumEndpoints > 0) {
                const auto& last = alt.endpoint[alt.bNumEndpoints - 1];
                last_endpoint_extra = view(last.extra, last.extra_length);
            }
            const auto located = ccid::locate_in_extras(
                interface_info(alt), view(alt.extra, alt.extra_length), last_endpoint_extra);
            model::UsbInterface out = to_model(alt);
            if (located) {
                out.placement = located->placement;
                const ByteView extra = located->placement == ccid::Placement::AfterEndpoints
                                           ? last_endpoint_extra
                                           : view(alt.extra, alt.extra_length);
                out.ccid_descriptor = raw_class_descriptor(extra);
                if (out.ccid_descriptor.empty())
                    out.ccid_descriptor = ccid::encode(located->descriptor);
            } else if (alt.bInterfaceClass == ccid::interface_class_ccid) {
                // CCID class without a readable class descriptor: still a reader, decoded as
                // "descriptor missing" by its consumers.
            } else if (!(entry && alt.bInterfaceClass == entry->interface_class)) {
                continue;
            }
            // One entry per interface number: the first alternate setting that qualifies.
            if (std::none_of(found.begin(), found.end(),
                             [&](const model::UsbInterface& f) { return f.number == out.number; }))
                found.push_back(std::move(out));
        }
    }
    return found;
}

} // namespace

std::vector<model::UsbDevice> enumerate(const Options& options) {
    libusb_context* raw_context = nullptr;
    if (const int rc = libusb_init(&raw_context); rc != LIBUSB_SUCCESS)
        throw EnvironmentError(fmt::format("libusb cannot start: {}", libusb_error_name(rc)));
    std::unique_ptr<libusb_context, ContextDeleter> context(raw_context);

    libusb_device** raw_list = nullptr;
    const auto count = libusb_get_device_list(context.get(), &raw_list);
    if (count < 0)
        throw EnvironmentError(fmt::format("libusb cannot list USB devices: {}",
                                           libusb_error_name(static_cast<int>(count))));
    std::unique_ptr<libusb_device*, ListDeleter> list(raw_list);

    std::vector<model::UsbDevice> devices;
    for (ssize_t i = 0; i < count; ++i) {
        libusb_device* device = raw_list[i];
        libusb_device_descriptor dd{};
        if (libusb_get_device_descriptor(device, &dd) != LIBUSB_SUCCESS)
            continue;
        const model::CatalogueEntry* entry = options.catalogue.find(dd.idVendor, dd.idProduct);
        std::vector<model::UsbInterface> interfaces;
        std::uint8_t configuration = 1;
        for (std::uint8_t c = 0; c < dd.bNumConfigurations; ++c) {
            libusb_config_descriptor* raw_config = nullptr;
            if (libusb_get_config_descriptor(device, c, &raw_config) != LIBUSB_SUCCESS)
                continue;
            std::unique_ptr<libusb_config_descriptor, ConfigDeleter> config(raw_config);
            interfaces = smart_card_interfaces(*config, entry);
            configuration = config->bConfigurationValue;
            if (!interfaces.empty())
                break;
        }
        if (interfaces.empty() && !entry)
            continue;

        model::UsbDevice out;
        out.bus = libusb_get_bus_number(device);
        out.address = libusb_get_device_address(device);
        out.port_path = port_path(device);
        out.vid = dd.idVendor;
        out.pid = dd.idProduct;
        out.bcd_device = dd.bcdDevice;
        const bool any_ccid = std::any_of(interfaces.begin(), interfaces.end(),
                                          [](const auto& f) { return f.placement.has_value(); });
        const bool ccid_class =
            std::any_of(interfaces.begin(), interfaces.end(), [](const auto& f) {
                return f.interface_class == ccid::interface_class_ccid;
            });
        if (ccid_class)
            out.listed_because = "CCID class interface";
        else if (any_ccid)
            out.listed_because = "vendor-class interface carrying a CCID class descriptor";
        else
            out.listed_because = "known non-CCID reader (catalogue): vendor class, needs a "
                                 "vendor driver";
        out.interfaces = std::move(interfaces);
        if (entry)
            out.catalogue = *entry;
        if (options.ccid_driver) {
            const auto* listed = options.ccid_driver->find(out.vid, out.pid);
            out.listed_by_ccid_driver = listed != nullptr;
            if (listed)
                out.ccid_driver_name = listed->name;
        }
        if (options.read_strings)
            read_strings(device, dd, configuration, out);
        devices.push_back(std::move(out));
    }
    std::sort(devices.begin(), devices.end(), [](const auto& a, const auto& b) {
        return a.bus != b.bus ? a.bus < b.bus : a.address < b.address;
    });
    return devices;
}

} // namespace harness::usb
