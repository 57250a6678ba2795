// Every descriptor dump of the CCID driver's readers/ folder (../shared/data/ccid-readers):
// parse, rebuild the 54 bytes with encode(), decode them back and compare every field; check our
// dwFeatures reading against the driver's own printed lines; re-parse our parse-style printout.
#include "pure/ccid_dump.hpp"
#include "pure/error.hpp"
#include "support/test_support.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace harness;
using namespace harness::ccid;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<fs::path> dump_files() {
    const auto dir = harness::test::require_shared("data/ccid-readers");
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".txt" &&
            entry.path().filename() != "supported_readers.txt")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

// Names of the fields in which a and b differ.
std::vector<std::string> differences(const Descriptor& a, const Descriptor& b) {
    std::vector<std::string> out;
    auto cmp = [&](const char* name, auto x, auto y) {
        if (x != y)
            out.emplace_back(name);
    };
    cmp("bLength", a.length, b.length);
    cmp("bDescriptorType", a.type, b.type);
    cmp("bcdCCID", a.bcd_ccid, b.bcd_ccid);
    cmp("bMaxSlotIndex", a.max_slot_index, b.max_slot_index);
    cmp("bVoltageSupport", a.voltage_support, b.voltage_support);
    cmp("dwProtocols", a.protocols, b.protocols);
    cmp("dwDefaultClock", a.default_clock_khz, b.default_clock_khz);
    cmp("dwMaximumClock", a.maximum_clock_khz, b.maximum_clock_khz);
    cmp("bNumClockSupported", a.num_clock_supported, b.num_clock_supported);
    cmp("dwDataRate", a.data_rate_bps, b.data_rate_bps);
    cmp("dwMaxDataRate", a.max_data_rate_bps, b.max_data_rate_bps);
    cmp("bNumDataRatesSupported", a.num_data_rates_supported, b.num_data_rates_supported);
    cmp("dwMaxIFSD", a.max_ifsd, b.max_ifsd);
    cmp("dwSynchProtocols", a.synch_protocols, b.synch_protocols);
    cmp("dwMechanical", a.mechanical, b.mechanical);
    cmp("dwFeatures", a.features, b.features);
    cmp("dwMaxCCIDMessageLength", a.max_message_length, b.max_message_length);
    cmp("bClassGetResponse", a.class_get_response, b.class_get_response);
    cmp("bClassEnvelope", a.class_envelope, b.class_envelope);
    cmp("wLcdLayout", a.lcd_layout, b.lcd_layout);
    cmp("bPINSupport", a.pin_support, b.pin_support);
    cmp("bMaxCCIDBusySlots", a.max_busy_slots, b.max_busy_slots);
    return out;
}

