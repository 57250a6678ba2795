// A firmware from every real reader's CCID descriptor in the CCID driver's readers/ folder
// (../shared/data/ccid-readers; skipped without it): power a T=1 card in the first and the last
// slot, read 16 bytes at the descriptor's exchange level, and check that no reply breaks the
// descriptor (bSeq echo, no message above dwMaxCCIDMessageLength, lists of the declared size).
#include "pure/ccid_dump.hpp"
#include "pure/ccid_message.hpp"
#include "pure/error.hpp"
#include "pure/t1_block.hpp"
#include "services/lab/ccid_firmware.hpp"
#include "support/test_support.hpp"
#include "unit/services/lab/test_card.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fmt/core.h>
#include <fstream>
#include <map>
#include <sstream>

using namespace harness;
using namespace harness::lab;
namespace fs = std::filesystem;
using Clock = CcidFirmware::Clock;

namespace {

std::vector<ccid::DumpBlock> all_blocks() {
    const auto dir = test::require_shared("data/ccid-readers");
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".txt" &&
            entry.path().filename() != "supported_readers.txt")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<ccid::DumpBlock> out;
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        try {
            for (auto& block : ccid::parse_dump(text.str(), file.string()).blocks)
                if (block.descriptor)
                    out.push_back(std::move(block));
        } catch (const ConfigError&) {
            // ccid_dumps_test reports dumps that do not parse; not this test's subject.
        }
    }
    return out;
}

struct Run {
    Run(CcidFirmware& f, std::size_t max) : fw(f), max_message(max) {}

    CcidFirmware& fw;
    std::size_t max_message;
    Clock::time_point now = Clock::time_point{} + std::chrono::hours(1000);
    std::uint8_t seq = 0;
    std::vector<std::string> problems;

