#include "services/survey/survey.hpp"

#include "pure/apdu.hpp"
#include "pure/ccid_message.hpp"
#include "pure/error.hpp"
#include "pure/openssl.hpp"
#include "pure/t1_block.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace harness::survey {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using model::Compatibility;

bool has(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

std::string vid_pid(const ccid::DeviceIdentity& id) {
    return fmt::format("{:04X}:{:04X}", id.vendor_id, id.product_id);
}

std::string firmware_text(std::uint16_t bcd) {
    return fmt::format("{:X}.{:02X}", bcd >> 8U, bcd & 0xFFU);
}

std::string card_name(const std::string& card_type) {
    if (card_type == "mynumber")
        return "My Number card";
    if (card_type == "juki")
        return "Juki card";
    return "transport test card";
}

std::string card_name_ja(const std::string& card_type) {
    if (card_type == "mynumber")
        return "マイナンバーカード";
    if (card_type == "juki")
        return "住基カード";
    return "トランスポート試験カード";
}

std::string profile_of(const Cell& cell) {
    if (cell.card_type == "transport")
        return "transport";
    return cell.interface == "contactless" ? cell.card_type + "-contactless" : cell.card_type;
}

void finish(CellResult& r) {
    std::vector<std::string> en, ja;
    for (const auto& c : r.causes) {
        en.push_back(c.en);
        ja.push_back(c.ja);
    }
    r.diagnosis_en = fmt::format("{}", fmt::join(en, "; "));
    r.diagnosis_ja = fmt::format("{}", fmt::join(ja, "。"));
}

CellResult one_cause(const Cell& cell, Cause cause) {
    CellResult r;
    r.cell = cell;
    r.verdict = cause.effect;
    r.causes.push_back(std::move(cause));
    finish(r);
    return r;
}

std::string evidence_note(const Physical& p) {
    return p.reviewed ? fmt::format(" ({}: {})", p.where.substr(p.where.rfind('/') + 1), p.evidence)
                      : "";
}

// Is `data` a well-formed T=1 block (prologue, LEN matching, a correct LRC or CRC)?
bool is_t1_block(ByteView data) {
    if (data.size() < 4 || data.size() > 3 + t1::max_inf + 2)
        return false;
    for (const auto edc : {t1::Edc::Lrc, t1::Edc::Crc}) {
        const auto parsed = t1::parse(data, edc);
        if (parsed.block && parsed.edc_ok && parsed.valid)
            return true;
    }
    return false;
}

// A PPS request (ISO 7816-3 §9.2): FF, PPS0, optional PPS1-3, PCK (XOR of all bytes = 0).
bool is_pps(ByteView data) {
    if (data.size() < 3 || data.size() > 6 || data[0] != 0xFF)
        return false;
    std::uint8_t x = 0;
    for (const auto b : data)
        x ^= b;
    return x == 0;
}

} // namespace

// ---- Items. -----------------------------------------------------------------------------------

std::string Item::key() const {
    return fmt::format("{}#{}", file, block);
}

std::string Item::serial() const {
    std::string hex = openssl::sha256_hex(key()).substr(0, 10);
    for (char& c : hex)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return "SV" + hex;
}

std::optional<std::string> not_emulated_reason(const ccid::DumpBlock& block) {
    if (block.interface.protocol == 1 || block.interface.protocol == 2)
        return fmt::format("ICCD version {} (bInterfaceProtocol {}) talks over the control pipe; "
                           "the emulated firmware speaks bulk CCID",
                           block.interface.protocol == 1 ? "A" : "B", block.interface.protocol);
    if (block.interface.num_endpoints < 2)
        return fmt::format("the interface has {} endpoints: no bulk pipes to emulate",
                           block.interface.num_endpoints);
    if (block.descriptor) {
        const auto level = block.descriptor->exchange_level();
        if (level != ccid::ExchangeLevel::Tpdu && level != ccid::ExchangeLevel::ShortApdu &&
            level != ccid::ExchangeLevel::ExtendedApdu)
            return fmt::format("{} level exchange is not emulated", ccid::to_string(level));
    }
    return std::nullopt;
}

std::vector<Item> items_of_dump(std::string_view text, const std::string& file,
                                const std::vector<InterfaceRule>& rules) {
    const auto name = fs::path(file).filename().string();
    const auto dump = ccid::parse_dump(text, file); // ConfigError "file:line:column: expected …"
    if (dump.blocks.empty())
        throw ConfigError(fmt::format("{}:1:1: expected the output of the CCID driver's parse "
                                      "(an \" idVendor:\" line), found no interface block",
                                      file));
    const std::string hash = openssl::sha256_hex(text);
    std::vector<Item> items;
    for (std::size_t i = 0; i < dump.blocks.size(); ++i) {
        Item item;
        item.file = name;
        item.file_sha256 = hash;
        item.block = i;
        item.dump = dump.blocks[i];
        item.physical = physical_of(rules, item.dump.identity, item.dump.interface.number);
        items.push_back(std::move(item));
    }
    return items;
}

