#include "pure/apdu.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace harness;
using apdu::Case;
using apdu::Form;

namespace {

Bytes h(const char* text) {
    return hex::parse_or_throw(text);
}

Bytes pattern_bytes(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>((i * 7 + 3) & 0xFF);
    return out;
}

Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (ByteView p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

bool has_code(const Findings& findings, const std::string& code) {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const Finding& f) { return f.code == code; });
}

const Finding* find_code(const Findings& findings, const std::string& code) {
    for (const Finding& f : findings)
        if (f.code == code)
            return &f;
    return nullptr;
}

// One row: a command with Nc data bytes and an optional Ne, and the bytes it must encode to
// (header 80 CA 01 02 + prefix + data + suffix).
struct EncodeRow {
    const char* name;
    std::size_t nc;
    std::optional<std::size_t> le;
    Form form;
    const char* prefix;
    const char* suffix;
    Case expected_case;
};

const EncodeRow encode_rows[] = {
    {"case 1", 0, std::nullopt, Form::Auto, "", "", Case::Case1},
    {"case 1 forced extended stays 4 bytes", 0, std::nullopt, Form::Extended, "", "", Case::Case1},
    {"case 2S Le=1", 0, 1, Form::Auto, "", "01", Case::Case2S},
    {"case 2S Le=255", 0, 255, Form::Auto, "", "FF", Case::Case2S},
    {"case 2S Le=256 as 00", 0, 256, Form::Auto, "", "00", Case::Case2S},
    {"case 2E Le=257", 0, 257, Form::Auto, "", "00 01 01", Case::Case2E},
    {"case 2E Le=65535", 0, 65535, Form::Auto, "", "00 FF FF", Case::Case2E},
    {"case 2E Le=65536 as 00 00 00", 0, 65536, Form::Auto, "", "00 00 00", Case::Case2E},
    {"case 2E forced Le=1", 0, 1, Form::Extended, "", "00 00 01", Case::Case2E},
    {"case 2E forced Le=256", 0, 256, Form::Extended, "", "00 01 00", Case::Case2E},
    {"case 3S Lc=1", 1, std::nullopt, Form::Auto, "01", "", Case::Case3S},
    {"case 3S Lc=255", 255, std::nullopt, Form::Auto, "FF", "", Case::Case3S},
    {"case 3E Lc=256", 256, std::nullopt, Form::Auto, "00 01 00", "", Case::Case3E},
    {"case 3E Lc=65535", 65535, std::nullopt, Form::Auto, "00 FF FF", "", Case::Case3E},
    {"case 3E forced Lc=1", 1, std::nullopt, Form::Extended, "00 00 01", "", Case::Case3E},
    {"case 4S Lc=1 Le=1", 1, 1, Form::Auto, "01", "01", Case::Case4S},
    {"case 4S Lc=1 Le=256", 1, 256, Form::Auto, "01", "00", Case::Case4S},
    {"case 4S Lc=255 Le=256", 255, 256, Form::Auto, "FF", "00", Case::Case4S},
    {"case 4S short forced Lc=255 Le=256", 255, 256, Form::Short, "FF", "00", Case::Case4S},
    {"case 4E Lc=256 Le=1", 256, 1, Form::Auto, "00 01 00", "00 01", Case::Case4E},
    {"case 4E Lc=1 Le=257", 1, 257, Form::Auto, "00 00 01", "01 01", Case::Case4E},
    {"case 4E Lc=1 Le=65536", 1, 65536, Form::Auto, "00 00 01", "00 00", Case::Case4E},
    {"case 4E Lc=65535 Le=65536", 65535, 65536, Form::Auto, "00 FF FF", "00 00", Case::Case4E},
    {"case 4E forced Lc=2 Le=2", 2, 2, Form::Extended, "00 00 02", "00 02", Case::Case4E},
};

} // namespace