// The dwFeatures lines our formatter prints (e.g. "....80 Automatic PPS made by the CCID").
std::vector<std::string> our_feature_lines(const Descriptor& d) {
    std::vector<std::string> out;
    std::istringstream text(format_descriptor(d));
    std::string line;
    bool in_features = false;
    while (std::getline(text, line)) {
        if (line.starts_with("  dwFeatures:")) {
            in_features = true;
            continue;
        }
        if (in_features && line.starts_with("   "))
            out.push_back(line.substr(3));
        else if (in_features)
            break;
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_dump_parses_and_every_field_survives_encode_decode) {
    const auto files = dump_files();
    BOOST_TEST(files.size() > 600U);
    std::size_t blocks = 0, with_descriptor = 0, agreeing = 0, identical_rebuilt = 0,
                multi_block_files = 0;
    std::size_t vendor_class = 0, tagged_lines = 0, tag_mismatch = 0, text_mismatch = 0,
                untagged_files = 0;
    std::size_t reparsed = 0;
    std::map<std::string, std::size_t> by_level;
    std::map<std::string, std::size_t> by_likelihood;
    std::size_t extended_native = 0;
    for (const auto& path : files) {
        const auto name = path.filename().string();
        Dump dump;
        BOOST_CHECK_NO_THROW(dump = parse_dump(read(path), name));
        if (dump.blocks.size() > 1)
            ++multi_block_files;
        for (const auto& block : dump.blocks) {
            ++blocks;
            if (block.interface.interface_class != interface_class_ccid)
                ++vendor_class;
            if (!block.descriptor)
                continue;
            ++with_descriptor;
            const auto& d = *block.descriptor;
            const auto bytes = encode(d);
            BOOST_TEST(bytes.size() == descriptor_length);
            const auto decoded = decode(bytes);
            const auto diff = differences(d, decoded.descriptor);
            BOOST_TEST(diff.empty(),
                       name << " line " << block.line << ": " << diff.size() << " fields differ");
            if (diff.empty())
                ++agreeing;
            if (encode(decoded.descriptor) == bytes)
                ++identical_rebuilt;
            ++by_level[to_string(d.exchange_level())];
            ++by_likelihood[to_string(predict(d).likelihood)];
            if (d.exchange_level() == ExchangeLevel::ExtendedApdu &&
                d.max_message_length >= 65544 + 10)
                ++extended_native;

            // dwFeatures as the driver printed it vs our reading, matched by the "....80" tags.
            const auto ours = our_feature_lines(d);
            std::set<std::string> our_tags, their_tags;
            std::set<std::string> our_texts(ours.begin(), ours.end());
            for (const auto& line : ours)
                if (line.find('.') < 6)
                    our_tags.insert(line.substr(0, 6));
            bool tagged = false;
            for (const auto& text : block.feature_texts) {
                if (text.size() > 7 && text[6] == ' ' && text.find('.') < 6) {
                    tagged = true;
                    ++tagged_lines;
                    their_tags.insert(text.substr(0, 6));
                    if (!our_texts.contains(text))
                        ++text_mismatch;
                }
            }
            if (tagged) {
                BOOST_TEST((our_tags == their_tags),
                           name << " line " << block.line << ": dwFeatures bits differ");
                if (our_tags != their_tags)
                    ++tag_mismatch;
            } else {
                ++untagged_files;
            }

            // Our parse-style printout parses back to the same block.
            const auto again = parse_dump(format_block(block), name + " (reprinted)");
            BOOST_TEST_REQUIRE(again.blocks.size() == 1U);
            const auto& b2 = again.blocks.front();
            const bool same = b2.identity == block.identity && b2.interface == block.interface &&
                              b2.descriptor == block.descriptor &&
                              b2.clock_frequencies_khz == block.clock_frequencies_khz &&
                              b2.data_rates_bps == block.data_rates_bps;
            BOOST_TEST(same, name << " line " << block.line << ": reprinted block differs");
            if (same)
                ++reparsed;
        }
    }
    std::printf(
        "ccid dumps: %zu files (%zu with several blocks), %zu interface blocks, %zu with a CCID "
        "descriptor, %zu on class 0xFF\n",
        files.size(), multi_block_files, blocks, with_descriptor, vendor_class);
    std::printf(
        "ccid dumps: encode/decode agreement %zu/%zu (byte-identical rebuild %zu); reprint+reparse "
        "%zu/%zu\n",
        agreeing, with_descriptor, identical_rebuilt, reparsed, with_descriptor);
    std::printf("ccid dumps: dwFeatures lines vs the driver: %zu tagged lines, %zu blocks with a "
                "bit mismatch, "
                "%zu lines worded differently (older parse), %zu blocks untagged\n",
                tagged_lines, tag_mismatch, text_mismatch, untagged_files);
    std::printf("ccid dumps: exchange levels:");
    for (const auto& [level, count] : by_level)
        std::printf(" %s %zu", level.c_str(), count);
    std::printf("; extended in one message: %zu\nccid dumps: predicted My Number capability:",
                extended_native);
    for (const auto& [likelihood, count] : by_likelihood)
        std::printf(" %s %zu", likelihood.c_str(), count);
    std::printf("\n");
    BOOST_TEST(agreeing == with_descriptor);
    BOOST_TEST(tag_mismatch == 0U);
    BOOST_TEST(blocks >= 768U);
}

BOOST_AUTO_TEST_CASE(known_readers_read_as_expected) {
    const auto dir = harness::test::require_shared("data/ccid-readers");
    const auto acs =
        parse_dump(read(dir / "ACS_ACR1252_Dual_Reader.txt"), "ACS_ACR1252_Dual_Reader.txt");
    BOOST_TEST_REQUIRE(acs.blocks.size() == 2U);
    BOOST_TEST(acs.blocks[0].identity.vendor_id == 0x072F);
    BOOST_TEST(acs.blocks[0].identity.product_id == 0x223B);
    BOOST_TEST(acs.blocks[0].identity.bcd_device == 0x0100);
    BOOST_TEST(acs.blocks[0].identity.manufacturer.value() == "ACS");
    BOOST_TEST(acs.blocks[0].interface.name.value() == "ACR1252 Dual Reader PICC");
    BOOST_TEST(acs.blocks[1].interface.number == 1);
    BOOST_TEST(acs.blocks[0].descriptor->max_message_length == 522U);
    BOOST_TEST(acs.blocks[1].descriptor->max_message_length == 288U);
    BOOST_TEST(acs.blocks[1].descriptor->default_clock_khz == 3420U);
    BOOST_TEST(acs.blocks[1].descriptor->bcd_ccid == 0x0110);
    BOOST_TEST(to_string(acs.blocks[1].descriptor->exchange_level()) == std::string("short_apdu"));

    const auto dell = parse_dump(read(dir / "DellSK-3106.txt"), "DellSK-3106.txt");
    BOOST_TEST(dell.blocks.front().interface.interface_class == 0xFF);
    BOOST_TEST(dell.blocks.front().descriptor->type == 0xFF);
    BOOST_TEST(dell.blocks.front().interface.name.value_or("?????") == "?????");

    const auto yubi = parse_dump(read(dir / "Yubico_Yubikey_neo.txt"), "Yubico_Yubikey_neo.txt");
    const auto& texts = yubi.blocks.front().feature_texts;
    BOOST_TEST(
        (std::find(texts.begin(), texts.end(),
                   "....20 Automatic baud rate change according to frequency and Fi, Di params") !=
         texts.end()));

    for (const char* rcs : {"SONY_FeliCa_RC-S300_P.txt", "SONY_FeliCa_RC-S300_S.txt"}) {
        if (!fs::exists(dir / rcs))
            continue;
        const auto sony = parse_dump(read(dir / rcs), rcs);
        BOOST_TEST(sony.blocks.front().descriptor->max_message_length == 522U, rcs);
        BOOST_TEST(to_string(predict(*sony.blocks.front().descriptor).likelihood) ==
                       std::string("likely"),
                   rcs);
    }
}

BOOST_AUTO_TEST_CASE(supported_readers_list_parses_into_sections) {
    const auto dir = harness::test::require_shared("data/ccid-readers");
    const auto list =
        parse_supported_readers(read(dir / "supported_readers.txt"), "supported_readers.txt");
    std::map<std::string, std::size_t> by_section;
    std::size_t commented = 0;
    for (const auto& r : list) {
        ++by_section[r.section];
        commented += r.commented_out ? 1U : 0U;
    }
    std::printf("supported_readers.txt: %zu entries (%zu commented out):", list.size(), commented);
    for (const auto& [section, count] : by_section)
        std::printf(" %s %zu", section.c_str(), count);
    std::printf("\n");
    BOOST_TEST(by_section["supported"] > 50U);
    BOOST_TEST(by_section["shouldwork"] > 400U);
    BOOST_TEST(by_section.contains("unsupported"));
    BOOST_TEST(commented > 0U);
    const auto acs = std::find_if(list.begin(), list.end(), [](const SupportedReader& r) {
        return r.vendor_id == 0x072F && r.product_id == 0x90CC;
    });
    BOOST_TEST_REQUIRE((acs != list.end()));
    BOOST_TEST(acs->name == "ACS ACR 38U-CCID");
    BOOST_TEST(acs->section == "supported");
}

// dwProtocols bits other than T=0/T=1 (reserved, CCID §5.1) in real dumps: a finding, and the
// protocol list names only T=0/T=1 (the CCID driver's parse prints 0x00020003 as "T=0 T=1"; we
// used to print "T=17", and "T=8"/"T=9" for 0x00000300).
BOOST_AUTO_TEST_CASE(reserved_protocol_bits_are_a_finding_not_a_protocol) {
    const std::map<std::string, std::uint32_t> expected = {
        {"ELYCTIS_CL_reader.txt", 0x00020003},
        {"Identive_Technologies_Multi-ISO_HF_Reader_USB.txt", 0x00020003},
        {"MySmartPad.txt", 0x00000300},
    };
    std::map<std::string, std::uint32_t> found;
    for (const auto& path : dump_files()) {
        const auto name = path.filename().string();
        for (const auto& block : parse_dump(read(path), name).blocks) {
            if (!block.descriptor)
                continue;
            const auto numbers = block.descriptor->protocol_numbers();
            for (int t : numbers)
                BOOST_TEST((t == 0 || t == 1), name << ": T=" << t);
            const auto findings = check(*block.descriptor);
            const bool finding =
                std::any_of(findings.begin(), findings.end(),
                            [](const Finding& f) { return f.code == "reserved_protocol_bits"; });
            BOOST_TEST(finding == ((block.descriptor->protocols & ~0x3U) != 0), name);
            if (finding)
                found[name] = block.descriptor->protocols;
        }
    }
    BOOST_TEST((found == expected));
    // MySmartPad names neither T=0 nor T=1 at all: that is its own finding.
    Descriptor pad;
    pad.protocols = 0x00000300;
    const auto findings = check(pad);
    BOOST_TEST(std::any_of(findings.begin(), findings.end(),
                           [](const Finding& f) { return f.code == "no_protocol"; }));
}