Folder read_dump_folder(const fs::path& dir, const std::vector<InterfaceRule>& rules) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw UsageError(fmt::format("{}: not a folder of CCID descriptor dumps", dir.string()));
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".txt" &&
            entry.path().filename() != "supported_readers.txt")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    Folder folder;
    for (const auto& file : files) {
        ++folder.files;
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in && !in.eof()) {
            folder.problems.push_back(
                {file.filename().string(),
                 fmt::format("{}:1:1: expected a readable dump file", file.string())});
            continue;
        }
        try {
            auto items = items_of_dump(text.str(), file.string(), rules);
            folder.items.insert(folder.items.end(), std::make_move_iterator(items.begin()),
                                std::make_move_iterator(items.end()));
        } catch (const ConfigError& e) {
            folder.problems.push_back({file.filename().string(), e.what()});
        }
    }
    return folder;
}

// ---- Cells. -----------------------------------------------------------------------------------

std::vector<PlannedCell> plan_cells(const Item& item, const std::vector<std::string>& card_types,
                                    const std::vector<std::string>& interfaces) {
    for (const auto& t : card_types)
        if (t != "mynumber" && t != "juki" && t != "transport")
            throw UsageError(
                fmt::format("unknown card type \"{}\" (mynumber, juki, transport)", t));
    for (const auto& i : interfaces)
        if (i != "contact" && i != "contactless")
            throw UsageError(fmt::format("unknown interface \"{}\" (contact, contactless)", i));
    const Physical& p = item.physical;
    const bool no_descriptor = !item.dump.descriptor;
    const auto level =
        no_descriptor ? ccid::ExchangeLevel::Reserved : item.dump.descriptor->exchange_level();
    const bool emulated = level == ccid::ExchangeLevel::Tpdu ||
                          level == ccid::ExchangeLevel::ShortApdu ||
                          level == ccid::ExchangeLevel::ExtendedApdu;
    const auto decide = [&](const Cell& cell, bool physical, bool known) {
        PlannedCell planned;
        planned.cell = cell;
        if (!physical)
            planned.plan = known ? CellPlan::NotPhysical : CellPlan::ContactlessUnknown;
        else if (no_descriptor)
            planned.plan = CellPlan::NoDescriptor;
        else if (!emulated)
            planned.plan = CellPlan::NotEmulated;
        else {
            planned.plan = CellPlan::Run;
            planned.profile = profile_of(cell);
        }
        return planned;
    };
    std::vector<PlannedCell> out;
    for (const char* type : {"mynumber", "juki"}) {
        if (!has(card_types, type))
            continue;
        if (has(interfaces, "contact"))
            out.push_back(decide({type, "contact"}, p.contact(), true));
        if (has(interfaces, "contactless"))
            out.push_back(decide({type, "contactless"}, p.contactless(),
                                 p.reviewed || p.socket != Socket::Contact));
    }
    if (has(card_types, "transport") && has(interfaces, "contact") && p.contact())
        out.push_back(decide({"transport", "contact"}, true, true));
    return out;
}

std::string CellResult::cause() const {
    return causes.empty() ? std::string() : causes.front().code;
}

