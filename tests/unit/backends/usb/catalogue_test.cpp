#include "backends/usb/usb.hpp"
#include "pure/error.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace harness;

namespace {

const std::string header = "vid,pid,maker,product,interface_class,note_en,note_ja\n";

std::filesystem::path write_temp(const std::string& text) {
    static int counter = 0;
    auto path = std::filesystem::temp_directory_path() /
                ("cardharness_catalogue_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter++) + ".csv");
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string error_of(const std::string& text) {
    const auto path = write_temp(text);
    std::string message = "(no error)";
    try {
        usb::load_catalogue(path);
    } catch (const ConfigError& e) {
        message = e.what();
        const auto prefix = path.string() + ":";
        if (message.rfind(prefix, 0) == 0)
            message = "FILE:" + message.substr(prefix.size());
    }
    std::filesystem::remove(path);
    return message;
}

} // namespace

BOOST_AUTO_TEST_CASE(shipped_catalogue_lists_the_sony_vendor_class_readers) {
    const auto catalogue =
        usb::load_catalogue(test::source_dir() / "profiles" / "readers" / "catalogue.csv");
    for (auto [vid, pid] : {std::pair{0x054C, 0x06C1}, {0x054C, 0x06C3}, {0x054C, 0x02E1}}) {
        const auto* entry =
            catalogue.find(static_cast<std::uint16_t>(vid), static_cast<std::uint16_t>(pid));
        BOOST_TEST_REQUIRE(entry != nullptr);
        BOOST_TEST(entry->maker == "Sony");
        BOOST_TEST(entry->interface_class == 0xFF);
        BOOST_TEST(!entry->note_en.empty());
        BOOST_TEST(!entry->note_ja.empty());
    }
    // RC-S300 is CCID class: it must not be in the non-CCID catalogue.
    BOOST_TEST(catalogue.find(0x054C, 0x0DC8) == nullptr);
}

BOOST_AUTO_TEST_CASE(quoted_fields_and_column_order_are_accepted) {
    const auto path = write_temp("note_ja,note_en,vid,pid,maker,product,interface_class\n"
                                 "\"注, 意\",\"a, \"\"b\"\"\",054c,6C1,Sony,RC-S380,ff\n");
    const auto catalogue = usb::load_catalogue(path);
    std::filesystem::remove(path);
    BOOST_TEST_REQUIRE(catalogue.entries.size() == 1U);
    const auto& e = catalogue.entries[0];
    BOOST_TEST(e.vid == 0x054C);
    BOOST_TEST(e.pid == 0x06C1);
    BOOST_TEST(e.interface_class == 0xFF);
    BOOST_TEST(e.note_en == "a, \"b\"");
    BOOST_TEST(e.note_ja == "注, 意");
}

BOOST_AUTO_TEST_CASE(bad_rows_report_file_line_and_column) {
    struct Case {
        std::string text;
        std::string expected;
    };
    const Case cases[] = {
        {"vid,pid,maker\n", "FILE:1:14: expected a column \"product\" in the header (also missing: "
                            "\"interface_class\", \"note_en\", \"note_ja\"; columns: "
                            "vid,pid,maker,product,interface_class,note_en,note_ja)"},
        {header + "054C,06C1,Sony,RC-S380,FF,n,j\n054X,06C3,Sony,RC-S380,FF,n,j\n",
         "FILE:3:1: expected a vendor ID of 1-4 hex digits like 054C in column vid, found "
         "\"054X\""},
        {header + "054C,106C1,Sony,RC-S380,FF,n,j\n",
         "FILE:2:6: expected a product ID of 1-4 hex digits like 06C1 in column pid, found "
         "\"106C1\""},
        {header + "054C,06C1,Sony,\"RC-S380, P\",1FF,n,j\n",
         "FILE:2:29: expected an interface class of 1-2 hex digits like FF in column "
         "interface_class, found \"1FF\""},
        {header + "054C,06C1,Sony,RC-S380,FF,,j\n",
         "FILE:2:27: expected a non-empty value in column note_en, found \"\""},
        {header + "054C,06C1,Sony,RC-S380,FF\n",
         "FILE:2:26: expected 7 cells as in the header, found 5 (quote cells that contain "
         "commas: \"a,b\")"},
        {header + "054C,06C1,Sony,RC-S380,FF,n,j,extra\n",
         "FILE:2:31: expected 7 cells as in the header, found 8 (quote cells that contain "
         "commas: \"a,b\")"},
        {header + "054C,06C1,Sony,RC-S380,FF,n,j\n054C,06C1,Sony,RC-S380,FF,n,j\n",
         "FILE:3:1: expected a VID:PID not listed before (054C:06C1 is a duplicate) in column "
         "vid, found \"054C\""},
    };
    for (const auto& c : cases)
        BOOST_TEST(error_of(c.text) == c.expected);
    BOOST_CHECK_THROW(usb::load_catalogue("/nonexistent/catalogue.csv"), ConfigError);
}

BOOST_AUTO_TEST_CASE(installed_ccid_driver_list_has_acs_and_sony_rc_s300) {
    const std::filesystem::path plist = "/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist";
    if (!std::filesystem::exists(plist))
        test::skip("libccid is not installed (no " + plist.string() + ")");
    const auto list = usb::load_ccid_driver_list(plist);
    BOOST_TEST(list.entries.size() > 100U);
    const auto* rc_s300 = list.find(0x054C, 0x0DC8);
    BOOST_TEST_REQUIRE(rc_s300 != nullptr);
    BOOST_TEST(rc_s300->name.find("RC-S300") != std::string::npos);
    BOOST_TEST(list.find(0x054C, 0x06C1) == nullptr); // RC-S380 is not CCID
    BOOST_CHECK_THROW(usb::load_ccid_driver_list("/nonexistent/Info.plist"), EnvironmentError);
}