BOOST_AUTO_TEST_CASE(encodes_every_case_at_its_boundaries) {
    for (const EncodeRow& row : encode_rows) {
        apdu::Command command{0x80,   0xCA,     0x01,        0x02, pattern_bytes(row.nc),
                              row.le, row.form, std::nullopt};
        const Bytes expected =
            concat({h("80 CA 01 02"), h(row.prefix), pattern_bytes(row.nc), h(row.suffix)});
        BOOST_TEST(apdu::encode(command) == expected, row.name);
        BOOST_TEST(apdu::to_string(command.apdu_case()) == apdu::to_string(row.expected_case),
                   row.name);
    }
}

BOOST_AUTO_TEST_CASE(encode_then_parse_round_trips_for_every_case) {
    for (const EncodeRow& row : encode_rows) {
        apdu::Command command{0x00,   0xB0,     0x7F,        0xFF, pattern_bytes(row.nc),
                              row.le, row.form, std::nullopt};
        const Bytes wire = apdu::encode(command);
        const auto parsed = apdu::parse(wire);
        BOOST_TEST_REQUIRE(parsed.command.has_value(), row.name);
        BOOST_TEST(apdu::to_string(parsed.apdu_case) == apdu::to_string(row.expected_case),
                   row.name);
        for (const Finding& f : parsed.findings)
            BOOST_TEST((f.severity == Severity::Info), row.name << ": " << f.code);
        const apdu::Command& back = *parsed.command;
        BOOST_TEST(back.cla == 0x00);
        BOOST_TEST(back.ins == 0xB0);
        BOOST_TEST(back.p1 == 0x7F);
        BOOST_TEST(back.p2 == 0xFF);
        BOOST_TEST(back.data == command.data, row.name);
        BOOST_TEST((back.le == command.le), row.name);
        BOOST_TEST(!back.is_raw());
        BOOST_TEST(
            (back.form == (apdu::is_extended(row.expected_case) ? Form::Extended : Form::Short)),
            row.name);
        BOOST_TEST(apdu::encode(back) == wire, row.name);
    }
}

BOOST_AUTO_TEST_CASE(extended_form_where_short_would_do_is_an_info_finding) {
    struct Row {
        const char* hex;
        bool expect_info;
    };
    for (auto [text, expect_info] :
         {Row{"00 B0 00 00 00 00 10", true}, Row{"00 B0 00 00 00 01 00", true},
          Row{"00 B0 00 00 00 01 01", false}, Row{"00 B0 00 00 00 00 00", false},
          Row{"00 D6 00 00 00 00 01 AA", true}, Row{"00 D6 00 00 00 00 01 AA 00 00", false},
          Row{"00 D6 00 00 00 00 01 AA 01 00", true}}) {
        const auto parsed = apdu::parse(h(text));
        BOOST_TEST_REQUIRE(parsed.command.has_value(), text);
        BOOST_TEST(has_code(parsed.findings, "extended_not_needed") == expect_info, text);
        if (const Finding* f = find_code(parsed.findings, "extended_not_needed"))
            BOOST_TEST((f->severity == Severity::Info));
    }
}

BOOST_AUTO_TEST_CASE(parses_the_commands_jpki_clients_send) {
    struct Row {
        const char* hex;
        Case expected;
        std::size_t nc;
        std::optional<std::size_t> le;
    };
    const Row rows[] = {
        {"00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", Case::Case3S, 10, std::nullopt},
        {"00 A4 02 0C 02 00 06", Case::Case3S, 2, std::nullopt},
        {"00 B0 00 00 04", Case::Case2S, 0, 4},
        {"00 B0 00 00 00", Case::Case2S, 0, 256},
        {"00 20 00 80", Case::Case1, 0, std::nullopt},
        {"00 20 00 80 04 31 32 33 34", Case::Case3S, 4, std::nullopt},
        {"00 B0 8A 00 00 00 00", Case::Case2E, 0, 65536},
        {"00 A4 04 00 0A D3 92 10 00 31 00 01 01 04 08 00", Case::Case4S, 10, 256},
    };
    for (const Row& row : rows) {
        const auto parsed = apdu::parse(h(row.hex));
        BOOST_TEST_REQUIRE(parsed.command.has_value(), row.hex);
        BOOST_TEST(apdu::to_string(parsed.apdu_case) == apdu::to_string(row.expected), row.hex);
        BOOST_TEST(parsed.command->data.size() == row.nc, row.hex);
        BOOST_TEST((parsed.command->le == row.le), row.hex);
        BOOST_TEST(parsed.findings.empty(), row.hex);
    }
    // Sign: 80 2A 00 80 Lc <51-byte DigestInfo> 00 -> case 4S, Ne 256 (a 258-byte response).
    Bytes sign = h("80 2A 00 80 33");
    const Bytes digest_info =
        concat({h("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20"), pattern_bytes(32)});
    sign.insert(sign.end(), digest_info.begin(), digest_info.end());
    sign.push_back(0x00);
    const auto parsed = apdu::parse(sign);
    BOOST_TEST_REQUIRE(parsed.command.has_value());
    BOOST_TEST(apdu::to_string(parsed.apdu_case) == "4S");
    BOOST_TEST(parsed.command->data == digest_info);
    BOOST_TEST(parsed.command->le.value() == 256U);
}