CellResult decided_cell(const Item& item, const PlannedCell& planned) {
    const Cell& cell = planned.cell;
    const Physical& p = item.physical;
    const std::string card = card_name(cell.card_type);
    const std::string card_ja = card_name_ja(cell.card_type);
    const std::string note = evidence_note(p);
    switch (planned.plan) {
    case CellPlan::NotPhysical:
        switch (p.socket) {
        case Socket::Contactless:
            return one_cause(cell, {"interface_not_supported", Compatibility::Incompatible,
                                    fmt::format("a contactless-only reader: a {} cannot be "
                                                "inserted for contact{}",
                                                card, note),
                                    fmt::format("非接触専用リーダーのため、{}を接触で使えない{}",
                                                card_ja, note)});
        case Socket::Contact:
            return one_cause(cell,
                             {"interface_not_supported", Compatibility::Incompatible,
                              fmt::format("a contact-only reader sees no contactless card{}", note),
                              fmt::format("接触専用リーダーは非接触カードを検出できない{}", note)});
        case Socket::Sam:
        case Socket::Sim:
            return one_cause(
                cell, {"no_card_slot", Compatibility::Incompatible,
                       fmt::format("this interface is a {} socket (ID-000 size): a {} (ID-1 size) "
                                   "does not fit{}",
                                   p.socket == Socket::Sam ? "SAM" : "SIM", card, note),
                       fmt::format("このインターフェースは{}ソケット（ID-000サイズ）で、{}（ID-1"
                                   "サイズ）は入らない{}",
                                   p.socket == Socket::Sam ? "SAM" : "SIM", card_ja, note)});
        case Socket::None:
            return one_cause(cell, {"no_card_slot", Compatibility::Incompatible,
                                    fmt::format("a device with its chip built in (a token, key "
                                                "or module): no card can be inserted{}",
                                                note),
                                    fmt::format("チップ内蔵の機器（トークン・キー・モジュール）"
                                                "で、カードを挿入できない{}",
                                                note)});
        case Socket::ContactAndContactless:
            break;
        }
        return one_cause(cell, {"interface_not_supported", Compatibility::Incompatible,
                                "the reader cannot take this card on this interface",
                                "このインターフェースではカードを使えない"});
    case CellPlan::ContactlessUnknown:
        return one_cause(
            cell, {"contactless_unknown", Compatibility::Untested,
                   "whether this reader has a contactless interface is not in the reviewed list "
                   "(profiles/readers/card_interfaces.csv): the contactless card was not surveyed",
                   "このリーダーが非接触インターフェースを持つかはレビュー済み一覧"
                   "（profiles/readers/card_interfaces.csv）にない: 非接触カードは調査していない"});
    case CellPlan::NotEmulated: {
        const std::string why = not_emulated_reason(item.dump).value_or("not emulated");
        return one_cause(cell, {"not_emulated", Compatibility::Untested,
                                fmt::format("{}: the driver-level survey cannot judge this "
                                            "interface (no verdict on the reader)",
                                            why),
                                fmt::format("{}（エミュレート対象外）: ドライバーレベル調査では"
                                            "判定できない（リーダーの評価ではない）",
                                            why)});
    }
    case CellPlan::NoDescriptor:
        return one_cause(cell, {"no_descriptor", Compatibility::Untested,
                                "the dump has no CCID class descriptor for this interface: "
                                "nothing to emulate",
                                "ダンプにこのインターフェースのCCIDクラス記述子がない: "
                                "エミュレートできない"});
    case CellPlan::Run:
        break;
    }
    return one_cause(
        cell, {"not_run", Compatibility::Untested, "no suite ran", "スイートが実行されなかった"});
}

// ---- The driver. ------------------------------------------------------------------------------

const char* to_string(DriverOutcome outcome) {
    switch (outcome) {
    case DriverOutcome::NotRun:
        return "not_run";
    case DriverOutcome::Opened:
        return "opened";
    case DriverOutcome::NotListed:
        return "not_listed";
    case DriverOutcome::RefusedFirmware:
        return "refused";
    case DriverOutcome::OpenFailed:
        return "open_failed";
    }
    return "not_run";
}

std::optional<DriverOutcome> driver_outcome_from(std::string_view text) {
    for (const auto o : {DriverOutcome::NotRun, DriverOutcome::Opened, DriverOutcome::NotListed,
                         DriverOutcome::RefusedFirmware, DriverOutcome::OpenFailed})
        if (text == to_string(o))
            return o;
    return std::nullopt;
}

DriverOutcome classify_driver(const DriverFacts& f) {
    if (f.readers > 0)
        return DriverOutcome::Opened;
    if (f.opens == 0 && f.claims == 0)
        return DriverOutcome::NotListed;
    if (f.claims > 0 && f.messages == 0)
        return DriverOutcome::RefusedFirmware;
    return DriverOutcome::OpenFailed;
}

