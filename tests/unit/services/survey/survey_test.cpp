// The survey service without USB: the reviewed interface table, what goes where, the driver's
// outcome and level overrides read from CCID messages, results as JSON, and the agreement rules.
#include "pure/ccid_message.hpp"
#include "pure/error.hpp"
#include "pure/t1_block.hpp"
#include "services/survey/survey.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <unistd.h>

using namespace harness;
using namespace harness::survey;
namespace fs = std::filesystem;
using model::Compatibility;

namespace {

// A fictitious vendor id: these readers are test data, not anyone's product.
std::string dump_text(const std::string& product, std::uint16_t pid, std::uint16_t bcd,
                      const std::string& level_line, std::uint32_t features,
                      std::uint32_t max_message, const std::string& interface_name = "") {
    return fmt::format(R"( idVendor: 0xF1AB
  iManufacturer: Survey Test
 idProduct: 0x{:04X}
  iProduct: {}
 bcdDevice: {:X}.{:02X} (firmware release?)
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
 iInterface: {}
 CCID Class Descriptor
  bLength: 0x36
  bDescriptorType: 0x21
  bcdCCID: 1.10
  bMaxSlotIndex: 0x00
  bVoltageSupport: 0x07
   5.0V
   3.0V
   1.8V
  dwProtocols: 0x0000 0x0003
   T=0
   T=1
  dwDefaultClock: 4.000 MHz
  dwMaximumClock: 4.000 MHz
  bNumClockSupported: 0 (will use whatever is returned)
  dwDataRate: 10752 bps
  dwMaxDataRate: 344086 bps
  bNumDataRatesSupported: 0 (will use whatever is returned)
  dwMaxIFSD: 254
  dwSynchProtocols: 0x00000000
  dwMechanical: 0x00000000
   No special characteristics
  dwFeatures: 0x{:08X}
   {}
  dwMaxCCIDMessageLength: {} bytes
  bClassGetResponse: 0xFF
   echoes the APDU class
  bClassEnvelope: 0xFF
   echoes the APDU class
  wLcdLayout: 0x0000
  bPINSupport: 0x00
  bMaxCCIDBusySlots: 1
)",
                       pid, product, bcd >> 8U, bcd & 0xFFU,
                       interface_name.empty() ? std::string("0") : interface_name, features,
                       level_line, max_message);
}

std::string tpdu_dump(std::uint16_t pid = 0x0001, std::uint16_t bcd = 0x0100) {
    return dump_text("Test TPDU Reader", pid, bcd, "01.... TPDU level exchange", 0x000100BA, 271);
}
std::string short_dump(std::uint16_t pid = 0x0002) {
    return dump_text("Test Short Reader", pid, 0x0100, "02.... Short APDU level exchange",
                     0x000200BA, 271);
}
std::string extended_dump(std::uint16_t pid = 0x0003) {
    return dump_text("Test Extended Reader", pid, 0x0100,
                     "04.... Short and Extended APDU level exchange", 0x000400BA, 522);
}
std::string character_dump(std::uint16_t pid = 0x0004) {
    return dump_text("Test Character Reader", pid, 0x0100, "00.... Character level exchange",
                     0x000000BA, 271);
}

const std::string rules_csv = R"(# test rules
vid,pid,bcd_device,interface,takes,evidence
F1AB,0002,,,contactless,"product ""Test Short Reader"" read as contactless for the test"
F1AB,0003,,0,contact+contactless,interface 0 both
F1AB,0003,0100,0,sam,"bcdDevice 1.00, interface 0: more specific"
F1AB,0005,,,none,a token
)";

Item item_of(const std::string& text, const std::vector<InterfaceRule>& rules = {}) {
    auto items = items_of_dump(text, "/tmp/test.txt", rules);
    BOOST_TEST_REQUIRE(items.size() == 1U);
    return items.front();
}

Bytes xfr(ByteView data, std::uint16_t level = 0) {
    ccid::Command c;
    c.type = ccid::MessageType::XfrBlock;
    c.data = Bytes(data.begin(), data.end());
    c.level_parameter = level;
    return ccid::encode(c);
}