BOOST_AUTO_TEST_CASE(each_malformed_form_gives_its_finding_and_no_command) {
    struct Row {
        const char* hex;
        const char* code;
    };
    const Row rows[] = {
        {"", "apdu_too_short"},
        {"00", "apdu_too_short"},
        {"00 A4 04", "apdu_too_short"},
        {"00 A4 04 0C 00 AA", "short_lc_zero"},
        {"00 A4 04 0C 05 01 02", "body_too_short"},
        {"00 A4 04 0C FF 01", "body_too_short"},
        {"00 A4 04 0C 02 01 02 00 00", "trailing_bytes"},
        {"00 A4 04 0C 01 AA 00 00 00 00", "trailing_bytes"},
        {"00 A4 04 0C 00 00 00 AA", "extended_lc_zero"},
        {"00 A4 04 0C 00 00 00 00", "extended_lc_zero"},
        {"00 A4 04 0C 00 00 05 01 02", "body_too_short"},
        {"00 A4 04 0C 00 01 00 01", "body_too_short"},
        {"00 A4 04 0C 00 00 01 AA 00", "extended_le_incomplete"},
        {"00 A4 04 0C 00 00 01 AA 00 00 00", "trailing_bytes"},
    };
    for (const Row& row : rows) {
        apdu::ParseResult parsed;
        BOOST_CHECK_NO_THROW(parsed = apdu::parse(h(row.hex)));
        BOOST_TEST(!parsed.command.has_value(), row.hex);
        BOOST_TEST(apdu::to_string(parsed.apdu_case) == "invalid", row.hex);
        const Finding* f = find_code(parsed.findings, row.code);
        BOOST_TEST_REQUIRE(f != nullptr, row.hex << " should give " << row.code);
        BOOST_TEST((f->severity == Severity::Error), row.hex);
        BOOST_TEST(!f->message.empty());
        BOOST_TEST(!f->message_ja.empty());
    }
}

BOOST_AUTO_TEST_CASE(invalid_cla_and_ins_are_warnings_on_a_parsed_command) {
    struct Row {
        const char* hex;
        const char* code;
    };
    for (auto [text, code] :
         {Row{"FF A4 00 00", "cla_invalid"}, Row{"00 61 00 00", "ins_invalid"},
          Row{"00 9F 00 00 01", "ins_invalid"}, Row{"00 6C 00 00 01 AA", "ins_invalid"}}) {
        const auto parsed = apdu::parse(h(text));
        BOOST_TEST(parsed.command.has_value(), text);
        const Finding* f = find_code(parsed.findings, code);
        BOOST_TEST_REQUIRE(f != nullptr, text);
        BOOST_TEST((f->severity == Severity::Warning), text);
    }
    BOOST_TEST(apdu::parse(h("00 A4 00 00")).findings.empty());
    BOOST_TEST(apdu::parse(h("80 2A 00 80")).findings.empty());
}

