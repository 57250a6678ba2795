#include "pure/error.hpp"
#include "services/lab/lab_config.hpp"
#include "services/lab/reader_model.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>

using namespace harness;
using namespace harness::lab;

namespace {

std::filesystem::path models_dir() {
    return test::source_dir() / "profiles" / "readers";
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("cardharness_lab_" + name);
    std::ofstream(path) << text;
    return path;
}

const char* header = "id,manufacturer,product,vendor_id,product_id,bcd_device,serial,interfaces,"
                     "exchange,max_message_length,protocols,pps,le_zero,chain_corrupt_above,wtx,"
                     "timeout_ms,latency_us,flaky_every,status,notes\n";

std::string config_error(const std::filesystem::path& file) {
    try {
        load_reader_models(file);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(shipped_models_load_and_cover_the_required_quirks) {
    const auto models = load_reader_model_dir(models_dir());
    BOOST_TEST(models.size() >= 8U);
    int short_small = 0, no_wtx = 0, no_pps = 0, type_a_only = 0, contact_only = 0,
        extended_dual = 0, tpdu_contact = 0;
    for (const auto& m : models) {
        BOOST_TEST(m.usb.product.rfind("Lab ", 0) == 0U, m.id);
        BOOST_TEST(m.usb.vendor_id == 0xF1ABU, m.id);
        short_small += m.exchange == Exchange::ShortApdu && m.max_block() < 258;
        no_wtx += !m.wtx && m.timeout.count() <= 1000;
        no_pps += m.pps == Pps::None;
        type_a_only += m.type_a && !m.type_b && !m.contact;
        contact_only += m.contact && !m.type_a && !m.type_b;
        extended_dual += m.exchange == Exchange::ExtendedApdu && m.contact && m.type_b;
        tpdu_contact += m.exchange == Exchange::Tpdu && m.contact;
    }
    BOOST_TEST(short_small >= 1);
    BOOST_TEST(no_wtx >= 1);
    BOOST_TEST(no_pps >= 1);
    BOOST_TEST(type_a_only >= 1);
    BOOST_TEST(contact_only >= 1);
    BOOST_TEST(extended_dual >= 1);
    BOOST_TEST(tpdu_contact >= 1);
}

BOOST_AUTO_TEST_CASE(ccid_descriptor_is_consistent_with_the_quirks) {
    for (const auto& m : load_reader_model_dir(models_dir())) {
        const ccid::Descriptor d = m.ccid_descriptor();
        const auto level = d.exchange_level();
        BOOST_TEST(
            (level == (m.exchange == Exchange::Tpdu        ? ccid::ExchangeLevel::Tpdu
                       : m.exchange == Exchange::ShortApdu ? ccid::ExchangeLevel::ShortApdu
                                                           : ccid::ExchangeLevel::ExtendedApdu)),
            m.id);
        BOOST_TEST(d.max_message_length == m.max_message_length, m.id);
        BOOST_TEST(d.has_feature(ccid::feature::auto_pps) == (m.pps == Pps::Automatic), m.id);
        BOOST_TEST(d.supports_t0() == m.t0, m.id);
        BOOST_TEST(d.supports_t1() == m.t1, m.id);
        // Round trip through the CCID encoder/decoder (CCID §5.1).
        const auto decoded = ccid::decode(ccid::encode(d));
        BOOST_TEST((decoded.descriptor == d), m.id);
        BOOST_TEST(m.max_apdu_data_size() == (m.exchange == Exchange::ShortApdu ? 0U : 65536U));
    }
}

BOOST_AUTO_TEST_CASE(bad_cells_are_reported_with_file_line_and_column) {
    struct Case {
        std::string row;
        std::string expected;
        std::string position;
    };
    const std::string good_tail = ",pass,,yes,1000,0,0,virtual,n\n";
    const Case cases[] = {
        {"m1,Maker,Lab X,0xZZ,1,1,s,contact,tpdu,271,t1,driver" + good_tail, "16-bit number",
         ":2:16:"},
        {"m1,Maker,Real X,1,1,1,s,contact,tpdu,271,t1,driver" + good_tail, "starting with \"Lab \"",
         ":2:10:"},
        {"m1,Maker,Lab X,1,1,1,s,usb,tpdu,271,t1,driver" + good_tail, "interfaces joined",
         ":2:24:"},
        {"m1,Maker,Lab X,1,1,1,s,contact,char,271,t1,driver" + good_tail, "tpdu, short_apdu",
         ":2:32:"},
        {"m1,Maker,Lab X,1,1,1,s,contact,tpdu,12,t1,driver" + good_tail, "dwMaxCCIDMessageLength",
         ":2:37:"},
        {"m1,Maker,Lab X,1,1,1,s,contact,tpdu,271,t1,maybe" + good_tail, "auto, driver or none",
         ":2:44:"},
    };
    for (const auto& c : cases) {
        const auto file = write_temp("bad.csv", std::string(header) + c.row);
        const std::string error = config_error(file);
        BOOST_TEST(error.find(c.expected) != std::string::npos, error);
        BOOST_TEST(error.find(file.string() + c.position) == 0U, error);
    }
    const auto short_row = write_temp("short.csv", std::string(header) + "m1,Maker\n");
    BOOST_TEST(config_error(short_row).find(short_row.string() + ":2:") == 0U,
               config_error(short_row));
    BOOST_CHECK_THROW(load_reader_models("/nonexistent/models.csv"), ConfigError);
}

BOOST_AUTO_TEST_CASE(default_lab_uses_every_model_and_valid_cells) {
    const auto models = load_reader_model_dir(models_dir());
    const auto slots = load_lab(test::source_dir() / "profiles" / "labs" / "default.csv", models);
    for (const auto& m : models) {
        bool used = false;
        for (const auto& s : slots)
            used |= s.reader_model == m.id;
        BOOST_TEST(used, m.id);
    }
    const auto bad = write_temp("lab.csv", "slot,reader_model,card,interface,citizen\n"
                                           "r1,lab-tpdu-contact,mynumber,contact,no\n"
                                           "r2,no-such-model,juki,contact,no\n");
    try {
        load_lab(bad, models);
        BOOST_FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        BOOST_TEST(std::string(e.what()).find(bad.string() + ":3:4: expected a reader model") == 0U,
                   e.what());
    }
}

BOOST_AUTO_TEST_CASE(a_descriptor_dump_model_wears_the_real_readers_identity) {
    // A dump in the CCID driver's parse format (one interface block), next to the CSV.
    const auto dump = write_temp("dump.txt", R"( idVendor: 0x072F
  iManufacturer: ACS
 idProduct: 0xB100
  iProduct: ACR39U ICC Reader
 bcdDevice: 1.00 (firmware release?)
 bLength: 9
 bDescriptorType: 4
 bInterfaceNumber: 0
 bAlternateSetting: 0
 bNumEndpoints: 3
  bulk-IN, bulk-OUT and Interrupt-IN
 bInterfaceClass: 0x0B [Chip Card Interface Device Class (CCID)]
 bInterfaceSubClass: 0
 bInterfaceProtocol: 0
  bulk transfer, optional interrupt-IN (CCID)
 iInterface: 0
 CCID Class Descriptor
  bLength: 0x36
  bDescriptorType: 0x21
  bcdCCID: 1.10
  bMaxSlotIndex: 0x00
  bVoltageSupport: 0x07
  dwProtocols: 0x0000 0x0003
  dwDefaultClock: 4.800 MHz
  dwMaximumClock: 16.000 MHz
  bNumClockSupported: 0 (will use whatever is returned)
  dwDataRate: 12903 bps
  dwMaxDataRate: 600000 bps
  bNumDataRatesSupported: 0 (will use whatever is returned)
  dwMaxIFSD: 254
  dwSynchProtocols: 0x00000000
  dwMechanical: 0x00000000
  dwFeatures: 0x000100B2
  dwMaxCCIDMessageLength: 271 bytes
  bClassGetResponse: 0xFF
  bClassEnvelope: 0xFF
  wLcdLayout: 0x0000
  bPINSupport: 0x00
  bMaxCCIDBusySlots: 1
)");
    const char* header =
        "id,manufacturer,product,vendor_id,product_id,bcd_device,serial,interfaces,"
        "exchange,max_message_length,protocols,pps,le_zero,chain_corrupt_above,"
        "wtx,timeout_ms,latency_us,flaky_every,status,notes,descriptor_dump\n";
    const auto file =
        write_temp("dump_models.csv", std::string(header) +
                                          "m-dump,,,,,,,contact,,,,,pass,,yes,10000,0,0,"
                                          "virtual,real reader," +
                                          dump.filename().string() + "\n");
    const auto models = lab::load_reader_models(file);
    BOOST_TEST_REQUIRE(models.size() == 1U);
    const auto& m = models[0];
    BOOST_TEST(m.usb.vendor_id == 0x072FU);
    BOOST_TEST(m.usb.product_id == 0xB100U);
    BOOST_TEST(m.usb.manufacturer == "ACS");
    BOOST_TEST(m.usb.product == "ACR39U ICC Reader");
    BOOST_TEST(m.usb.serial == "LAB072FB100-0001");
    BOOST_TEST((m.exchange == lab::Exchange::Tpdu));
    BOOST_TEST((m.pps == lab::Pps::Automatic)); // dwFeatures 0x80
    BOOST_TEST(m.ccid_descriptor().max_data_rate_bps == 600000U);
    BOOST_TEST(m.ccid_descriptor().features == 0x000100B2U);
    // The dump decides these cells: a value there is an error with its position.
    const auto bad = write_temp("dump_bad.csv", std::string(header) +
                                                    "m-dump,ACS,,,,,,contact,,,,,pass,,yes,10000,0,"
                                                    "0,virtual,x," +
                                                    dump.filename().string() + "\n");
    try {
        lab::load_reader_models(bad);
        BOOST_FAIL("a manufacturer cell beside descriptor_dump was accepted");
    } catch (const ConfigError& e) {
        BOOST_TEST(std::string(e.what()).find("dump_bad.csv:2:") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("descriptor_dump gives this value") !=
                   std::string::npos);
    }
    const auto missing =
        write_temp("dump_missing.csv", std::string(header) + "m-dump,,,,,,,contact,,,,,pass,,yes,"
                                                             "10000,0,0,virtual,x,nope.txt\n");
    BOOST_CHECK_THROW(lab::load_reader_models(missing), ConfigError);
}