CellResult driver_cell(const Item& item, const PlannedCell& planned, const DriverFacts& d) {
    const auto& id = item.dump.identity;
    const std::string driver =
        d.libccid_version.empty()
            ? std::string("the installed CCID driver")
            : fmt::format("the installed CCID driver (libccid {})", d.libccid_version);
    const std::string driver_ja =
        d.libccid_version.empty()
            ? std::string("インストール済みのCCIDドライバー")
            : fmt::format("インストール済みのCCIDドライバー（libccid {}）", d.libccid_version);
    const std::string log =
        d.log_line.empty() ? std::string() : fmt::format(" (pcscd's log: \"{}\")", d.log_line);
    const std::string log_ja =
        d.log_line.empty() ? std::string() : fmt::format("（pcscdのログ:「{}」）", d.log_line);
    switch (d.outcome) {
    case DriverOutcome::NotListed:
        return one_cause(
            planned.cell,
            {"driver_not_listed", Compatibility::Incompatible,
             fmt::format("{} does not list USB {} in its Info.plist: pcscd never opened the "
                         "emulated reader, so PC/SC applications do not see it with this driver "
                         "(a newer driver may list it)",
                         driver, vid_pid(id)),
             fmt::format("{}はUSB {}をInfo.plistに登録していない: pcscdがエミュレートした"
                         "リーダーを開かず、このドライバーではPC/SCアプリから見えない"
                         "（新しいドライバーでは登録されている可能性あり）",
                         driver_ja, vid_pid(id))});
    case DriverOutcome::RefusedFirmware:
        return one_cause(
            planned.cell,
            {"driver_refused_firmware", Compatibility::Incompatible,
             fmt::format("{} opened the reader and claimed its interface, then closed it without "
                         "sending one CCID message: it refuses firmware {} (bcdDevice) of this "
                         "reader{}; a firmware update may help",
                         driver, firmware_text(id.bcd_device), log),
             fmt::format("{}はリーダーを開いてインターフェースを確保した後、CCIDメッセージを"
                         "一つも送らずに閉じた: このリーダーのファームウェア{}（bcdDevice）を"
                         "拒否している{}。ファームウェア更新で解決する可能性あり",
                         driver_ja, firmware_text(id.bcd_device), log_ja)});
    case DriverOutcome::OpenFailed:
        if (d.escapes > 0)
            return one_cause(
                planned.cell,
                {"vendor_escape_not_emulated", Compatibility::Untested,
                 fmt::format("{} sent {} vendor Escape commands (PC_to_RDR_Escape) while opening "
                             "the reader and gave up when the emulated firmware did not know "
                             "them{}: a real reader answers its vendor's commands, so this is no "
                             "verdict on the reader",
                             driver, d.escapes, log),
                 fmt::format("{}はリーダーを開く際にベンダー固有のEscapeコマンドを{}個送り、"
                             "エミュレートしたファームウェアが応答できなかったため中止した{}: "
                             "実機はベンダーのコマンドに応答するので、リーダーの評価ではない",
                             driver_ja, d.escapes, log_ja)});
        return one_cause(
            planned.cell,
            {"driver_open_failed", Compatibility::Untested,
             fmt::format("{} opened the reader and exchanged {} CCID messages with it, but pcscd "
                         "lists no reader{}: the driver-level survey could not go further",
                         driver, d.messages, log),
             fmt::format("{}はリーダーを開き{}個のCCIDメッセージを交換したが、pcscdにリーダーが"
                         "現れない{}: ドライバーレベル調査はここまで",
                         driver_ja, d.messages, log_ja)});
    case DriverOutcome::Opened:
    case DriverOutcome::NotRun:
        break;
    }
    return one_cause(planned.cell, {"not_run", Compatibility::Untested, "no suite ran",
                                    "スイートが実行されなかった"});
}

void LevelObservation::add(const ccid::Descriptor& descriptor, ByteView message) {
    ++messages;
    longest = std::max(longest, message.size());
    if (message.size() > descriptor.max_message_length)
        ++over_length;
    const auto parsed = ccid::parse_command(message);
    if (!parsed.command)
        return;
    if (parsed.command->type == ccid::MessageType::IccPowerOn)
        protocol.reset();
    if (parsed.command->type == ccid::MessageType::SetParameters)
        protocol = parsed.command->protocol;
    if (parsed.command->type != ccid::MessageType::XfrBlock)
        return;
    ++xfr_blocks;
    const auto& c = *parsed.command;
    if (c.level_parameter == ccid::chain::empty_continue)
        ++continuations;
    if (c.level_parameter != 0) {
        ++chained;
        if (std::find(level_parameters.begin(), level_parameters.end(), c.level_parameter) ==
            level_parameters.end())
            level_parameters.push_back(c.level_parameter);
    }
    if (c.data.empty())
        return;
    if (is_pps(c.data)) {
        ++pps;
    } else if (is_t1_block(c.data)) {
        ++t1_blocks;
        const auto block = t1::parse(c.data, t1::Edc::Lrc).block;
        if (block && block->type() == t1::BlockType::S && !block->s_response() &&
            block->s_function() == t1::SFunction::Ifs && block->inf.size() == 1)
            ifsd = block->inf[0];
    } else if (protocol != std::uint8_t{0} && apdu::parse(c.data).command) {
        // At TPDU level a T=0 TPDU has an APDU's shape: only T=1 (or APDU levels) counts.
        if (descriptor.exchange_level() != ccid::ExchangeLevel::Tpdu || protocol == std::uint8_t{1})
            ++apdus;
    }
}

void LevelObservation::add_reply(ByteView message) {
    const auto parsed = ccid::parse_reply(message);
    if (parsed.reply && parsed.reply->type == ccid::MessageType::DataBlock &&
        parsed.reply->command_status() == ccid::CommandStatus::Ok &&
        (parsed.reply->specific == 0x01 || parsed.reply->specific == 0x03))
        ++chained_replies;
    if (parsed.reply && parsed.reply->command_status() == ccid::CommandStatus::Failed &&
        parsed.reply->error == ccid::error::xfr_overrun)
        ++overruns;
}

