#include "pure/apdu.hpp"

#include "pure/error.hpp"

#include <fmt/format.h>
#include <utility>

namespace harness::apdu {
namespace {

Finding finding(Severity severity, std::string code, std::string message, std::string message_ja) {
    return Finding{severity, std::move(code), std::move(message), std::move(message_ja)};
}

std::uint8_t hi(std::size_t value) {
    return static_cast<std::uint8_t>((value >> 8) & 0xFF);
}
std::uint8_t lo(std::size_t value) {
    return static_cast<std::uint8_t>(value & 0xFF);
}

// ISO 7816-4 §5.1: a short Le of 00 means 256, an extended Le of 00 00 means 65536.
std::size_t short_ne(std::uint8_t byte) {
    return byte == 0 ? 256 : byte;
}
std::size_t extended_ne(std::uint8_t high, std::uint8_t low) {
    const std::size_t value = (static_cast<std::size_t>(high) << 8) | low;
    return value == 0 ? 65536 : value;
}

bool needs_extended(const Command& command) {
    return command.data.size() > max_short_nc || (command.le && *command.le > max_short_ne);
}

// Checks the length fields; returns whether the extended form is used, or nullopt with why.
std::optional<bool> choose_form(const Command& command, std::string* why) {
    auto fail = [&](std::string message) -> std::optional<bool> {
        if (why)
            *why = std::move(message);
        return std::nullopt;
    };
    if (command.le && (*command.le < 1 || *command.le > max_extended_ne))
        return fail(fmt::format("Le (Ne) must be 1..65536, got {}", *command.le));
    if (command.data.size() > max_extended_nc)
        return fail(fmt::format("command data (Nc) must be at most 65535 bytes, got {}",
                                command.data.size()));
    const bool needed = needs_extended(command);
    switch (command.form) {
    case Form::Auto:
        return needed;
    case Form::Short:
        if (needed)
            return fail(fmt::format("short form forced but Nc={} / Ne={} need extended length "
                                    "fields (short: Nc <= 255, Ne <= 256)",
                                    command.data.size(), command.le.value_or(0)));
        return false;
    case Form::Extended:
        return true;
    }
    return needed;
}

Case case_of(bool has_data, bool has_le, bool extended) {
    if (!has_data && !has_le)
        return Case::Case1;
    if (!has_data)
        return extended ? Case::Case2E : Case::Case2S;
    if (!has_le)
        return extended ? Case::Case3E : Case::Case3S;
    return extended ? Case::Case4E : Case::Case4S;
}

} // namespace

const char* to_string(Case c) {
    switch (c) {
    case Case::Case1:
        return "1";
    case Case::Case2S:
        return "2S";
    case Case::Case3S:
        return "3S";
    case Case::Case4S:
        return "4S";
    case Case::Case2E:
        return "2E";
    case Case::Case3E:
        return "3E";
    case Case::Case4E:
        return "4E";
    case Case::Invalid:
        return "invalid";
    }
    return "invalid";
}

bool is_extended(Case c) {
    return c == Case::Case2E || c == Case::Case3E || c == Case::Case4E;
}

Case Command::apdu_case() const {
    if (raw)
        return parse(*raw).apdu_case;
    const auto extended = choose_form(*this, nullptr);
    if (!extended)
        return Case::Invalid;
    return case_of(!data.empty(), le.has_value(), *extended);
}

Command case1(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2) {
    return Command{cla, ins, p1, p2, {}, std::nullopt, Form::Auto, std::nullopt};
}

Command case2(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
              std::size_t le) {
    return Command{cla, ins, p1, p2, {}, le, Form::Auto, std::nullopt};
}

Command case3(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data) {
    return Command{cla, ins, p1, p2, std::move(data), std::nullopt, Form::Auto, std::nullopt};
}

Command case4(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data,
              std::size_t le) {
    return Command{cla, ins, p1, p2, std::move(data), le, Form::Auto, std::nullopt};
}

Command raw(Bytes bytes) {
    Command command;
    command.raw = std::move(bytes);
    return command;
}

Command with_form(Command command, Form form) {
    command.form = form;
    return command;
}

Command select_aid(ByteView aid, std::uint8_t p2) {
    return case3(0x00, 0xA4, 0x04, p2, Bytes(aid.begin(), aid.end()));
}

Command select_ef(std::uint16_t fid, std::uint8_t p2) {
    return case3(0x00, 0xA4, 0x02, p2, Bytes{hi(fid), lo(fid)});
}

Command read_binary(std::uint16_t offset, std::size_t le) {
    return case2(0x00, 0xB0, static_cast<std::uint8_t>(hi(offset) & 0x7F), lo(offset), le);
}

Command get_response(std::size_t le) {
    return case2(0x00, 0xC0, 0x00, 0x00, le);
}

std::optional<Bytes> try_encode(const Command& command, std::string* why) {
    if (command.raw)
        return *command.raw;
    const auto extended = choose_form(command, why);
    if (!extended)
        return std::nullopt;
    Bytes out{command.cla, command.ins, command.p1, command.p2};
    out.reserve(4 + 3 + command.data.size() + 3);
    const std::size_t nc = command.data.size();
    if (*extended) {
        // ISO 7816-3 §12.1.3: extended Lc = 00 Lc1 Lc2; Le = 00 Le1 Le2 alone, Le1 Le2 after data.
        if (nc > 0) {
            out.insert(out.end(), {0x00, hi(nc), lo(nc)});
            out.insert(out.end(), command.data.begin(), command.data.end());
        }
        if (command.le) {
            const std::size_t ne = *command.le == max_extended_ne ? 0 : *command.le;
            if (nc == 0)
                out.push_back(0x00);
            out.insert(out.end(), {hi(ne), lo(ne)});
        }
    } else {
        if (nc > 0) {
            out.push_back(lo(nc));
            out.insert(out.end(), command.data.begin(), command.data.end());
        }
        if (command.le)
            out.push_back(lo(*command.le == max_short_ne ? 0 : *command.le));
    }
    return out;
}

Bytes encode(const Command& command) {
    std::string why;
    auto bytes = try_encode(command, &why);
    if (!bytes)
        throw UsageError("cannot encode APDU: " + why);
    return std::move(*bytes);
}

ParseResult parse(ByteView bytes) {
    ParseResult result;
    auto error = [&](std::string code, std::string message, std::string message_ja) {
        result.findings.push_back(
            finding(Severity::Error, std::move(code), std::move(message), std::move(message_ja)));
        result.apdu_case = Case::Invalid;
        return result;
    };
    if (bytes.size() < 4)
        return error(
            "apdu_too_short",
            fmt::format("command APDU has {} bytes; the header CLA INS P1 P2 needs 4",
                        bytes.size()),
            fmt::format("コマンドAPDUが{}バイトしかない（ヘッダーCLA INS P1 P2に4バイト必要）",
                        bytes.size()));

    Command command;
    command.cla = bytes[0];
    command.ins = bytes[1];
    command.p1 = bytes[2];
    command.p2 = bytes[3];
    // ISO 7816-4 §5.1.1: CLA FF is invalid (reserved for PPS, ISO 7816-3 §9).
    if (command.cla == 0xFF)
        result.findings.push_back(finding(Severity::Warning, "cla_invalid",
                                          "CLA FF is invalid (reserved for PPS)",
                                          "CLA FFは無効（PPS用に予約）"));
    // ISO 7816-4 §5.1.2: INS 6X and 9X are invalid (T=0 procedure bytes).
    if ((command.ins & 0xF0) == 0x60 || (command.ins & 0xF0) == 0x90)
        result.findings.push_back(finding(
            Severity::Warning, "ins_invalid",
            fmt::format("INS {:02X} is invalid (6X and 9X are T=0 procedure bytes)", command.ins),
            fmt::format("INS {:02X}は無効（6X・9XはT=0の手続きバイト）", command.ins)));

    const ByteView body = bytes.subspan(4);
    const std::size_t length = body.size();
    auto too_short = [&](std::size_t nc, std::size_t present) {
        return error("body_too_short",
                     fmt::format("Lc announces {} data bytes but only {} follow", nc, present),
                     fmt::format("Lcは{}バイトのデータを示すが、{}バイトしかない", nc, present));
    };
    auto trailing = [&](std::size_t extra) {
        return error("trailing_bytes",
                     fmt::format("{} byte(s) after the Le field fit no APDU case", extra),
                     fmt::format("Leフィールドの後に{}バイト余分なデータがある", extra));
    };

    // ISO 7816-3 §12.1.3: decoding of the body by its length and first byte(s).
    if (length == 0) {
        result.apdu_case = Case::Case1;
        command.form = Form::Short;
    } else if (length == 1) {
        result.apdu_case = Case::Case2S;
        command.form = Form::Short;
        command.le = short_ne(body[0]);
    } else if (body[0] != 0) {
        const std::size_t nc = body[0];
        if (length < 1 + nc)
            return too_short(nc, length - 1);
        if (length > 2 + nc)
            return trailing(length - 2 - nc);
        command.form = Form::Short;
        command.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<std::ptrdiff_t>(nc));
        if (length == 2 + nc) {
            command.le = short_ne(body[length - 1]);
            result.apdu_case = Case::Case4S;
        } else {
            result.apdu_case = Case::Case3S;
        }
    } else if (length == 2) {
        return error("short_lc_zero",
                     "body 00 xx: a short Lc of 00 is invalid and an extended length field needs "
                     "3 bytes",
                     "本体が00 xx：短いLcの00は無効で、拡張長フィールドには3バイト必要");
    } else {
        command.form = Form::Extended;
        const std::size_t value = (static_cast<std::size_t>(body[1]) << 8) | body[2];
        if (length == 3) {
            command.le = extended_ne(body[1], body[2]);
            result.apdu_case = Case::Case2E;
        } else {
            if (value == 0)
                return error("extended_lc_zero",
                             "extended Lc of 00 00 is invalid (Nc must be 1..65535)",
                             "拡張Lcの00 00は無効（Ncは1〜65535）");
            const std::size_t nc = value;
            if (length < 3 + nc)
                return too_short(nc, length - 3);
            if (length == 4 + nc)
                return error("extended_le_incomplete",
                             "one byte follows the extended data; an extended Le needs 2",
                             "拡張データの後に1バイトしかない（拡張Leは2バイト）");
            if (length > 5 + nc)
                return trailing(length - 5 - nc);
            command.data.assign(body.begin() + 3,
                                body.begin() + 3 + static_cast<std::ptrdiff_t>(nc));
            if (length == 5 + nc) {
                command.le = extended_ne(body[length - 2], body[length - 1]);
                result.apdu_case = Case::Case4E;
            } else {
                result.apdu_case = Case::Case3E;
            }
        }
        if (command.data.size() <= max_short_nc && command.le.value_or(0) <= max_short_ne)
            result.findings.push_back(
                finding(Severity::Info, "extended_not_needed",
                        "extended length fields used although short ones would carry Nc and Ne",
                        "短い長さフィールドで足りるのに拡張長フィールドを使っている"));
    }
    result.command = std::move(command);
    return result;
}

