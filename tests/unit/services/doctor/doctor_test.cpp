// services/doctor: one case per finding, on plain values (what the machine would show).
#include "pure/error.hpp"
#include "services/doctor/doctor.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>

using namespace harness;

namespace harness {
std::ostream& operator<<(std::ostream& out, Severity severity) {
    return out << to_string(severity);
}
} // namespace harness

using doctor::Input;
using doctor::Report;

namespace {

// A machine where everything works: pcscd reachable, libccid installed, one CCID reader with a
// card, joined to its USB device.
model::UsbDevice usb_reader(std::uint16_t vid = 0x054C, std::uint16_t pid = 0x0DC8,
                            std::uint16_t bcd = 0x0100, std::uint8_t address = 5) {
    model::UsbDevice d;
    d.bus = 1;
    d.address = address;
    d.vid = vid;
    d.pid = pid;
    d.bcd_device = bcd;
    d.manufacturer = "SONY";
    d.product = "RC-S300/S";
    model::UsbInterface i;
    i.interface_class = 0x0B;
    i.ccid_descriptor = Bytes(54, 0x00);
    i.ccid_descriptor[0] = 0x36;
    i.ccid_descriptor[1] = 0x21;
    d.interfaces.push_back(i);
    d.listed_by_ccid_driver = true;
    return d;
}

model::PcscReader pcsc_reader(const std::string& name, bool card) {
    model::PcscReader r;
    r.name = name;
    r.state.present = card;
    r.state.empty = !card;
    return r;
}

doctor::UsbFacts facts_of(const model::UsbDevice& d) {
    doctor::UsbFacts u;
    u.bus = d.bus;
    u.address = d.address;
    u.node.path = "/dev/bus/usb/001/00" + std::to_string(d.address);
    u.node.exists = true;
    u.node.mode = 0664;
    u.node.owner = "root";
    u.node.group = "root";
    return u;
}

Input healthy() {
    Input in;
    in.pcscd.package_version = "1.9.9-2";
    in.pcscd.executable_found = true;
    in.pcscd.pids = {812};
    in.pcscd.uid = 0;
    in.pcscd.socket = "/run/pcscd/pcscd.comm";
    in.pcscd.socket_state = doctor::SocketState::Accepts;
    in.driver.libccid_version = "1.5.2-1";
    in.driver.reader_list_read = true;
    in.pcscd_user = "root";
    in.profiles_dir = "/usr/share/cardharness/profiles";
    in.inventory.pcsc_available = true;
    in.inventory.usb_available = true;
    const auto device = usb_reader();
    model::InventoryRow row;
    row.pcsc = pcsc_reader("SONY FeliCa RC-S300/S 00 00", true);
    row.usb = device;
    row.slot = 0;
    in.inventory.rows.push_back(row);
    in.usb.push_back(facts_of(device));
    in.firmware_minimums = {{0x04E6, 0x5291, 0x0112, "SCM SCL010 Contactless Reader"}};
    return in;
}

// Removes the PC/SC side: pcscd does not answer.
void pcscd_down(Input& in, doctor::SocketState state, const std::string& error = "") {
    in.inventory.pcsc_available = false;
    in.inventory.pcsc_error = "no pcscd (SCardEstablishContext: SCARD_E_NO_SERVICE)";
    in.pcscd.socket_state = state;
    in.pcscd.socket_error = error;
    for (auto& row : in.inventory.rows)
        row.pcsc.reset();
}

const doctor::Finding* find(const Report& r, const std::string& code) {
    for (const auto& f : r.findings)
        if (f.code == code)
            return &f;
    return nullptr;
}

std::size_t count(const Report& r, const std::string& code) {
    return static_cast<std::size_t>(
        std::count_if(r.findings.begin(), r.findings.end(),
                      [&](const doctor::Finding& f) { return f.code == code; }));
}

bool non_ascii(const std::string& s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Every finding: both languages; anything that is not plain information says what to do.
void check_texts(const Report& r) {
    for (const auto& f : r.findings) {
        BOOST_TEST(!f.message.empty(), f.code);
        BOOST_TEST(non_ascii(f.message_ja), f.code << ": " << f.message_ja);
        if (f.severity != Severity::Info) {
            BOOST_TEST(!f.fix.empty(), f.code);
            BOOST_TEST(non_ascii(f.fix_ja), f.code << ": " << f.fix_ja);
        }
    }
}

// The finding must exist with this severity; returns it.
const doctor::Finding& expect(const Report& r, const std::string& code, Severity severity) {
    const doctor::Finding* f = find(r, code);
    BOOST_TEST_REQUIRE(f != nullptr, "no finding " << code);
    BOOST_TEST(f->severity == severity, code);
    check_texts(r);
    return *f;
}

} // namespace

BOOST_AUTO_TEST_CASE(all_well_is_ok_and_says_so) {
    const auto r = doctor::diagnose(healthy());
    BOOST_TEST(r.ok);
    for (const auto& f : r.findings)
        BOOST_TEST((f.severity == Severity::Info), f.code << ": " << f.message);
    BOOST_TEST(expect(r, "pcscd_installed", Severity::Info).message.find("1.9.9-2") !=
               std::string::npos);
    BOOST_TEST(expect(r, "pcscd_reachable", Severity::Info).message.find("pid 812") !=
               std::string::npos);
    BOOST_TEST(expect(r, "libccid_installed", Severity::Info).message.find("1.5.2-1") !=
               std::string::npos);
    BOOST_TEST(expect(r, "reader_ready", Severity::Info).message.find("card is present") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(pcscd_not_installed) {
    auto in = healthy();
    in.pcscd = {};
    pcscd_down(in, doctor::SocketState::Missing);
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    BOOST_TEST(
        expect(r, "pcscd_not_installed", Severity::Error).fix.find("apt-get install pcscd") !=
        std::string::npos);
}

BOOST_AUTO_TEST_CASE(pcscd_not_running_without_and_with_systemd) {
    auto in = healthy();
    in.pcscd.pids.clear();
    pcscd_down(in, doctor::SocketState::Missing);
    auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    BOOST_TEST(expect(r, "pcscd_not_running", Severity::Error).fix.find("service pcscd start") !=
               std::string::npos);
    in.pcscd.systemd = true;
    in.pcscd.socket_unit = "inactive";
    r = doctor::diagnose(in);
    const auto& f = expect(r, "pcscd_not_running", Severity::Error);
    BOOST_TEST(f.message.find("pcscd.socket is inactive") != std::string::npos);
    BOOST_TEST(f.fix.find("systemctl enable --now pcscd.socket") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(systemd_socket_activation_is_reported) {
    auto in = healthy();
    in.pcscd.pids.clear();
    in.pcscd.systemd = true;
    in.pcscd.socket_unit = "active";
    const auto r = doctor::diagnose(in);
    BOOST_TEST(r.ok);
    expect(r, "pcscd_socket_activation", Severity::Info);
}

BOOST_AUTO_TEST_CASE(pcsclite_csock_name_pointing_at_a_stopped_pcscd) {
    auto in = healthy();
    in.pcscd.socket = "/tmp/chlab.x/run/pcscd.comm";
    in.pcscd.socket_from_env = true;
    pcscd_down(in, doctor::SocketState::Missing);
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    const auto& f = expect(r, "pcscd_socket_missing", Severity::Error);
    BOOST_TEST(f.message.find("PCSCLITE_CSOCK_NAME") != std::string::npos);
    BOOST_TEST(f.fix.find("unset PCSCLITE_CSOCK_NAME") != std::string::npos);
    expect(r, "pcsc_socket_from_environment", Severity::Info);
}

BOOST_AUTO_TEST_CASE(pcscd_running_elsewhere_than_its_socket) {
    auto in = healthy();
    pcscd_down(in, doctor::SocketState::Missing);
    const auto r = doctor::diagnose(in);
    BOOST_TEST(expect(r, "pcscd_socket_missing", Severity::Error).message.find("pid 812") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(stale_socket_denied_socket_and_broken_pcsc) {
    auto in = healthy();
    pcscd_down(in, doctor::SocketState::Refused, "Connection refused");
    expect(doctor::diagnose(in), "pcscd_socket_stale", Severity::Error);
    pcscd_down(in, doctor::SocketState::Denied, "Permission denied");
    expect(doctor::diagnose(in), "pcscd_socket_denied", Severity::Error);
    pcscd_down(in, doctor::SocketState::Accepts);
    const auto r = doctor::diagnose(in);
    BOOST_TEST(expect(r, "pcscd_unreachable", Severity::Error).message.find("SCARD_E_NO_SERVICE") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(libccid_missing_blocks_only_with_usb_readers) {
    auto in = healthy();
    in.driver = {};
    expect(doctor::diagnose(in), "libccid_not_installed", Severity::Error);
    in.usb.clear();
    const auto r = doctor::diagnose(in);
    expect(r, "libccid_not_installed", Severity::Warning);
    BOOST_TEST(r.ok);
}

BOOST_AUTO_TEST_CASE(unreadable_ccid_reader_list) {
    auto in = healthy();
    in.driver.reader_list_read = false;
    in.driver.reader_list_error = "cannot read Info.plist";
    const auto r = doctor::diagnose(in);
    expect(r, "ccid_reader_list_unreadable", Severity::Warning);
    BOOST_TEST(r.ok);
}

BOOST_AUTO_TEST_CASE(vendor_class_reader_needs_a_vendor_driver) {
    auto in = healthy();
    model::UsbDevice rcs380;
    rcs380.bus = 1;
    rcs380.address = 7;
    rcs380.vid = 0x054C;
    rcs380.pid = 0x06C1;
    model::UsbInterface vendor;
    vendor.interface_class = 0xFF;
    rcs380.interfaces.push_back(vendor);
    rcs380.catalogue = model::CatalogueEntry{0x054C,
                                             0x06C1,
                                             "Sony",
                                             "PaSoRi RC-S380/S",
                                             0xFF,
                                             "FeliCa/NFC reader with a vendor-class interface",
                                             "ベンダー独自クラスのFeliCa/NFCリーダー"};
    model::InventoryRow row;
    row.usb = rcs380;
    in.inventory.rows.push_back(row);
    in.usb.push_back(facts_of(rcs380));
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    const auto& f = expect(r, "reader_needs_vendor_driver", Severity::Error);
    BOOST_TEST(f.message.find("Sony PaSoRi RC-S380/S (054C:06C1") != std::string::npos);
    BOOST_TEST(f.message.find("vendor-class") != std::string::npos);
    BOOST_TEST(f.fix.find("RC-S300") != std::string::npos);
    BOOST_TEST(count(r, "reader_not_in_pcsc") == 0U);
}

BOOST_AUTO_TEST_CASE(reader_the_ccid_driver_does_not_list) {
    auto in = healthy();
    auto acr1581 = usb_reader(0x072F, 0x2301, 0x0100, 9);
    acr1581.listed_by_ccid_driver = false;
    model::InventoryRow row;
    row.usb = acr1581;
    in.inventory.rows.push_back(row);
    in.usb.push_back(facts_of(acr1581));
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    const auto& f = expect(r, "reader_not_listed_by_ccid_driver", Severity::Error);
    BOOST_TEST(f.message.find("072F:2301") != std::string::npos);
    BOOST_TEST(f.message.find("libccid 1.5.2-1") != std::string::npos);
    BOOST_TEST(count(r, "reader_not_in_pcsc") == 0U); // already explained
}

BOOST_AUTO_TEST_CASE(firmware_below_the_ccid_driver_minimum) {
    auto in = healthy();
    auto scl010 = usb_reader(0x04E6, 0x5291, 0x0102, 10);
    model::InventoryRow row;
    row.usb = scl010;
    in.inventory.rows.push_back(row);
    in.usb.push_back(facts_of(scl010));
    const auto r = doctor::diagnose(in);
    const auto& f = expect(r, "reader_firmware_below_driver_minimum", Severity::Error);
    BOOST_TEST(f.message.find("firmware 1.02 is older than 1.12") != std::string::npos);
    BOOST_TEST(f.fix.find("1.12 or later") != std::string::npos);
    BOOST_TEST(count(r, "reader_not_in_pcsc") == 0U);

    // At the minimum the driver accepts it: no firmware finding.
    in.inventory.rows.back().usb->bcd_device = 0x0112;
    BOOST_TEST(count(doctor::diagnose(in), "reader_firmware_below_driver_minimum") == 0U);
}

BOOST_AUTO_TEST_CASE(usb_device_held_by_another_program) {
    auto in = healthy();
    in.inventory.rows.front().pcsc.reset();
    in.usb.front().holders = {{4242, "vendor-tool"}};
    const auto r = doctor::diagnose(in);
    BOOST_TEST(
        expect(r, "usb_device_held", Severity::Error).message.find("vendor-tool (pid 4242)") !=
        std::string::npos);
}

BOOST_AUTO_TEST_CASE(usb_permissions_of_a_non_root_pcscd) {
    auto in = healthy();
    in.inventory.rows.front().pcsc.reset();
    in.pcscd.uid = 110;
    in.pcscd.gid = 118;
    in.pcscd_user = "pcscd";
    const auto r = doctor::diagnose(in);
    const auto& f = expect(r, "usb_permission", Severity::Error);
    BOOST_TEST(f.message.find("rw-rw-r-- root:root") != std::string::npos);
    BOOST_TEST(f.message.find("pcscd runs as pcscd") != std::string::npos);
    // The udev rule's group gives access: no permission finding.
    in.usb.front().node.gid = 118;
    BOOST_TEST(count(doctor::diagnose(in), "usb_permission") == 0U);
}

BOOST_AUTO_TEST_CASE(who_may_open_a_node) {
    doctor::NodeFacts node;
    node.mode = 0660;
    node.uid = 0;
    node.gid = 50;
    BOOST_TEST(doctor::can_open_read_write(node, 0, 0, {}));
    BOOST_TEST(!doctor::can_open_read_write(node, 100, 100, {}));
    BOOST_TEST(doctor::can_open_read_write(node, 100, 50, {}));
    BOOST_TEST(doctor::can_open_read_write(node, 100, 100, {7, 50}));
    node.mode = 0604;
    BOOST_TEST(!doctor::can_open_read_write(node, 100, 100, {})); // read only for others
    node.mode = 0606;
    BOOST_TEST(doctor::can_open_read_write(node, 100, 100, {}));
    node.uid = 100;
    node.mode = 0066; // the owner's own bits decide for the owner
    BOOST_TEST(!doctor::can_open_read_write(node, 100, 50, {}));
}

BOOST_AUTO_TEST_CASE(listed_reader_that_pcscd_does_not_show) {
    auto in = healthy();
    in.inventory.rows.front().pcsc.reset();
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    BOOST_TEST(expect(r, "reader_not_in_pcsc", Severity::Error).message.find("054C:0DC8") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_private_pcscd_does_not_drive_usb_readers) {
    auto in = healthy();
    in.inventory.rows.front().pcsc.reset();
    in.pcscd.socket = "/tmp/chlab.x/run/pcscd.comm";
    in.pcscd.socket_from_env = true;
    const auto r = doctor::diagnose(in);
    const auto& f = expect(r, "reader_not_in_pcsc", Severity::Error);
    BOOST_TEST(f.message.find("PCSCLITE_CSOCK_NAME=/tmp/chlab.x/run/pcscd.comm") !=
               std::string::npos);
    BOOST_TEST(f.fix.find("unset PCSCLITE_CSOCK_NAME") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reader_held_exclusively) {
    auto in = healthy();
    in.inventory.rows.front().pcsc->state.exclusive = true;
    auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    BOOST_TEST(
        expect(r, "reader_held_exclusively", Severity::Error).message.find("RC-S300/S 00 00") !=
        std::string::npos);
    // Seen only as a failed connect (SCARD_E_SHARING_VIOLATION).
    in.inventory.rows.front().pcsc->state.exclusive = false;
    in.inventory.rows.front().pcsc->failures.push_back({"connect direct", "SCardConnect",
                                                        0x8010000B, "SCARD_E_SHARING_VIOLATION",
                                                        "Sharing violation."});
    r = doctor::diagnose(in);
    expect(r, "reader_held_exclusively", Severity::Error);
    BOOST_TEST(count(r, "reader_ready") == 0U);
}

BOOST_AUTO_TEST_CASE(card_present_but_unresponsive_warns_without_blocking) {
    auto in = healthy();
    in.inventory.rows.front().pcsc->state.mute = true;
    auto r = doctor::diagnose(in);
    BOOST_TEST(r.ok); // the run records it as the reader's result
    expect(r, "card_unresponsive", Severity::Warning);
    in.inventory.rows.front().pcsc->state.mute = false;
    in.inventory.rows.front().pcsc->failures.push_back({"connect shared", "SCardConnect",
                                                        0x80100066, "SCARD_W_UNRESPONSIVE_CARD",
                                                        "Card is unresponsive."});
    r = doctor::diagnose(in);
    BOOST_TEST(
        expect(r, "card_unresponsive", Severity::Warning).message.find("Card is unresponsive") !=
        std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_reader_at_all) {
    auto in = healthy();
    in.inventory.rows.clear();
    in.usb.clear();
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    BOOST_TEST(expect(r, "no_reader", Severity::Error).fix.find("lab start") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(lab_readers_are_not_checked_as_usb_hardware) {
    auto in = healthy();
    in.inventory.rows.clear();
    in.usb.clear();
    // A lab reader: PC/SC reader joined to its model's virtual USB identity, which the CCID
    // driver does not list (vendor 0xF1AB) and no libusb device backs.
    auto virtual_device = usb_reader(0xF1AB, 0x0101, 0x0120, 0x10);
    virtual_device.listed_by_ccid_driver = false;
    model::InventoryRow row;
    row.pcsc = pcsc_reader("Lab TPDU Contact 100 (r01) 00 00", false);
    row.usb = virtual_device;
    row.slot = 0;
    in.inventory.rows.push_back(row);
    const auto r = doctor::diagnose(in);
    BOOST_TEST(r.ok);
    BOOST_TEST(count(r, "reader_ready") == 1U);
    BOOST_TEST(count(r, "reader_not_listed_by_ccid_driver") == 0U);
}

BOOST_AUTO_TEST_CASE(missing_profiles) {
    auto in = healthy();
    in.profiles_found = false;
    const auto r = doctor::diagnose(in);
    BOOST_TEST(!r.ok);
    BOOST_TEST(expect(r, "profiles_missing", Severity::Error).message.find(in.profiles_dir) !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(usb_not_listable_is_a_warning) {
    auto in = healthy();
    in.inventory.usb_available = false;
    in.inventory.usb_error = "libusb_init failed";
    const auto r = doctor::diagnose(in);
    expect(r, "usb_unavailable", Severity::Warning);
    BOOST_TEST(r.ok);
}

BOOST_AUTO_TEST_CASE(firmware_minimums_file_format) {
    const auto list = doctor::parse_firmware_minimums(
        "# comment\nvid,pid,min_bcd_device,name\n04E6,E001,0516,SCM SCR "
        "331\n\n058f,9520,102,Alcor\n",
        "m.csv");
    BOOST_TEST_REQUIRE(list.size() == 2U);
    BOOST_TEST(list[0].vid == 0x04E6);
    BOOST_TEST(list[0].pid == 0xE001);
    BOOST_TEST(list[0].min_bcd_device == 0x0516);
    BOOST_TEST(list[0].name == "SCM SCR 331");
    BOOST_TEST(list[1].min_bcd_device == 0x0102);
    const auto error_of = [](const std::string& text) {
        try {
            doctor::parse_firmware_minimums(text, "m.csv");
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    // The one CSV layer (io::csv) reads it: its file:line:column messages.
    BOOST_TEST(
        error_of("vid,pid,name\n").rfind("m.csv:1:13: expected a column \"min_bcd_device\"", 0) ==
        0);
    BOOST_TEST(error_of("vid,pid,min_bcd_device,name\n04E6,XYZ,0516,a\n")
                   .rfind("m.csv:2:6: expected a product ID", 0) == 0);
    BOOST_TEST(error_of("vid,pid,min_bcd_device,name\n04E6,E001,0516\n")
                   .rfind("m.csv:2:15: expected 4", 0) == 0);
    BOOST_TEST(error_of("vid,pid,min_bcd_device,name\n04E6,E001,0516,a\n04e6,e001,1,b\n")
                   .rfind("m.csv:3:1: expected a VID:PID not listed before", 0) == 0);
    BOOST_TEST(error_of("").rfind("m.csv:1:1: expected", 0) == 0, error_of(""));
}

BOOST_AUTO_TEST_CASE(private_pcscds_are_not_the_system_one) {
    auto in = healthy();
    in.pcscd.pids.clear();
    in.pcscd.private_pids = {3001, 3002};
    pcscd_down(in, doctor::SocketState::Missing);
    const auto r = doctor::diagnose(in);
    expect(r, "pcscd_not_running", Severity::Error);
    BOOST_TEST(expect(r, "private_pcscd_running", Severity::Info).message.find("pid 3001, 3002") !=
               std::string::npos);
    BOOST_TEST(count(r, "pcscd_socket_missing") == 0U);
}