LevelObservation& LevelObservation::operator+=(const LevelObservation& o) {
    messages += o.messages;
    xfr_blocks += o.xfr_blocks;
    chained += o.chained;
    t1_blocks += o.t1_blocks;
    apdus += o.apdus;
    pps += o.pps;
    over_length += o.over_length;
    longest = std::max(longest, o.longest);
    overruns += o.overruns;
    chained_replies += o.chained_replies;
    continuations += o.continuations;
    if (o.ifsd)
        ifsd = o.ifsd;
    for (const auto v : o.level_parameters)
        if (std::find(level_parameters.begin(), level_parameters.end(), v) ==
            level_parameters.end())
            level_parameters.push_back(v);
    return *this;
}

std::vector<Cause> level_causes(const ccid::Descriptor& d, const LevelObservation& seen) {
    std::vector<Cause> out;
    const auto level = d.exchange_level();
    const std::string declared = ccid::to_string(level);
    if (level == ccid::ExchangeLevel::ShortApdu && seen.chained > 0)
        out.push_back(
            {"driver_level_override", Compatibility::Incompatible,
             fmt::format("the CCID driver treats this short-APDU reader as extended-APDU: it sent "
                         "{} chained XfrBlocks (wLevelParameter {}) that a short-APDU firmware "
                         "does not chain",
                         seen.chained,
                         fmt::format("{:#06x}", fmt::join(seen.level_parameters, ", "))),
             fmt::format("CCIDドライバーはこのショートAPDUリーダーを拡張APDUとして扱い、"
                         "チェイン付きXfrBlockを{}個送った（wLevelParameter {}）: "
                         "ショートAPDUのファームウェアはチェインしない",
                         seen.chained,
                         fmt::format("{:#06x}", fmt::join(seen.level_parameters, ", ")))});
    if (level == ccid::ExchangeLevel::ExtendedApdu && seen.chained_replies > seen.continuations)
        out.push_back(
            {"driver_level_override", Compatibility::Incompatible,
             fmt::format("the CCID driver treats this extended-APDU reader as short-APDU: the "
                         "firmware began {} chained responses (bChainParameter 01/03) and the "
                         "driver asked for the rest {} times (wLevelParameter 0x0010), taking a "
                         "first part as the whole response",
                         seen.chained_replies, seen.continuations),
             fmt::format("CCIDドライバーはこの拡張APDUリーダーをショートAPDUとして扱う: "
                         "ファームウェアがチェイン付き応答を{}回始めた（bChainParameter 01/03）"
                         "のに、ドライバーが続きを求めたのは{}回（wLevelParameter 0x0010）で、"
                         "最初の部分を応答全体として受け取った",
                         seen.chained_replies, seen.continuations)});
    if ((level == ccid::ExchangeLevel::ShortApdu || level == ccid::ExchangeLevel::ExtendedApdu) &&
        seen.t1_blocks > 0 && seen.apdus == 0)
        out.push_back({"driver_level_override", Compatibility::Incompatible,
                       fmt::format("the CCID driver treats this {} reader as TPDU: it sent {} T=1 "
                                   "blocks instead of APDUs",
                                   declared, seen.t1_blocks),
                       fmt::format("CCIDドライバーはこの{}リーダーをTPDUとして扱い、APDUの代わりに"
                                   "T=1ブロックを{}個送った",
                                   declared, seen.t1_blocks)});
    if (level == ccid::ExchangeLevel::Tpdu && seen.apdus > 0 && seen.t1_blocks == 0)
        out.push_back({"driver_level_override", Compatibility::Incompatible,
                       fmt::format("the CCID driver treats this TPDU reader as an APDU reader: "
                                   "it sent {} whole APDUs instead of T=1 blocks",
                                   seen.apdus),
                       fmt::format("CCIDドライバーはこのTPDUリーダーをAPDUリーダーとして扱い、"
                                   "T=1ブロックの代わりにAPDUを{}個送った",
                                   seen.apdus)});
    // A T=1 block: NAD PCB LEN, INF (up to IFSD), LRC or CRC; plus the 10-byte CCID header.
    if (level == ccid::ExchangeLevel::Tpdu && seen.ifsd && seen.overruns > 0 &&
        *seen.ifsd + 3 + 2 + ccid::message_header_length > d.max_message_length)
        out.push_back(
            {"t1_block_exceeds_message_length", Compatibility::Incompatible,
             fmt::format("the CCID driver asked the card for T=1 blocks of {} bytes (S(IFS), from "
                         "dwMaxIFSD {}); such a block needs up to {} bytes per message, above the "
                         "declared dwMaxCCIDMessageLength {}: the emulated firmware honours the "
                         "descriptor and failed {} long replies (XFR_OVERRUN); a real reader whose "
                         "descriptor under-reports its buffer may not",
                         *seen.ifsd, d.max_ifsd, *seen.ifsd + 3 + 2 + ccid::message_header_length,
                         d.max_message_length, seen.overruns),
             fmt::format("CCIDドライバーはカードに{}バイトのT=1ブロックを要求した（S(IFS)、"
                         "dwMaxIFSD {}から）: そのブロックには1メッセージ最大{}バイトが必要で、"
                         "宣言されたdwMaxCCIDMessageLength {}を超える。エミュレートした"
                         "ファームウェアは記述子どおり長い応答を{}回失敗させた（XFR_OVERRUN）。"
                         "記述子がバッファを過少申告している実機では起きない可能性あり",
                         *seen.ifsd, d.max_ifsd, *seen.ifsd + 3 + 2 + ccid::message_header_length,
                         d.max_message_length, seen.overruns)});
    if (seen.over_length > 0)
        out.push_back(
            {"driver_exceeds_message_length", Compatibility::Incompatible,
             fmt::format("the CCID driver sent {} messages longer than the declared "
                         "dwMaxCCIDMessageLength {} (up to {} bytes); the emulated firmware "
                         "refuses them as the descriptor says, a real reader whose descriptor "
                         "under-reports its buffer may accept them",
                         seen.over_length, d.max_message_length, seen.longest),
             fmt::format("CCIDドライバーは宣言されたdwMaxCCIDMessageLength {}を超えるメッセージ"
                         "を{}個送った（最大{}バイト）: エミュレートしたファームウェアは記述子"
                         "どおり拒否する。記述子がバッファを過少申告している実機なら受け付ける"
                         "可能性あり",
                         d.max_message_length, seen.over_length, seen.longest)});
    return out;
}