BOOST_AUTO_TEST_CASE(unencodable_commands_are_refused_with_a_reason) {
    struct Row {
        const char* name;
        std::size_t nc;
        std::optional<std::size_t> le;
        Form form;
    };
    const Row rows[] = {
        {"Le 0", 0, 0, Form::Auto},
        {"Le 65537", 0, 65537, Form::Auto},
        {"Nc 65536", 65536, std::nullopt, Form::Auto},
        {"short forced, Nc 256", 256, std::nullopt, Form::Short},
        {"short forced, Le 257", 0, 257, Form::Short},
        {"short forced, Nc 1 Le 65536", 1, 65536, Form::Short},
    };
    for (const Row& row : rows) {
        apdu::Command command{0x00,   0xB0,     0x00,        0x00, pattern_bytes(row.nc),
                              row.le, row.form, std::nullopt};
        std::string why;
        BOOST_TEST(!apdu::try_encode(command, &why).has_value(), row.name);
        BOOST_TEST(!why.empty(), row.name);
        BOOST_CHECK_THROW(apdu::encode(command), UsageError);
        BOOST_TEST(apdu::to_string(command.apdu_case()) == "invalid", row.name);
    }
}

BOOST_AUTO_TEST_CASE(raw_commands_are_sent_exactly_as_given) {
    for (const char* text :
         {"00 A4 04 0C 05 01", "00", "", "00 B0 00 00 00 00 01 AA 00", "00 A4 04 0C 02 3F 00"}) {
        const Bytes bytes = h(text);
        const apdu::Command command = apdu::raw(bytes);
        BOOST_TEST(command.is_raw());
        BOOST_TEST(apdu::encode(command) == bytes, text);
        BOOST_TEST(apdu::to_string(command.apdu_case()) ==
                       apdu::to_string(apdu::parse(bytes).apdu_case),
                   text);
    }
    BOOST_TEST(apdu::to_string(apdu::raw(h("00 A4 04 0C 05 01")).apdu_case()) == "invalid");
    BOOST_TEST(apdu::to_string(apdu::raw(h("00 A4 02 0C 02 3F 00")).apdu_case()) == "3S");
    // A raw command ignores its structured fields and form.
    apdu::Command odd = apdu::with_form(apdu::raw(h("00 B0 00 00 00 01 00")), Form::Short);
    odd.le = 5;
    BOOST_TEST(apdu::encode(odd) == h("00 B0 00 00 00 01 00"));
}

BOOST_AUTO_TEST_CASE(builders_make_the_usual_commands) {
    const Bytes jpki_aid = h("D3 92 F0 00 26 01 00 00 00 01");
    BOOST_TEST(apdu::encode(apdu::select_aid(jpki_aid)) ==
               h("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"));
    BOOST_TEST(apdu::encode(apdu::select_ef(0x000A)) == h("00 A4 02 0C 02 00 0A"));
    BOOST_TEST(apdu::encode(apdu::select_ef(0x001B, 0x00)) == h("00 A4 02 00 02 00 1B"));
    BOOST_TEST(apdu::encode(apdu::read_binary(0x0000, 4)) == h("00 B0 00 00 04"));
    BOOST_TEST(apdu::encode(apdu::read_binary(0x0104, 256)) == h("00 B0 01 04 00"));
    BOOST_TEST(apdu::encode(apdu::read_binary(0xFFFF, 1)) == h("00 B0 7F FF 01"));
    BOOST_TEST(apdu::encode(apdu::read_binary(0, 65536)) == h("00 B0 00 00 00 00 00"));
    BOOST_TEST(apdu::encode(apdu::get_response(0x20)) == h("00 C0 00 00 20"));
    BOOST_TEST(apdu::encode(apdu::case1(0x00, 0x20, 0x00, 0x80)) == h("00 20 00 80"));
    BOOST_TEST(apdu::encode(apdu::case4(0x80, 0x2A, 0x00, 0x80, h("01 02"), 256)) ==
               h("80 2A 00 80 02 01 02 00"));
    BOOST_TEST(apdu::encode(apdu::with_form(apdu::case2(0x00, 0xB0, 0x00, 0x00, 256),
                                            Form::Extended)) == h("00 B0 00 00 00 01 00"));
}

