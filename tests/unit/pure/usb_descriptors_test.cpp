#include "pure/usb_descriptors.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;

namespace {

usbdesc::Device lab_reader() {
    usbdesc::Device d;
    d.identity.vendor_id = 0xF1AB;
    d.identity.product_id = 0x0261;
    d.identity.bcd_device = 0x0100;
    d.identity.manufacturer = "Cardharness Virtual Lab";
    d.identity.product = "Lab Short APDU 261";
    d.serial = "LAB0261-0001-r03";
    usbdesc::Interface iface;
    ccid::Descriptor desc;
    desc.max_message_length = 261;
    desc.features = 0x000200BA;
    iface.ccid = desc;
    iface.endpoints = usbdesc::ccid_endpoints(0);
    d.interfaces.push_back(iface);
    return d;
}

} // namespace

BOOST_AUTO_TEST_CASE(device_and_configuration_descriptors) {
    const auto d = lab_reader();
    const Bytes dev = usbdesc::device_descriptor(d);
    BOOST_TEST_REQUIRE(dev.size() == 18U);
    BOOST_TEST(dev[8] == 0xAB); // idVendor LE
    BOOST_TEST(dev[9] == 0xF1);
    BOOST_TEST(dev[14] == 1); // iManufacturer
    BOOST_TEST(dev[16] == 3); // iSerialNumber
    const Bytes config = usbdesc::configuration_descriptor(d);
    // 9 config + 9 interface + 54 CCID + 3 x 7 endpoints
    BOOST_TEST_REQUIRE(config.size() == 9U + 9U + 54U + 21U);
    BOOST_TEST((config[2] | (config[3] << 8)) == static_cast<int>(config.size()));
    BOOST_TEST(config[9 + 5] == 0x0B); // bInterfaceClass CCID
    BOOST_TEST(config[9 + 4] == 3);    // bNumEndpoints
    // The CCID descriptor follows the interface descriptor and decodes to what went in.
    const auto located = ccid::locate_in_configuration(config);
    BOOST_TEST_REQUIRE(located.interfaces.size() == 1U);
    BOOST_TEST(located.interfaces[0].descriptor.max_message_length == 261U);
    BOOST_TEST((located.interfaces[0].placement == ccid::Placement::InterfaceExtra));
    // Endpoints: bulk IN 0x81, bulk OUT 0x02, interrupt IN 0x83.
    const std::size_t ep = 9 + 9 + 54;
    BOOST_TEST(config[ep + 2] == 0x81);
    BOOST_TEST(config[ep + 3] == 0x02);
    BOOST_TEST(config[ep + 7 + 2] == 0x02);
    BOOST_TEST(config[ep + 14 + 2] == 0x83);
    BOOST_TEST(config[ep + 14 + 3] == 0x03);
    BOOST_TEST(usbdesc::descriptors(d).size() == dev.size() + config.size());
}

BOOST_AUTO_TEST_CASE(descriptor_after_the_endpoints_when_the_reader_does_so) {
    auto d = lab_reader();
    d.interfaces[0].placement = ccid::Placement::AfterEndpoints;
    const auto located = ccid::locate_in_configuration(usbdesc::configuration_descriptor(d));
    BOOST_TEST_REQUIRE(located.interfaces.size() == 1U);
    BOOST_TEST((located.interfaces[0].placement == ccid::Placement::AfterEndpoints));
}

BOOST_AUTO_TEST_CASE(string_descriptors_are_utf16) {
    const auto d = lab_reader();
    const auto languages = usbdesc::string_descriptor(d, 0);
    BOOST_TEST((languages == Bytes{4, 3, 0x09, 0x04}));
    const auto serial = usbdesc::string_descriptor(d, 3);
    BOOST_TEST_REQUIRE(serial.has_value());
    BOOST_TEST(serial->at(0) == 2 + 2 * 16);
    BOOST_TEST(serial->at(2) == 'L');
    BOOST_TEST(serial->at(3) == 0);
    BOOST_TEST(!usbdesc::string_descriptor(d, 4)); // no interface name
}

BOOST_AUTO_TEST_CASE(umockdev_description_names_the_node_and_interface) {
    const auto d = lab_reader();
    usbdesc::Location at;
    at.bus = 1;
    at.address = 7;
    const auto text = usbdesc::umockdev_description(d, at);
    BOOST_TEST(text.find("P: /devices/pci0000:00/0000:00:14.0/usb1/1-7\n") == 0U);
    BOOST_TEST(text.find("N: bus/usb/001/007=12010002") != std::string::npos);
    BOOST_TEST(text.find("E: DEVNAME=/dev/bus/usb/001/007") != std::string::npos);
    BOOST_TEST(text.find("A: serial=LAB0261-0001-r03") != std::string::npos);
    BOOST_TEST(text.find("P: /devices/pci0000:00/0000:00:14.0/usb1/1-7/1-7:1.0\n") !=
               std::string::npos);
    BOOST_TEST(text.find("E: INTERFACE=11/0/0") != std::string::npos);
    // Without the node: the caller makes it (the lab's FIFO).
    BOOST_TEST(usbdesc::umockdev_description(d, at, false).find("N: ") == std::string::npos);
    BOOST_TEST(at.device_node() == "/dev/bus/usb/001/007");
}