std::optional<std::size_t> Response::bytes_available() const {
    if (!is_61xx())
        return std::nullopt;
    return short_ne(sw2);
}

std::optional<std::size_t> Response::exact_le() const {
    if (!is_6cxx())
        return std::nullopt;
    return short_ne(sw2);
}

std::optional<unsigned> Response::retry_count() const {
    return apdu::retry_count(sw());
}

Bytes Response::encode() const {
    Bytes out;
    out.reserve(data.size() + 2);
    out.insert(out.end(), data.begin(), data.end());
    out.push_back(sw1);
    out.push_back(sw2);
    return out;
}

Response make_response(std::uint16_t sw, Bytes data) {
    return Response{std::move(data), hi(sw), lo(sw)};
}

ResponseParseResult parse_response(ByteView bytes) {
    ResponseParseResult result;
    if (bytes.size() < 2) {
        result.findings.push_back(finding(
            Severity::Error, "response_too_short",
            fmt::format("response APDU has {} byte(s); SW1 SW2 need 2", bytes.size()),
            fmt::format("レスポンスAPDUが{}バイトしかない（SW1 SW2に2バイト必要）", bytes.size())));
        return result;
    }
    Response response;
    response.data.assign(bytes.begin(), bytes.end() - 2);
    response.sw1 = bytes[bytes.size() - 2];
    response.sw2 = bytes[bytes.size() - 1];
    // ISO 7816-4 §5.1.3: SW1 is 6X (except 60) or 9X.
    const std::uint8_t group = response.sw1 & 0xF0;
    if ((group != 0x60 && group != 0x90) || response.sw1 == 0x60)
        result.findings.push_back(finding(
            Severity::Warning, "sw1_invalid",
            fmt::format("SW1 {:02X} is invalid (must be 6X other than 60, or 9X)", response.sw1),
            fmt::format("SW1 {:02X}は無効（60以外の6Xまたは9Xであるべき）", response.sw1)));
    if (response.data.size() > max_extended_ne)
        result.findings.push_back(
            finding(Severity::Warning, "response_too_long",
                    fmt::format("response carries {} data bytes, more than Ne can ask for (65536)",
                                response.data.size()),
                    fmt::format("レスポンスデータが{}バイトあり、Neの上限65536を超える",
                                response.data.size())));
    result.response = std::move(response);
    return result;
}

std::uint16_t sw_of(ByteView response) {
    if (response.size() < 2)
        return 0;
    return static_cast<std::uint16_t>((response[response.size() - 2] << 8) | response.back());
}

ByteView data_of(ByteView response) {
    return response.size() < 2 ? ByteView{} : response.first(response.size() - 2);
}

std::optional<unsigned> retry_count(std::uint16_t sw) {
    if ((sw & 0xFFF0) != 0x63C0)
        return std::nullopt;
    return static_cast<unsigned>(sw & 0x0F);
}

} // namespace harness::apdu
