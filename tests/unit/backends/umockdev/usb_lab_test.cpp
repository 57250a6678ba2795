#include "backends/umockdev/usb_lab.hpp"
#include "pure/ccid_driver_list.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace harness;

namespace {

lab::ReaderModel model(const std::string& id) {
    const auto models =
        lab::load_reader_model_dir(std::string(CARDHARNESS_SOURCE_DIR) + "/profiles/readers");
    const auto* m = lab::find_model(models, id);
    BOOST_TEST_REQUIRE(m != nullptr);
    return *m;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_lab_model_becomes_one_ccid_interface_with_three_endpoints) {
    const auto m = model("lab-short-261");
    const auto d = umock::usb_device_of(m, "LAB0261-0001-r03");
    BOOST_TEST(d.identity.vendor_id == 0xF1ABU);
    BOOST_TEST(d.identity.product_id == 0x0261U);
    BOOST_TEST(*d.identity.product == "Lab Short APDU 261");
    BOOST_TEST(*d.serial == "LAB0261-0001-r03");
    BOOST_TEST_REQUIRE(d.interfaces.size() == 1U);
    BOOST_TEST(d.interfaces[0].info.interface_class == ccid::interface_class_ccid);
    BOOST_TEST(d.interfaces[0].endpoints.size() == 3U);
    BOOST_TEST((*d.interfaces[0].ccid == m.ccid_descriptor()));
    // The configuration libusb reads carries exactly the model's CCID descriptor.
    const auto located = ccid::locate_in_configuration(usbdesc::configuration_descriptor(d));
    BOOST_TEST_REQUIRE(located.interfaces.size() == 1U);
    BOOST_TEST((located.interfaces[0].descriptor == m.ccid_descriptor()));
    BOOST_TEST(umock::friendly_name_of(m) == "Lab Short APDU 261");
}

BOOST_AUTO_TEST_CASE(the_private_bundle_lists_the_system_readers_and_the_lab_ones) {
    const std::filesystem::path system = umock::system_ccid_bundle;
    if (!std::filesystem::exists(system / "Contents/Info.plist"))
        test::skip("libccid is not installed (no " + system.string() + ")");
    const auto dir = std::filesystem::temp_directory_path() /
                     ("cardharness_bundle_" + std::to_string(::getpid()));
    const auto a = model("lab-short-261");
    const auto b = model("lab-ext-dual");
    const auto bundle = umock::write_driver_bundle(dir, {&a, &b, &a});
    BOOST_TEST(bundle.added.size() == 2U); // one entry per VID:PID
    BOOST_TEST(bundle.listed.empty());     // 0xF1AB is nobody's
    BOOST_TEST(bundle.friendly_name(0xF1AB, 0x0261) == "Lab Short APDU 261");
    BOOST_TEST(!bundle.version.empty());
    std::ifstream in(dir / "ifd-ccid.bundle/Contents/Info.plist");
    std::stringstream text;
    text << in.rdbuf();
    const auto readers = ccid_driver::parse_info_plist(text.str(), "bundle");
    std::ifstream sys(system / "Contents/Info.plist");
    std::stringstream sys_text;
    sys_text << sys.rdbuf();
    BOOST_TEST(readers.size() ==
               ccid_driver::parse_info_plist(sys_text.str(), "system").size() + 2U);
    // pcscd's namespace gets the system's libccid.so on the placeholder, then the folder.
    const auto mounts = bundle.mounts();
    BOOST_TEST_REQUIRE(mounts.size() == 2U);
    BOOST_TEST(mounts[0].first == std::filesystem::canonical(system / "Contents/Linux/libccid.so"));
    BOOST_TEST(mounts[1].second == std::filesystem::path("/usr/lib/pcsc/drivers"));
    std::filesystem::remove_all(dir);
}