CellResult judged_cell(const PlannedCell& planned, Compatibility verdict, std::vector<Cause> judged,
                       const ccid::Descriptor& descriptor, const LevelObservation& level) {
    CellResult r;
    r.cell = planned.cell;
    r.verdict = verdict;
    auto driver = level_causes(descriptor, level);
    // What a passing verdict did not exercise, said beside it (the prediction names these risks).
    if (verdict == Compatibility::Compatible &&
        descriptor.exchange_level() == ccid::ExchangeLevel::ShortApdu)
        driver.push_back({"extended_not_carried", Compatibility::Compatible,
                          "the extended-APDU steps did not run: a short-APDU reader cannot carry "
                          "extended APDUs, so clients that send them fail (the short APDUs of the "
                          "JPKI client passed)",
                          "拡張APDUの試験は実行していない: ショートAPDUリーダーは拡張APDUを運べず、"
                          "拡張APDUを送るクライアントは失敗する（公的個人認証クライアントのショート"
                          "APDUは合格）"});
    if (verdict == Compatibility::Compatible &&
        descriptor.exchange_level() == ccid::ExchangeLevel::ExtendedApdu && level.chained > 0)
        driver.push_back(
            {"chaining_emulated", Compatibility::Compatible,
             fmt::format("long messages went through CCID chaining ({} chained XfrBlocks) as the "
                         "descriptor declares; the emulated firmware chains correctly, a real "
                         "one may not (chaining is a common firmware weak spot)",
                         level.chained),
             fmt::format("長いメッセージは記述子どおりCCIDチェイニングで送られた（チェイン付き"
                         "XfrBlock {}個）: エミュレーションは正しくチェインするが、実機のファーム"
                         "ウェアもそうとは限らない（チェイニングは不具合の多い箇所）",
                         level.chained)});
    for (auto& c : driver)
        c.effect = verdict; // what the driver did explains the verdict; it does not change it
    if (verdict != Compatibility::Compatible) {
        r.causes = std::move(driver);
        r.causes.insert(r.causes.end(), std::make_move_iterator(judged.begin()),
                        std::make_move_iterator(judged.end()));
    } else {
        r.causes = std::move(judged);
        r.causes.insert(r.causes.end(), std::make_move_iterator(driver.begin()),
                        std::make_move_iterator(driver.end()));
    }
    finish(r);
    return r;
}

// ---- Results. ---------------------------------------------------------------------------------

std::optional<ccid::Likelihood> ReaderResult::prediction() const {
    if (!descriptor)
        return std::nullopt;
    return ccid::predict(*descriptor).likelihood;
}

ReaderResult start_result(const Item& item) {
    ReaderResult r;
    r.file = item.file;
    r.file_sha256 = item.file_sha256;
    r.block = item.block;
    r.identity = item.dump.identity;
    r.interface = item.dump.interface;
    r.descriptor = item.dump.descriptor;
    r.physical = item.physical;
    return r;
}