// Every body of up to 2 bytes, and pseudo-random APDUs: parse never throws, and whatever parses
// re-encodes to exactly the same bytes (parse keeps the length-field form).
BOOST_AUTO_TEST_CASE(whatever_parses_reencodes_to_the_same_bytes) {
    std::size_t parsed_count = 0;
    std::size_t checked = 0;
    auto check = [&](const Bytes& bytes) {
        const auto parsed = apdu::parse(bytes);
        ++checked;
        if (!parsed.command) {
            BOOST_TEST(!parsed.findings.empty());
            return;
        }
        ++parsed_count;
        if (apdu::encode(*parsed.command) != bytes)
            BOOST_ERROR("re-encoding differs for " << hex::format(bytes));
    };
    const Bytes header = h("00 B0 00 00");
    check(header);
    for (int a = 0; a < 256; ++a) {
        Bytes one = header;
        one.push_back(static_cast<std::uint8_t>(a));
        check(one);
        for (int b = 0; b < 256; ++b) {
            Bytes two = one;
            two.push_back(static_cast<std::uint8_t>(b));
            check(two);
        }
    }
    std::uint32_t state = 12345;
    auto next = [&] {
        state = state * 1103515245U + 12345U;
        return static_cast<std::uint8_t>((state >> 16) & 0xFF);
    };
    for (int i = 0; i < 20000; ++i) {
        Bytes bytes(4 + static_cast<std::size_t>(next() % 12));
        for (auto& b : bytes)
            b = next();
        if (bytes.size() > 4 && next() % 2 == 0)
            bytes[4] = static_cast<std::uint8_t>(bytes.size() - 5 - (next() % 2));
        check(bytes);
    }
    BOOST_TEST(checked > 60000U);
    BOOST_TEST(parsed_count > 256U);
}

BOOST_AUTO_TEST_CASE(responses_parse_with_status_word_helpers) {
    const auto ok = apdu::parse_response(h("90 00"));
    BOOST_TEST_REQUIRE(ok.response.has_value());
    BOOST_TEST(ok.response->ok());
    BOOST_TEST(ok.response->sw() == 0x9000);
    BOOST_TEST(ok.response->data.empty());
    BOOST_TEST(ok.findings.empty());

    // RSA-2048 signature: 256 bytes + 90 00 = a 258-byte response.
    const Bytes signature = concat({pattern_bytes(256), h("90 00")});
    const auto signed_ = apdu::parse_response(signature);
    BOOST_TEST_REQUIRE(signed_.response.has_value());
    BOOST_TEST(signed_.response->data == pattern_bytes(256));
    BOOST_TEST(signed_.response->encode() == signature);

    struct Row {
        const char* hex;
        std::uint16_t sw;
        std::optional<std::size_t> available;
        std::optional<std::size_t> exact_le;
        std::optional<unsigned> retries;
    };
    const Row rows[] = {
        {"61 10", 0x6110, 16, std::nullopt, std::nullopt},
        {"61 00", 0x6100, 256, std::nullopt, std::nullopt},
        {"6C 05", 0x6C05, std::nullopt, 5, std::nullopt},
        {"6C 00", 0x6C00, std::nullopt, 256, std::nullopt},
        {"63 C3", 0x63C3, std::nullopt, std::nullopt, 3U},
        {"63 C0", 0x63C0, std::nullopt, std::nullopt, 0U},
        {"63 CF", 0x63CF, std::nullopt, std::nullopt, 15U},
        {"63 00", 0x6300, std::nullopt, std::nullopt, std::nullopt},
        {"63 B2", 0x63B2, std::nullopt, std::nullopt, std::nullopt},
        {"69 84", 0x6984, std::nullopt, std::nullopt, std::nullopt},
        {"AA BB 6A 82", 0x6A82, std::nullopt, std::nullopt, std::nullopt},
    };
    for (const Row& row : rows) {
        const auto parsed = apdu::parse_response(h(row.hex));
        BOOST_TEST_REQUIRE(parsed.response.has_value(), row.hex);
        const apdu::Response& r = *parsed.response;
        BOOST_TEST(r.sw() == row.sw, row.hex);
        BOOST_TEST(!r.ok(), row.hex);
        BOOST_TEST(r.is_61xx() == row.available.has_value(), row.hex);
        BOOST_TEST(r.is_6cxx() == row.exact_le.has_value(), row.hex);
        BOOST_TEST((r.bytes_available() == row.available), row.hex);
        BOOST_TEST((r.exact_le() == row.exact_le), row.hex);
        BOOST_TEST((r.retry_count() == row.retries), row.hex);
        // The free functions over the raw bytes agree with the parsed response.
        BOOST_TEST(apdu::sw_of(h(row.hex)) == row.sw, row.hex);
        BOOST_TEST((apdu::retry_count(row.sw) == row.retries), row.hex);
        const Bytes raw = h(row.hex);
        const ByteView data = apdu::data_of(raw);
        BOOST_TEST(Bytes(data.begin(), data.end()) == r.data, row.hex);
        BOOST_TEST(r.encode() == h(row.hex), row.hex);
        BOOST_TEST(parsed.findings.empty(), row.hex);
    }
}