Bytes set_parameters(std::uint8_t protocol) {
    ccid::Command c;
    c.type = ccid::MessageType::SetParameters;
    c.protocol = protocol;
    c.data = protocol == 1 ? Bytes{0x11, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00}
                           : Bytes{0x11, 0x00, 0x00, 0x0A, 0x00};
    return ccid::encode(c);
}

fs::path temp_dir() {
    auto dir = fs::temp_directory_path() / fmt::format("survey_test_{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

} // namespace

BOOST_AUTO_TEST_CASE(interface_table_parses_and_the_most_specific_row_wins) {
    const auto rules = parse_card_interfaces(rules_csv, "rules.csv");
    BOOST_TEST(rules.size() == 4U);
    BOOST_TEST(rules[0].where == "rules.csv:3");
    ccid::DeviceIdentity id;
    id.vendor_id = 0xF1AB;
    id.product_id = 0x0003;
    id.bcd_device = 0x0100;
    BOOST_TEST((physical_of(rules, id, 0).socket == Socket::Sam));
    id.bcd_device = 0x0200;
    BOOST_TEST((physical_of(rules, id, 0).socket == Socket::ContactAndContactless));
    BOOST_TEST(physical_of(rules, id, 0).reviewed);
    const auto other = physical_of(rules, id, 1); // no row for interface 1: the default
    BOOST_TEST(!other.reviewed);
    BOOST_TEST(other.contact());
    BOOST_TEST(!other.contactless());
}

BOOST_AUTO_TEST_CASE(interface_table_errors_name_file_line_and_column) {
    const auto error = [](const std::string& text) -> std::string {
        try {
            parse_card_interfaces(text, "t.csv");
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "no error";
    };
    const std::string header = "vid,pid,bcd_device,interface,takes,evidence\n";
    BOOST_TEST(error(header + "XYZ,0001,,,contact,e\n").find("t.csv:2:1: expected a USB vendor") ==
               0U);
    BOOST_TEST(error(header + "F1AB,0001,,,wireless,e\n").find("t.csv:2:13: expected contact,") ==
               0U);
    BOOST_TEST(error(header + "F1AB,0001,,,contact,\n").find("t.csv:2:21: expected the evidence") ==
               0U);
    BOOST_TEST(error(header + "F1AB,0001,,,contact,a\nF1AB,0001,,,sam,b\n")
                   .find("t.csv:3:1: expected one row per") == 0U);
    BOOST_TEST(error(header + "F1AB,0001,,300,contact,a\n")
                   .find("t.csv:2:12: expected empty or a "
                         "bInterfaceNumber") == 0U);
    BOOST_TEST(error("vid,pid\n").find("t.csv:1:8: expected a column \"bcd_device\"") == 0U,
               error("vid,pid\n"));
    BOOST_TEST(error(header + "F1AB,0001,,,contact,\"open\n")
                   .find("t.csv:2:21: expected a "
                         "closing") == 0U);
}

BOOST_AUTO_TEST_CASE(shipped_interface_table_loads_and_names_real_readers) {
    const auto rules =
        load_card_interfaces(test::source_dir() / "profiles/readers/card_interfaces.csv");
    BOOST_TEST(rules.size() > 300U);
    for (const auto& r : rules)
        BOOST_TEST(!r.evidence.empty(), r.where);
    // Every row must match an interface of some dump: a typo in a VID or PID shows here.
    const auto dir = test::shared_dir() / "data/ccid-readers";
    if (!fs::exists(dir))
        return; // ../shared is absent in a user's clone
    const auto folder = read_dump_folder(dir, rules);
    std::set<std::string> used;
    for (const auto& item : folder.items)
        if (item.physical.reviewed)
            used.insert(item.physical.where);
    for (const auto& r : rules)
        BOOST_TEST(used.count(r.where) == 1U, r.where << " matches no dump interface");
    // The RC-S300 is contactless only.
    bool rcs300 = false;
    for (const auto& item : folder.items)
        if (item.file == "SONY_FeliCa_RC-S300_S.txt") {
            rcs300 = true;
            BOOST_TEST((item.physical.socket == Socket::Contactless));
        }
    BOOST_TEST(rcs300);
}

BOOST_AUTO_TEST_CASE(a_malformed_dump_is_named_with_its_line_and_the_rest_is_read) {
    const auto dir = temp_dir();
    std::ofstream(dir / "a_good.txt") << tpdu_dump();
    std::string bad = extended_dump();
    bad.replace(bad.find("dwMaxCCIDMessageLength: 522"), 27, "dwMaxCCIDMessageLength: lots");
    std::ofstream(dir / "b_bad.txt") << bad;
    std::ofstream(dir / "c_good.txt") << short_dump();
    std::ofstream(dir / "supported_readers.txt") << "# not a dump\n";
    std::ofstream(dir / "notes.md") << "not a dump either\n";
    const auto folder = read_dump_folder(dir, {});
    BOOST_TEST(folder.files == 3U);
    BOOST_TEST_REQUIRE(folder.items.size() == 2U);
    BOOST_TEST(folder.items[0].file == "a_good.txt");
    BOOST_TEST(folder.items[1].file == "c_good.txt");
    BOOST_TEST_REQUIRE(folder.problems.size() == 1U);
    BOOST_TEST(folder.problems[0].file == "b_bad.txt");
    // path:line:column of the bad line
    const auto& message = folder.problems[0].message;
    BOOST_TEST(message.find((dir / "b_bad.txt").string() + ":41:27: expected") == 0U, message);
    std::ofstream(dir / "d_empty.txt") << "\n";
    BOOST_TEST(read_dump_folder(dir, {}).problems.size() == 2U);
    fs::remove_all(dir);
    BOOST_CHECK_THROW(read_dump_folder(dir, {}), UsageError);
}

BOOST_AUTO_TEST_CASE(cells_follow_the_physical_interfaces_and_the_emulated_levels) {
    const auto rules = parse_card_interfaces(rules_csv, "rules.csv");
    const std::vector<std::string> all{"mynumber", "juki", "transport"};
    const std::vector<std::string> both{"contact", "contactless"};
    const auto plans = [&](const Item& item) {
        std::vector<std::string> out;
        for (const auto& p : plan_cells(item, all, both))
            out.push_back(fmt::format("{}/{}:{}", p.cell.card_type, p.cell.interface,
                                      static_cast<int>(p.plan)));
        return fmt::format("{}", fmt::join(out, " "));
    };
    // Default (not reviewed): contact runs, contactless unknown, transport on contact.
    BOOST_TEST(plans(item_of(tpdu_dump(), rules)) ==
               "mynumber/contact:0 mynumber/contactless:2 juki/contact:0 juki/contactless:2 "
               "transport/contact:0");
    // Reviewed contactless-only: contact cells cannot physically happen, no transport.
    BOOST_TEST(plans(item_of(short_dump(), rules)) ==
               "mynumber/contact:1 mynumber/contactless:0 juki/contact:1 juki/contactless:0");
    // A SAM socket (the more specific row) takes no ID-1 card at all.
    BOOST_TEST(plans(item_of(extended_dump(), rules)) ==
               "mynumber/contact:1 mynumber/contactless:1 juki/contact:1 juki/contactless:1");
    BOOST_TEST(plans(item_of(character_dump(), rules)) ==
               "mynumber/contact:3 mynumber/contactless:2 juki/contact:3 juki/contactless:2 "
               "transport/contact:3");
    const auto run = plan_cells(item_of(tpdu_dump(), rules), {"juki"}, {"contact"});
    BOOST_TEST_REQUIRE(run.size() == 1U);
    BOOST_TEST(run[0].profile == "juki");
    const auto cl = plan_cells(item_of(short_dump(), rules), {"mynumber"}, {"contactless"});
    BOOST_TEST(cl[0].profile == "mynumber-contactless");
    BOOST_CHECK_THROW(plan_cells(item_of(tpdu_dump()), {"passport"}, both), UsageError);
    BOOST_CHECK_THROW(plan_cells(item_of(tpdu_dump()), all, {"wifi"}), UsageError);

    // Decided cells carry their cause and the evidence.
    const auto sam = item_of(extended_dump(), rules);
    const auto decided = decided_cell(sam, plan_cells(sam, {"mynumber"}, {"contact"})[0]);
    BOOST_TEST((decided.verdict == Compatibility::Incompatible));
    BOOST_TEST(decided.cause() == "no_card_slot");
    BOOST_TEST(decided.diagnosis_en.find("SAM socket") != std::string::npos);
    BOOST_TEST(decided.diagnosis_en.find("more specific") != std::string::npos);
    BOOST_TEST(!decided.diagnosis_ja.empty());
    const auto character = item_of(character_dump());
    const auto not_emulated =
        decided_cell(character, plan_cells(character, {"mynumber"}, {"contact"})[0]);
    BOOST_TEST((not_emulated.verdict == Compatibility::Untested));
    BOOST_TEST(not_emulated.cause() == "not_emulated");
    const auto plain = item_of(tpdu_dump());
    const auto unknown = decided_cell(plain, plan_cells(plain, {"juki"}, {"contactless"})[0]);
    BOOST_TEST(unknown.cause() == "contactless_unknown");
    BOOST_TEST((unknown.verdict == Compatibility::Untested));
}

BOOST_AUTO_TEST_CASE(the_driver_outcome_is_read_from_what_it_did) {
    DriverFacts f;
    BOOST_TEST((classify_driver(f) == DriverOutcome::NotListed)); // nobody opened it
    f.opens = 1;
    f.claims = 1;
    BOOST_TEST((classify_driver(f) == DriverOutcome::RefusedFirmware)); // claimed, said nothing
    f.messages = 4;
    BOOST_TEST((classify_driver(f) == DriverOutcome::OpenFailed)); // talked, no reader
    f.readers = 1;
    BOOST_TEST((classify_driver(f) == DriverOutcome::Opened));

    const auto item = item_of(tpdu_dump(0x0009, 0x0102));
    const auto planned = plan_cells(item, {"mynumber"}, {"contact"})[0];
    DriverFacts refused;
    refused.outcome = DriverOutcome::RefusedFirmware;
    refused.libccid_version = "1.5.2";
    refused.claims = 1;
    refused.log_line = "Firmware (1.02) is bogus! Upgrade the reader firmware or get a new reader.";
    const auto r = driver_cell(item, planned, refused);
    BOOST_TEST(r.cause() == "driver_refused_firmware");
    BOOST_TEST((r.verdict == Compatibility::Incompatible));
    BOOST_TEST(r.diagnosis_en.find("libccid 1.5.2") != std::string::npos);
    BOOST_TEST(r.diagnosis_en.find("firmware 1.02") != std::string::npos);
    BOOST_TEST(r.diagnosis_en.find("is bogus!") != std::string::npos);
    DriverFacts unlisted;
    unlisted.outcome = DriverOutcome::NotListed;
    const auto u = driver_cell(item, planned, unlisted);
    BOOST_TEST(u.cause() == "driver_not_listed");
    BOOST_TEST(u.diagnosis_en.find("F1AB:0009") != std::string::npos);
    DriverFacts failed;
    failed.outcome = DriverOutcome::OpenFailed;
    failed.messages = 3;
    BOOST_TEST((driver_cell(item, planned, failed).verdict == Compatibility::Untested));
}

BOOST_AUTO_TEST_CASE(level_overrides_are_read_from_the_messages_the_firmware_received) {
    const auto short_reader = *item_of(short_dump()).dump.descriptor;
    const auto tpdu_reader = *item_of(tpdu_dump()).dump.descriptor;
    const Bytes select{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00};
    // A short-APDU reader receiving chained XfrBlocks (libccid's extended algorithm).
    LevelObservation chained;
    chained.add(short_reader, xfr(select));
    chained.add(short_reader, xfr(Bytes(100, 0x11), 0x0001));
    chained.add(short_reader, xfr(Bytes(100, 0x11), 0x0002));
    BOOST_TEST(chained.chained == 2U);
    auto causes = level_causes(short_reader, chained);
    BOOST_TEST_REQUIRE(causes.size() == 1U);
    BOOST_TEST(causes[0].code == "driver_level_override");
    BOOST_TEST(causes[0].en.find("0x0001, 0x0002") != std::string::npos);
    // An APDU reader receiving T=1 blocks.
    LevelObservation blocks;
    blocks.add(short_reader, xfr(t1::encode(t1::i_block(false, false, select), t1::Edc::Lrc)));
    BOOST_TEST(blocks.t1_blocks == 1U);
    BOOST_TEST(level_causes(short_reader, blocks).at(0).en.find("as TPDU") != std::string::npos);
    // A TPDU reader receiving T=1 blocks and a PPS: as declared, nothing to say.
    LevelObservation tpdu;
    tpdu.add(tpdu_reader, xfr(Bytes{0xFF, 0x10, 0x13, 0xFC}));
    tpdu.add(tpdu_reader, xfr(t1::encode(t1::i_block(false, false, select), t1::Edc::Crc)));
    BOOST_TEST(tpdu.pps == 1U);
    BOOST_TEST(level_causes(tpdu_reader, tpdu).empty());
    // ... and whole APDUs under T=1: the driver treats it as an APDU reader. Under T=0 a TPDU
    // has an APDU's shape: nothing to say.
    tpdu = {};
    tpdu.add(tpdu_reader, set_parameters(0));
    tpdu.add(tpdu_reader, xfr(select));
    BOOST_TEST(tpdu.apdus == 0U);
    BOOST_TEST(level_causes(tpdu_reader, tpdu).empty());
    tpdu.add(tpdu_reader, set_parameters(1));
    tpdu.add(tpdu_reader, xfr(select));
    BOOST_TEST(tpdu.apdus == 1U);
    BOOST_TEST(level_causes(tpdu_reader, tpdu).at(0).en.find("as an APDU reader") !=
               std::string::npos);
    ccid::Command on;
    on.type = ccid::MessageType::IccPowerOn;
    tpdu.add(tpdu_reader, ccid::encode(on)); // a new power-on forgets the protocol
    BOOST_TEST(!tpdu.protocol.has_value());
    // An extended reader whose chained response the driver never continues (treated as short).
    const auto extended_reader = *item_of(extended_dump()).dump.descriptor;
    LevelObservation truncated;
    truncated.add(extended_reader, xfr(select));
    truncated.add_reply(ccid::encode(
        ccid::Reply{ccid::MessageType::DataBlock, 0, 0, 0, 0, 0x01, Bytes(512, 0x33)}));
    BOOST_TEST(truncated.chained_replies == 1U);
    BOOST_TEST(level_causes(extended_reader, truncated).at(0).en.find("as short-APDU") !=
               std::string::npos);
    truncated.add(extended_reader, xfr({}, 0x0010)); // the driver asks for the next part
    truncated.add_reply(
        ccid::encode(ccid::Reply{ccid::MessageType::DataBlock, 0, 0, 0, 0, 0x02, Bytes(10, 0x33)}));
    BOOST_TEST(truncated.continuations == 1U);
    BOOST_TEST(level_causes(extended_reader, truncated).empty());
    // A message above dwMaxCCIDMessageLength.
    LevelObservation big;
    big.add(short_reader, xfr(Bytes(270, 0x22)));
    BOOST_TEST(big.over_length == 1U);
    BOOST_TEST(big.longest == 280U);
    BOOST_TEST(level_causes(short_reader, big).at(0).code == "driver_exceeds_message_length");
    LevelObservation sum = chained;
    sum += big;
    BOOST_TEST(sum.messages == 4U);

    // The driver's cause leads a failed verdict and follows a passed one, never changing it.
    const PlannedCell planned{{"mynumber", "contact"}, CellPlan::Run, "mynumber"};
    const std::vector<Cause> judged{
        {"message_too_long", Compatibility::Incompatible, "too long", "長すぎる"}};
    const auto failed =
        judged_cell(planned, Compatibility::Incompatible, judged, short_reader, chained);
    BOOST_TEST(failed.cause() == "driver_level_override");
    BOOST_TEST(failed.causes.size() == 2U);
    BOOST_TEST(failed.diagnosis_en.find("; too long") != std::string::npos);
    const std::vector<Cause> passed{{"all_passed", Compatibility::Compatible, "ok", "合格"}};
    const auto ok = judged_cell(planned, Compatibility::Compatible, passed, short_reader, chained);
    BOOST_TEST(ok.cause() == "all_passed");
    BOOST_TEST((ok.verdict == Compatibility::Compatible));
}

BOOST_AUTO_TEST_CASE(results_print_the_documented_json_and_come_back_from_it) {
    const auto rules = parse_card_interfaces(rules_csv, "rules.csv");
    const auto item = item_of(tpdu_dump(0x0010, 0x0203), rules);
    auto result = start_result(item);
    result.driver.outcome = DriverOutcome::Opened;
    result.driver.libccid_version = "1.5.2";
    result.driver.readers = 1;
    const PlannedCell planned{{"mynumber", "contact"}, CellPlan::Run, "mynumber"};
    result.verdicts.push_back(judged_cell(planned, Compatibility::Compatible,
                                          {{"all_passed", Compatibility::Compatible, "ok", "合格"}},
                                          *item.dump.descriptor, {}));
    for (const auto& p : plan_cells(item, {"juki"}, {"contactless"}))
        result.verdicts.push_back(decided_cell(item, p));
    const auto j = to_json(result);
    BOOST_TEST(j["file"] == "test.txt");
    BOOST_TEST(j["vid"].is_number_integer());
    BOOST_TEST(j["vid"] == 0xF1AB);
    BOOST_TEST(j["pid"] == 0x0010);
    BOOST_TEST(j["bcd_device"] == 0x0203);
    BOOST_TEST(j["exchange_level"] == "tpdu");
    BOOST_TEST(j["max_message_length"] == 271);
    BOOST_TEST(j["prediction"] == "likely");
    BOOST_TEST_REQUIRE(j["verdicts"].size() == 2U);
    const auto& v = j["verdicts"][0];
    for (const char* key :
         {"card_type", "interface", "verdict", "cause", "diagnosis", "diagnosis_ja"})
        BOOST_TEST(v.contains(key), key);
    BOOST_TEST(v["verdict"] == "compatible");
    BOOST_TEST(j["verdicts"][1]["cause"] == "contactless_unknown");
    BOOST_TEST(j["takes_source"] == "default");
    BOOST_TEST(j["driver"]["outcome"] == "opened");

    const auto back = result_from_json(nlohmann::json::parse(j.dump()), "stored");
    BOOST_TEST(back.file == result.file);
    BOOST_TEST(back.identity.bcd_device == 0x0203);
    BOOST_TEST((back.descriptor == result.descriptor));
    BOOST_TEST(back.verdicts.size() == 2U);
    BOOST_TEST(back.verdicts[1].cause() == "contactless_unknown");
    BOOST_TEST((back.driver.outcome == DriverOutcome::Opened));
    BOOST_TEST(to_json(back).dump() == j.dump());
    BOOST_CHECK_THROW(result_from_json(nlohmann::json::parse("{\"file\": 1}"), "x"), UsageError);
}

BOOST_AUTO_TEST_CASE(agreement_compares_the_my_number_cell_with_the_prediction) {
    const auto item = item_of(tpdu_dump());
    const PlannedCell contact{{"mynumber", "contact"}, CellPlan::Run, "mynumber"};
    const auto with = [&](Compatibility verdict, const std::string& cause) {
        auto r = start_result(item);
        r.verdicts.push_back(
            judged_cell(contact, verdict, {{cause, verdict, "x", "x"}}, *item.dump.descriptor, {}));
        return agreement_of(r);
    };
    // A TPDU T=1 reader is predicted "likely".
    BOOST_TEST((with(Compatibility::Compatible, "all_passed").agreement == Agreement::Agree));
    const auto disagree = with(Compatibility::Incompatible, "message_too_long");
    BOOST_TEST((disagree.agreement == Agreement::Disagree));
    BOOST_TEST(disagree.prediction == "likely");
    BOOST_TEST(disagree.verdict == "incompatible");
    const auto explained = with(Compatibility::Incompatible, "driver_not_listed");
    BOOST_TEST((explained.agreement == Agreement::Explained));
    BOOST_TEST(!explained.explanation.empty());
    BOOST_TEST(
        (with(Compatibility::Untested, "not_emulated").agreement == Agreement::NotComparable));
    const auto csv = agreement_csv({disagree, explained}, "1.5.2");
    BOOST_TEST(csv.find("# libccid 1.5.2\nfile,block,vid,pid,bcd_device,") == 0U);
    BOOST_TEST(csv.find("test.txt,0,F1AB,0001,0100,tpdu,likely,contact,incompatible,"
                        "message_too_long,disagree,\n") != std::string::npos);
}