Json to_json(const ReaderResult& r) {
    Json verdicts = Json::array();
    for (const auto& v : r.verdicts) {
        Json causes = Json::array();
        for (const auto& c : v.causes)
            causes.push_back(c.code);
        verdicts.push_back(Json{{"card_type", v.cell.card_type},
                                {"interface", v.cell.interface},
                                {"verdict", model::to_string(v.verdict)},
                                {"cause", v.cause()},
                                {"diagnosis", v.diagnosis_en},
                                {"diagnosis_ja", v.diagnosis_ja},
                                {"causes", causes}});
    }
    const auto prediction = r.prediction();
    return Json{
        {"file", r.file},
        {"vid", r.identity.vendor_id},
        {"pid", r.identity.product_id},
        {"bcd_device", r.identity.bcd_device},
        {"exchange_level",
         r.descriptor ? Json(ccid::to_string(r.descriptor->exchange_level())) : Json()},
        {"max_message_length", r.descriptor ? Json(r.descriptor->max_message_length) : Json()},
        {"prediction", prediction ? Json(ccid::to_string(*prediction)) : Json()},
        {"verdicts", verdicts},
        {"block", r.block},
        {"interface_number", r.interface.number},
        {"interface_class", r.interface.interface_class},
        {"manufacturer", r.identity.manufacturer ? Json(*r.identity.manufacturer) : Json()},
        {"product", r.identity.product ? Json(*r.identity.product) : Json()},
        {"interface_name", r.interface.name ? Json(*r.interface.name) : Json()},
        {"slots", r.descriptor ? Json(r.descriptor->slots()) : Json()},
        {"takes", to_string(r.physical.socket)},
        {"takes_source", r.physical.reviewed ? "reviewed" : "default"},
        {"takes_evidence", r.physical.evidence},
        {"driver", Json{{"libccid", r.driver.libccid_version},
                        {"outcome", to_string(r.driver.outcome)},
                        {"opens", r.driver.opens},
                        {"claims", r.driver.claims},
                        {"messages", r.driver.messages},
                        {"readers", r.driver.readers},
                        {"log", r.driver.log_line}}},
        {"ccid_descriptor", r.descriptor
                                ? Json(hex::format(ccid::encode(*r.descriptor), hex::Style::Packed))
                                : Json()},
        {"file_sha256", r.file_sha256},
    };
}

ReaderResult result_from_json(const nlohmann::json& j, const std::string& origin) {
    try {
        ReaderResult r;
        r.file = j.at("file").get<std::string>();
        r.file_sha256 = j.value("file_sha256", "");
        r.block = j.at("block").get<std::size_t>();
        r.identity.vendor_id = j.at("vid").get<std::uint16_t>();
        r.identity.product_id = j.at("pid").get<std::uint16_t>();
        r.identity.bcd_device = j.at("bcd_device").get<std::uint16_t>();
        if (j.contains("manufacturer") && j["manufacturer"].is_string())
            r.identity.manufacturer = j["manufacturer"].get<std::string>();
        if (j.contains("product") && j["product"].is_string())
            r.identity.product = j["product"].get<std::string>();
        r.interface.number = j.value("interface_number", std::uint8_t{0});
        r.interface.interface_class = j.value("interface_class", std::uint8_t{0x0B});
        if (j.contains("interface_name") && j["interface_name"].is_string())
            r.interface.name = j["interface_name"].get<std::string>();
        if (j.contains("ccid_descriptor") && j["ccid_descriptor"].is_string()) {
            const auto bytes = hex::parse(j["ccid_descriptor"].get<std::string>());
            if (!bytes)
                throw UsageError(fmt::format("{}: ccid_descriptor is not hex", origin));
            r.descriptor = ccid::decode(*bytes).descriptor;
        }
        r.physical.socket = socket_from(j.value("takes", "contact")).value_or(Socket::Contact);
        r.physical.reviewed = j.value("takes_source", "default") == "reviewed";
        r.physical.evidence = j.value("takes_evidence", "");
        if (j.contains("driver")) {
            const auto& d = j["driver"];
            r.driver.libccid_version = d.value("libccid", "");
            r.driver.outcome =
                driver_outcome_from(d.value("outcome", "not_run")).value_or(DriverOutcome::NotRun);
            r.driver.opens = d.value("opens", std::uint64_t{0});
            r.driver.claims = d.value("claims", std::uint64_t{0});
            r.driver.messages = d.value("messages", std::uint64_t{0});
            r.driver.readers = d.value("readers", std::size_t{0});
            r.driver.log_line = d.value("log", "");
        }
        for (const auto& v : j.at("verdicts")) {
            CellResult c;
            c.cell.card_type = v.at("card_type").get<std::string>();
            c.cell.interface = v.at("interface").get<std::string>();
            c.verdict = model::compatibility_from(v.at("verdict").get<std::string>())
                            .value_or(Compatibility::Untested);
            c.diagnosis_en = v.value("diagnosis", "");
            c.diagnosis_ja = v.value("diagnosis_ja", "");
            if (v.contains("causes"))
                for (const auto& code : v["causes"])
                    c.causes.push_back({code.get<std::string>(), c.verdict, {}, {}});
            else if (!v.value("cause", "").empty())
                c.causes.push_back({v["cause"].get<std::string>(), c.verdict, {}, {}});
            r.verdicts.push_back(std::move(c));
        }
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw UsageError(fmt::format("{}: not a survey result: {}", origin, e.what()));
    }
}

