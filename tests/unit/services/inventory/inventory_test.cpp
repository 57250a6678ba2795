#include "services/inventory/inventory.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;

namespace {

model::UsbDevice device(std::uint8_t bus, std::uint8_t address, std::uint16_t vid,
                        std::uint16_t pid, std::string product, std::size_t interfaces = 1) {
    model::UsbDevice d;
    d.bus = bus;
    d.address = address;
    d.vid = vid;
    d.pid = pid;
    d.product = std::move(product);
    d.interfaces.resize(interfaces);
    for (std::size_t i = 0; i < interfaces; ++i)
        d.interfaces[i].number = static_cast<std::uint8_t>(i);
    return d;
}

model::PcscReader reader(std::string name, std::optional<std::uint32_t> channel,
                         std::optional<std::pair<std::uint16_t, std::uint16_t>> tlv) {
    model::PcscReader r;
    r.name = std::move(name);
    r.channel_id = channel;
    if (tlv) {
        pcsc::TlvProperties p;
        p.id_vendor = tlv->first;
        p.id_product = tlv->second;
        r.tlv_properties = p;
    }
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(joins_by_tlv_and_channel_id_before_weaker_evidence) {
    inventory::Sources s;
    s.pcsc_available = s.usb_available = true;
    // Two identical readers (same VID:PID): only the channel id tells them apart.
    s.usb = {device(1, 4, 0x072F, 0xB100, "ACR39U"), device(1, 7, 0x072F, 0xB100, "ACR39U")};
    s.pcsc = {reader("ACS ACR39U 01 00", 0x00200107, std::pair{0x072F, 0xB100}),
              reader("ACS ACR39U 00 00", 0x00200104, std::pair{0x072F, 0xB100})};
    const auto inv = inventory::join(s);
    BOOST_REQUIRE(inv.rows.size() == 2u);
    BOOST_TEST(inv.rows[0].usb->address == 7);
    BOOST_TEST(inv.rows[1].usb->address == 4);
    BOOST_TEST(inv.rows[0].join == model::JoinMethod::TlvAndChannel);
}

BOOST_AUTO_TEST_CASE(ambiguous_tlv_only_matches_are_not_joined_but_unique_ones_are) {
    inventory::Sources s;
    s.pcsc_available = s.usb_available = true;
    s.usb = {device(1, 4, 0x072F, 0xB100, "X"), device(1, 7, 0x072F, 0xB100, "X"),
             device(2, 3, 0x054C, 0x0DC8, "RC-S300/P")};
    s.pcsc = {reader("Reader A 00 00", std::nullopt, std::pair{0x072F, 0xB100}),
              reader("Reader B 00 00", std::nullopt, std::pair{0x054C, 0x0DC8})};
    const auto inv = inventory::join(s);
    BOOST_TEST(inv.rows[0].join == model::JoinMethod::None);
    BOOST_TEST(!inv.rows[0].usb.has_value());
    BOOST_TEST(inv.rows[1].join == model::JoinMethod::Tlv);
    BOOST_TEST(inv.rows[1].usb->pid == 0x0DC8);
    // The two unjoined USB devices are listed as USB-only with a reason.
    BOOST_REQUIRE(inv.rows.size() == 4u);
    BOOST_TEST(!inv.rows[2].pcsc.has_value());
    BOOST_TEST(!inv.rows[2].note_en.empty());
}

BOOST_AUTO_TEST_CASE(falls_back_to_the_product_name) {
    inventory::Sources s;
    s.pcsc_available = s.usb_available = true;
    s.usb = {device(1, 2, 0x04E6, 0x5116, "SCR3310 v2.0 USB SC Reader")};
    s.pcsc = {reader("SCM Microsystems Inc. SCR3310 v2.0 USB SC Reader 00 00", std::nullopt,
                     std::nullopt)};
    const auto inv = inventory::join(s);
    BOOST_REQUIRE(inv.rows.size() == 1u);
    BOOST_TEST(inv.rows[0].join == model::JoinMethod::Name);
}

BOOST_AUTO_TEST_CASE(multi_interface_devices_map_readers_to_interfaces_in_order_and_slots_stay) {
    inventory::Sources s;
    s.pcsc_available = s.usb_available = true;
    s.usb = {device(1, 9, 0x072F, 0x223B, "ACR1252 Dual Reader", 2)};
    const auto tlv = std::pair<std::uint16_t, std::uint16_t>{0x072F, 0x223B};
    s.pcsc = {reader("ACS ACR1252 Dual Reader [ACR1252 Dual Reader PICC] 00 00", 0x00200109, tlv),
              reader("ACS ACR1252 Dual Reader [ACR1252 Dual Reader SAM] 01 00", 0x00200109, tlv)};
    const auto inv = inventory::join(s);
    BOOST_REQUIRE(inv.rows.size() == 2u);
    BOOST_TEST(inv.rows[0].interface.value() == 0u);
    BOOST_TEST(inv.rows[1].interface.value() == 1u);
    BOOST_TEST(inv.rows[0].contactless.value() == true);
    BOOST_TEST(inv.rows[1].contactless.value() == false);
}

BOOST_AUTO_TEST_CASE(usb_only_devices_say_why) {
    inventory::Sources s;
    s.usb_available = true;
    s.pcsc_available = false;
    s.pcsc_error = "pcscd is not running";
    auto sony = device(1, 3, 0x054C, 0x06C3, "RC-S380/P", 0);
    sony.catalogue = model::CatalogueEntry{
        0x054C,      0x06C3, "Sony", "RC-S380", 0xFF, "vendor class: needs a vendor driver",
        "ベンダ独自"};
    s.usb = {device(1, 2, 0x072F, 0xB100, "ACR39U"), sony};
    const auto inv = inventory::join(s);
    BOOST_REQUIRE(inv.rows.size() == 2u);
    BOOST_TEST(inv.rows[0].note_en.find("pcscd is not running") != std::string::npos);
    BOOST_TEST(inv.rows[1].note_en == "vendor class: needs a vendor driver");
}

BOOST_AUTO_TEST_CASE(slot_and_contactless_helpers) {
    BOOST_TEST(inventory::slot_from_name("Virtual PCD 00 01").value() == 1);
    BOOST_TEST(inventory::slot_from_name("Reader 0A 0F").value() == 15);
    BOOST_TEST(!inventory::slot_from_name("Reader").has_value());
    const Bytes mynumber_cl{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05,
                            0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F};
    const Bytes mynumber_contact{0x3B, 0xDA, 0x13, 0xFF, 0x81};
    BOOST_TEST(inventory::contactless_from_atr(mynumber_cl).value() == true);
    BOOST_TEST(inventory::contactless_from_atr(mynumber_contact).value() == false);
    BOOST_TEST(!inventory::contactless_from_atr(Bytes{}).has_value());
    BOOST_TEST(inventory::contactless_from_name("Sony FeliCa Port/PaSoRi 4.0 (NFC) 00 00").value());
    BOOST_TEST(!inventory::contactless_from_name("Generic Reader 00 00").has_value());
}

// The reader's own interfaces decide before the ATR's shape: an ACR39U (contact only) holding a
// card whose ATR looks like a PC/SC contactless pseudo-ATR (the transport card's 3B 80 80 01 01)
// is a contact reader; a reader that says nothing leaves it to the ATR.
BOOST_AUTO_TEST_CASE(the_readers_own_interfaces_decide_before_the_atr) {
    const Bytes pseudo_shape{0x3B, 0x80, 0x80, 0x01, 0x01};
    inventory::Sources s;
    s.pcsc_available = s.usb_available = true;
    auto acr39u = device(1, 4, 0x072F, 0xB100, "ACR39U ICC Reader");
    s.usb = {acr39u};
    auto contact = reader("ACS ACR39U ICC Reader 00 00", 0x00200104, std::pair{0x072F, 0xB100});
    contact.atr = pseudo_shape;
    auto unnamed = reader("Virtual PCD 00 00", std::nullopt, std::nullopt);
    unnamed.atr = pseudo_shape;
    // The USB interface's name (iInterface) is the most specific word.
    auto picc_device = device(1, 5, 0x072F, 0x223E, "ACR1252 Reader");
    picc_device.interfaces[0].name = "ACR1252 Reader PICC";
    s.usb.push_back(picc_device);
    auto picc = reader("ACS ACR1252 00 00", 0x00200105, std::pair{0x072F, 0x223E});
    picc.atr = Bytes{0x3B, 0xDA, 0x13, 0xFF, 0x81};
    s.pcsc = {contact, unnamed, picc};
    const auto inv = inventory::join(s);
    BOOST_REQUIRE(inv.rows.size() == 3u);
    BOOST_TEST(inv.rows[0].contactless.value() == false);
    BOOST_TEST(inv.rows[0].contactless_from == "name");
    BOOST_TEST(inv.rows[1].contactless.value() == true);
    BOOST_TEST(inv.rows[1].contactless_from == "atr");
    BOOST_TEST(inv.rows[2].contactless.value() == true);
    BOOST_TEST(inv.rows[2].contactless_from == "usb_interface");
    // The PC/SC attribute SCARD_ATTR_VENDOR_IFD_TYPE speaks when the name does not.
    s.pcsc = {reader("Generic 00 00", std::nullopt, std::nullopt)};
    s.pcsc[0].atr = pseudo_shape;
    s.pcsc[0].vendor_ifd_type = "Smart ICC Reader";
    s.usb.clear();
    const auto by_attribute = inventory::join(s);
    BOOST_TEST(by_attribute.rows[0].contactless.value() == false);
    BOOST_TEST(by_attribute.rows[0].contactless_from == "reader_attribute");
}

BOOST_AUTO_TEST_CASE(reader_kind_says_what_a_reader_without_usb_is) {
    inventory::Sources s;
    s.pcsc_available = s.usb_available = true;
    s.usb = {device(1, 4, 0x072F, 0xB100, "ACR39U")};
    s.pcsc = {reader("Virtual PCD 00 00", std::nullopt, std::nullopt),
              reader("Remote Reader 00 00", std::nullopt, std::nullopt),
              reader("Lab Contact Basic (r01) 00 00", 0x00200111, std::pair{0xF1AB, 0x0101}),
              reader("ACS ACR39U 00 00", 0x00200104, std::pair{0x072F, 0xB100})};
    const auto inv = inventory::join(s);
    BOOST_REQUIRE(inv.rows.size() == 4u);
    const auto vpcd = inventory::reader_kind(inv.rows[0]);
    BOOST_TEST(vpcd.code == "vpcd");
    BOOST_TEST(vpcd.en.find("no USB device") != std::string::npos);
    BOOST_TEST(!vpcd.ja.empty());
    BOOST_TEST(inventory::reader_kind(inv.rows[1]).code == "no_usb_identity");
    BOOST_TEST(inventory::reader_kind(inv.rows[2]).code == "usb"); // a VID:PID from its driver
    BOOST_TEST(inventory::reader_kind(inv.rows[3]).code == "usb");
    model::InventoryRow usb_only;
    usb_only.usb = s.usb[0];
    BOOST_TEST(inventory::reader_kind(usb_only).code == "usb_only");
}