BOOST_AUTO_TEST_CASE(malformed_responses_give_findings) {
    for (const char* text : {"", "90"}) {
        const auto parsed = apdu::parse_response(h(text));
        BOOST_TEST(!parsed.response.has_value(), text);
        const Finding* f = find_code(parsed.findings, "response_too_short");
        BOOST_TEST_REQUIRE(f != nullptr, text);
        BOOST_TEST((f->severity == Severity::Error));
    }
    for (const char* text : {"12 34", "60 00", "01 02 A0 00", "70 00"}) {
        const auto parsed = apdu::parse_response(h(text));
        BOOST_TEST(parsed.response.has_value(), text);
        BOOST_TEST(has_code(parsed.findings, "sw1_invalid"), text);
    }
    for (const char* text : {"90 00", "61 FF", "6F 00", "9F 10", "62 82"})
        BOOST_TEST(apdu::parse_response(h(text)).findings.empty(), text);
    const Bytes huge = concat({pattern_bytes(65537), h("90 00")});
    BOOST_TEST(has_code(apdu::parse_response(huge).findings, "response_too_long"));
    const Bytes largest = concat({pattern_bytes(65536), h("90 00")});
    BOOST_TEST(apdu::parse_response(largest).findings.empty());
}

BOOST_AUTO_TEST_CASE(make_response_builds_and_round_trips) {
    const apdu::Response r = apdu::make_response(0x6982);
    BOOST_TEST(r.sw1 == 0x69);
    BOOST_TEST(r.sw2 == 0x82);
    BOOST_TEST(r.encode() == h("69 82"));
    const apdu::Response with_data = apdu::make_response(0x9000, h("01 02 03"));
    BOOST_TEST(with_data.encode() == h("01 02 03 90 00"));
    BOOST_TEST((apdu::parse_response(with_data.encode()).response.value() == with_data));
}

BOOST_AUTO_TEST_CASE(case_names_are_stable) {
    BOOST_TEST(std::string(apdu::to_string(Case::Case1)) == "1");
    BOOST_TEST(std::string(apdu::to_string(Case::Case2S)) == "2S");
    BOOST_TEST(std::string(apdu::to_string(Case::Case3S)) == "3S");
    BOOST_TEST(std::string(apdu::to_string(Case::Case4S)) == "4S");
    BOOST_TEST(std::string(apdu::to_string(Case::Case2E)) == "2E");
    BOOST_TEST(std::string(apdu::to_string(Case::Case3E)) == "3E");
    BOOST_TEST(std::string(apdu::to_string(Case::Case4E)) == "4E");
    BOOST_TEST(std::string(apdu::to_string(Case::Invalid)) == "invalid");
    BOOST_TEST(!apdu::is_extended(Case::Case4S));
    BOOST_TEST(apdu::is_extended(Case::Case2E));
}

BOOST_AUTO_TEST_CASE(raw_response_without_a_status_word) {
    // Fewer than two bytes: no status word (0) and no data, never a read past the end.
    for (const char* text : {"", "90"}) {
        BOOST_TEST(apdu::sw_of(h(text)) == 0, text);
        BOOST_TEST(apdu::data_of(h(text)).empty(), text);
    }
    BOOST_TEST(apdu::sw_of(h("90 00")) == 0x9000);
    BOOST_TEST(apdu::data_of(h("90 00")).empty());
}