    std::optional<ccid::Reply> exchange(ccid::Command c) {
        c.seq = seq++;
        fw.bulk_out(ccid::encode(c), now);
        while (true) {
            const auto due = fw.next_due();
            if (!due) {
                problems.push_back("no reply");
                return std::nullopt;
            }
            now = std::max(now, *due);
            const auto bytes = fw.take_bulk_in(now);
            if (!bytes) {
                problems.push_back("due reply not handed out");
                return std::nullopt;
            }
            if (bytes->size() > max_message && bytes->size() > ccid::header_size)
                problems.push_back("reply above dwMaxCCIDMessageLength");
            const auto r = ccid::parse_reply(*bytes);
            if (!r.reply) {
                problems.push_back("unparsable reply");
                return std::nullopt;
            }
            if (r.reply->seq != c.seq || r.reply->slot != c.slot)
                problems.push_back("bSeq/bSlot not echoed");
            if (r.reply->command_status() == ccid::CommandStatus::TimeExtension)
                continue;
            return r.reply;
        }
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(every_real_descriptor_runs_as_a_firmware) {
    const auto blocks = all_blocks();
    BOOST_TEST_REQUIRE(blocks.size() > 500U);
    std::map<std::string, int> read_ok;    // by exchange level
    std::map<std::string, int> read_other; // a failure the descriptor explains
    for (const auto& block : blocks) {
        FirmwareConfig config;
        config.descriptor = *block.descriptor;
        config.clock_frequencies_khz = block.clock_frequencies_khz;
        config.data_rates_bps = block.data_rates_bps;
        CcidFirmware fw(config);
        const std::string where = fmt::format(
            "{}:{}", fs::path(block.identity.product ? *block.identity.product : "?").string(),
            block.line);
        const std::string level = ccid::to_string(config.descriptor.exchange_level());
        Run run{fw, config.descriptor.max_message_length};
        const auto last = static_cast<std::uint8_t>(fw.slots() - 1);
        for (const std::uint8_t slot : {std::uint8_t{0}, last}) {
            fw.insert(slot, lab_test::juki(), Interface::Contact);
            ccid::Command on;
            on.type = ccid::MessageType::IccPowerOn;
            on.slot = slot;
            const auto atr = run.exchange(on);
            BOOST_TEST_REQUIRE(atr.has_value(), where);
            if (config.descriptor.max_message_length < ccid::header_size + 9) {
                // No room even for the ATR: the firmware says so instead of overrunning.
                BOOST_TEST(atr->error == ccid::error::xfr_overrun, where);
                ++read_other[level];
                continue;
            }
            BOOST_TEST(atr->data == lab_test::juki_atr, where);
            ccid::Command xfr;
            xfr.type = ccid::MessageType::XfrBlock;
            xfr.slot = slot;
            const Bytes read{0x00, 0xB0, 0x00, 0x00, 0x10};
            std::optional<Bytes> answer;
            switch (config.descriptor.exchange_level()) {
            case ccid::ExchangeLevel::Tpdu: {
                xfr.data = t1::encode(t1::i_block(false, false, read), t1::Edc::Lrc);
                const auto r = run.exchange(xfr);
                BOOST_TEST_REQUIRE(r.has_value(), where);
                if (r->command_status() == ccid::CommandStatus::Ok) {
                    const auto b = t1::parse(r->data, t1::Edc::Lrc);
                    BOOST_TEST_REQUIRE(b.block.has_value(), where);
                    answer = b.block->inf;
                } else {
                    // A T=0-only reader cannot speak to a T=1-only card.
                    BOOST_TEST(!config.descriptor.supports_t1(), where);
                    BOOST_TEST(r->error == ccid::error::icc_protocol_not_supported, where);
                }
                break;
            }
            case ccid::ExchangeLevel::ShortApdu:
            case ccid::ExchangeLevel::ExtendedApdu: {
                xfr.data = read;
                const auto r = run.exchange(xfr);
                BOOST_TEST_REQUIRE(r.has_value(), where);
                if (r->command_status() == ccid::CommandStatus::Ok)
                    answer = r->data;
                else
                    BOOST_TEST(config.descriptor.max_message_length < 10U + 18U, where);
                break;
            }
            default: {
                xfr.data = read;
                const auto r = run.exchange(xfr);
                BOOST_TEST_REQUIRE(r.has_value(), where);
                BOOST_TEST(r->error == ccid::error::command_not_supported, where);
                break;
            }
            }
            if (answer) {
                BOOST_TEST(answer->size() == 18U, where);
                ++read_ok[level];
            } else {
                ++read_other[level];
            }
            ccid::Command params;
            params.type = ccid::MessageType::GetParameters;
            params.slot = slot;
            const auto p = run.exchange(params);
            BOOST_TEST_REQUIRE(p.has_value(), where);
            BOOST_TEST((p->command_status() == ccid::CommandStatus::Ok), where);
        }
        for (const std::uint8_t request : {std::uint8_t{2}, std::uint8_t{3}}) {
            const std::size_t count = request == 2 ? config.descriptor.num_clock_supported
                                                   : config.descriptor.num_data_rates_supported;
            const auto list = fw.control(request, 0, 1024);
            BOOST_TEST(list.has_value() == (count != 0), where);
            if (list &&
                (request == 2 ? block.clock_frequencies_khz.empty() : block.data_rates_bps.empty()))
                BOOST_TEST(list->size() == 4 * count, where);
        }
        BOOST_TEST(run.problems.empty(),
                   where << ": " << (run.problems.empty() ? "" : run.problems.front()));
    }
    for (const auto& [level, n] : read_other)
        read_ok.try_emplace(level, 0);
    for (const auto& [level, n] : read_ok)
        BOOST_TEST_MESSAGE(level << ": " << n << " reads, " << read_other[level]
                                 << " failures the descriptor explains");
    BOOST_TEST(read_ok["tpdu"] > 100);
    BOOST_TEST(read_ok["short_apdu"] > 100);
    BOOST_TEST(read_ok["extended_apdu"] > 100);
}