// ---- Agreement. -------------------------------------------------------------------------------

const char* to_string(Agreement a) {
    switch (a) {
    case Agreement::Agree:
        return "agree";
    case Agreement::Explained:
        return "explained";
    case Agreement::Disagree:
        return "disagree";
    case Agreement::NotComparable:
        return "not_comparable";
    }
    return "not_comparable";
}

namespace {

ccid::Likelihood as_likelihood(Compatibility c) {
    switch (c) {
    case Compatibility::Compatible:
        return ccid::Likelihood::Likely;
    case Compatibility::Partial:
        return ccid::Likelihood::AtRisk;
    default:
        return ccid::Likelihood::Unlikely;
    }
}

// Why a verdict may differ from a descriptor-only prediction: the cause codes whose reason the
// descriptor cannot show, with the sentence the agreement table prints.
struct Explanation {
    const char* code;
    const char* text;
};
constexpr Explanation explanations[] = {
    {"driver_not_listed", "the prediction reads the descriptor; the installed driver does not "
                          "list this VID:PID"},
    {"driver_refused_firmware", "the prediction reads the descriptor; the installed driver "
                                "refuses this firmware version"},
    {"driver_level_override", "the driver does not keep to the declared exchange level"},
    {"driver_exceeds_message_length", "the driver sends messages above the declared "
                                      "dwMaxCCIDMessageLength"},
    {"t1_block_exceeds_message_length", "the driver's IFSD (dwMaxIFSD) makes T=1 blocks longer "
                                        "than the declared dwMaxCCIDMessageLength"},
    {"vendor_escape_not_emulated", "the driver needs vendor Escape commands the emulation does "
                                   "not know"},
    {"extended_not_carried", "the prediction counts extended APDUs a short-APDU reader cannot "
                             "carry; the JPKI client's short APDUs pass"},
    {"chaining_emulated", "the prediction counts CCID chaining as a firmware risk; the emulated "
                          "firmware chains as the descriptor declares"},
};

} // namespace

AgreementRow agreement_of(const ReaderResult& r) {
    AgreementRow row;
    row.file = r.file;
    row.block = r.block;
    row.vid = r.identity.vendor_id;
    row.pid = r.identity.product_id;
    row.bcd_device = r.identity.bcd_device;
    if (r.descriptor)
        row.exchange_level = ccid::to_string(r.descriptor->exchange_level());
    const auto prediction = r.prediction();
    if (prediction)
        row.prediction = ccid::to_string(*prediction);
    const CellResult* compared = nullptr;
    for (const char* face : {"contact", "contactless"}) {
        for (const auto& v : r.verdicts)
            if (v.cell.card_type == "mynumber" && v.cell.interface == face &&
                v.verdict != Compatibility::Untested && v.cause() != "interface_not_supported" &&
                v.cause() != "no_card_slot") {
                compared = &v;
                break;
            }
        if (compared)
            break;
    }
    if (!compared || !prediction) {
        row.agreement = Agreement::NotComparable;
        for (const auto& v : r.verdicts)
            if (v.cell.card_type == "mynumber") {
                row.interface = v.cell.interface;
                row.verdict = model::to_string(v.verdict);
                row.cause = v.cause();
                break;
            }
        return row;
    }
    row.interface = compared->cell.interface;
    row.verdict = model::to_string(compared->verdict);
    row.cause = compared->cause();
    if (as_likelihood(compared->verdict) == *prediction) {
        row.agreement = Agreement::Agree;
        return row;
    }
    for (const auto& c : compared->causes)
        for (const auto& e : explanations)
            if (c.code == e.code) {
                row.agreement = Agreement::Explained;
                row.explanation = e.text;
                return row;
            }
    row.agreement = Agreement::Disagree;
    return row;
}

std::string agreement_csv(const std::vector<AgreementRow>& rows, const std::string& libccid) {
    const auto quote = [](const std::string& s) {
        if (s.find_first_of(",\"\n") == std::string::npos)
            return s;
        std::string out = "\"";
        for (const char c : s)
            out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    };
    std::string out = fmt::format("# libccid {}\n", libccid);
    out += "file,block,vid,pid,bcd_device,exchange_level,prediction,interface,verdict,cause,"
           "agreement,explanation\n";
    for (const auto& r : rows)
        out +=
            fmt::format("{},{},{:04X},{:04X},{:04X},{},{},{},{},{},{},{}\n", quote(r.file), r.block,
                        r.vid, r.pid, r.bcd_device, r.exchange_level, r.prediction, r.interface,
                        r.verdict, r.cause, to_string(r.agreement), quote(r.explanation));
    return out;
}

} // namespace harness::survey
