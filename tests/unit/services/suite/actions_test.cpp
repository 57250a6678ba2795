#include "services/suite/actions.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;
using namespace harness::suite;

namespace {

struct Parsed {
    std::optional<Args> args;
    std::vector<ArgError> errors;
};

Parsed parse(std::string_view action, std::string_view text,
             const std::vector<std::string>& stored = {}) {
    Parsed out;
    out.args = parse_args(action, text, &stored, out.errors);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_action_has_a_valid_example) {
    const std::vector<std::string> stored = {"auth_cert", "auth_ca", "cert"};
    BOOST_TEST(actions().size() >= 15u);
    for (const auto& spec : actions()) {
        auto p = parse(spec.name, spec.example_args, stored);
        BOOST_TEST(p.args.has_value(), spec.name << ": " << spec.example_args << " -> "
                                                 << (p.errors.empty() ? "" : p.errors[0].message));
        BOOST_TEST(find_action(spec.name) == &spec);
        // defaults of choices are among the choices
        for (const auto& key : spec.keys)
            if (key.type == ArgType::Choice && !key.default_value.empty())
                BOOST_TEST((std::find(key.choices.begin(), key.choices.end(), key.default_value) !=
                            key.choices.end()),
                           spec.name << "." << key.key);
    }
    for (const char* name : {"apdu", "select_aid", "select_ef", "read_ef", "pin_tries",
                             "verify_pin", "sign", "check_cert", "reset", "reconnect",
                             "expect_removed", "repeat", "measure", "sweep", "atr"})
        BOOST_TEST(find_action(name) != nullptr, name);
    BOOST_TEST(find_action("fly") == nullptr);
}

BOOST_AUTO_TEST_CASE(apdu_positional_hex_with_variables_and_follow) {
    auto p = parse("apdu", "00 A4 04 0C 0A ${aid.jpki};follow=61xx;store=fci");
    BOOST_REQUIRE(p.args);
    const auto& a = std::get<ApduArgs>(*p.args);
    BOOST_TEST((a.follow == Follow::GetResponse));
    BOOST_TEST(*a.store == "fci");
    BOOST_TEST(a.command.variables() == std::vector<std::string>{"aid.jpki"});
    const Bytes bytes = a.command.substitute(profile_variables());
    BOOST_TEST(hex::format(bytes) == "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01");
    BOOST_CHECK_THROW(a.command.substitute({}), Error);
    BOOST_TEST(stored_variable(*p.args).value() == "fci");
    // the keyed form is the same
    auto keyed = parse("apdu", "cmd=00 A4 04 0C 0A ${aid.jpki}");
    BOOST_REQUIRE(keyed.args);
    BOOST_TEST((std::get<ApduArgs>(*keyed.args).follow == Follow::None));
}

BOOST_AUTO_TEST_CASE(malformed_raw_apdus_are_allowed_but_pins_are_not) {
    BOOST_TEST(parse("apdu", "00").args.has_value());                // too short on purpose
    BOOST_TEST(parse("apdu", "00 B0 00 00 00 00").args.has_value()); // bad extended Le
    BOOST_TEST(parse("apdu", "00 20 00 80").args.has_value());       // case-1 VERIFY: the query
    BOOST_TEST(!parse("apdu", "00 20 00 80 04 31 32 33 34").args.has_value());
    BOOST_TEST(!parse("apdu", "00 24 00 80 ${data}", {"data"}).args.has_value());
    BOOST_TEST(!parse("apdu", "A0 20 00 01 08 31 32 33 34 FF FF FF FF").args.has_value()); // GSM
    BOOST_TEST(!parse("apdu", "00 20 00 80 04 31 32").args.has_value()); // malformed, with data
    BOOST_TEST(parse("apdu", "80 20 00 00 00 01 01").args.has_value());  // transport case 2E
    BOOST_TEST(!parse("repeat", "cmd=00 2C 00 81 02 01 02;count=2").args.has_value());
    BOOST_TEST(parse("repeat", "cmd=80 2A 00 80 01 00 00;count=2").args.has_value());
    BOOST_TEST(!parse("apdu", "").args.has_value());
}

BOOST_AUTO_TEST_CASE(implied_requirements_follow_the_args) {
    auto req = [](std::string_view action, std::string_view text) {
        std::vector<ArgError> errors;
        const std::vector<std::string> stored = {"cert"};
        auto args = parse_args(action, text, &stored, errors);
        BOOST_REQUIRE(args);
        return implied_requirements(*args);
    };
    using V = std::vector<std::string>;
    BOOST_TEST(req("apdu", "80 20 00 00 00 01 01") == V{"extended_apdu"});
    BOOST_TEST(req("apdu", "80 20 00 00 00") == V{});
    BOOST_TEST(req("read_ef", "fid=000A;mode=extended") == V{"extended_apdu"});
    BOOST_TEST(req("read_ef", "fid=000A") == V{});
    BOOST_TEST(req("verify_pin", "pin=sign") == V{"pin:sign"});
    BOOST_TEST(req("verify_pin", "pin=text;value=wrong") == (V{"pin:text", "test_card"}));
    BOOST_TEST(req("sign", "key=auth;cert=cert") == V{"pin:auth"});
    BOOST_TEST(req("sweep", "case=2;from=1;to=300;form=extended") ==
               (V{"card:transport", "extended_apdu"}));
    BOOST_TEST(req("expect_removed", "") == V{"removal"});
    for (const auto& spec : actions())
        for (const auto token : spec.implied_requires)
            BOOST_TEST(is_known_requirement(token), token);
}

BOOST_AUTO_TEST_CASE(read_ef_modes_and_defaults) {
    auto p = parse("read_ef", "${ef.auth_cert};header=7;chunk=128;store=c");
    BOOST_REQUIRE(p.args);
    const auto& r = std::get<ReadEfArgs>(*p.args);
    BOOST_TEST((r.mode == ReadMode::Header));
    BOOST_TEST(r.header == 7u);
    BOOST_TEST(r.chunk == 128u);
    BOOST_TEST(hex::format(r.fid->substitute(profile_variables())) == "00 0A");
    auto fixed = parse("read_ef", "fid=0006;mode=fixed;length=32");
    BOOST_REQUIRE(fixed.args);
    BOOST_TEST(std::get<ReadEfArgs>(*fixed.args).length == 32u);
    BOOST_TEST(!parse("read_ef", "fid=0006;mode=fixed").args); // length missing
    BOOST_TEST(!parse("read_ef", "fid=0006;length=3").args);   // length without fixed
    BOOST_TEST(!parse("read_ef", "fid=0006;header=16;chunk=8").args);
}

BOOST_AUTO_TEST_CASE(sweep_bounds_per_form) {
    auto ok = [](std::string_view text) { return parse("sweep", text).args.has_value(); };
    BOOST_TEST(ok("case=2;from=1;to=256"));
    BOOST_TEST(!ok("case=2;from=1;to=257"));
    BOOST_TEST(ok("case=2;from=1;to=65536;step=100;form=extended"));
    BOOST_TEST(ok("case=3;from=65535;form=extended"));
    BOOST_TEST(!ok("case=3;from=65536;form=extended"));
    BOOST_TEST(ok("case=4;from=255;le=256"));
    BOOST_TEST(!ok("case=4;from=255;le=257"));
    BOOST_TEST(!ok("case=2;le=5"));
    BOOST_TEST(!ok("case=1;form=extended"));
    BOOST_TEST(!ok("case=2;from=10;to=5"));
    BOOST_TEST(!ok("case=5"));
    auto p = parse("sweep", "case=4;from=51;le=256;cla=00;ins=2A");
    BOOST_REQUIRE(p.args);
    const auto& s = std::get<SweepArgs>(*p.args);
    BOOST_TEST(s.to == 51u);
    BOOST_TEST(s.cla == 0x00);
    BOOST_TEST(s.ins_for_case() == 0x2A);
    BOOST_TEST(SweepArgs{}.ins_for_case() == 0x20);
}

BOOST_AUTO_TEST_CASE(arg_error_columns) {
    auto p = parse("reset", "kind=warm; kind=cold");
    BOOST_REQUIRE_EQUAL(p.errors.size(), 1u);
    BOOST_TEST(p.errors[0].column == 12u);
    BOOST_TEST(p.errors[0].message == "expected kind= at most once, found it again");
    p = parse("pin_tries", "pin=auth;bogus");
    BOOST_REQUIRE_EQUAL(p.errors.size(), 1u);
    BOOST_TEST(p.errors[0].column == 10u);
    p = parse("select_aid", "${aid.jpki");
    BOOST_REQUIRE_EQUAL(p.errors.size(), 1u);
    BOOST_TEST(p.errors[0].column == 1u);
    p = parse("select_aid", "D3 92 ${bad name}");
    BOOST_REQUIRE_EQUAL(p.errors.size(), 1u);
    BOOST_TEST(p.errors[0].column == 9u);
    p = parse("nope", "");
    BOOST_REQUIRE_EQUAL(p.errors.size(), 1u);
}

BOOST_AUTO_TEST_CASE(variables_namespace) {
    BOOST_TEST(is_known_namespaced_variable("aid.jpki"));
    BOOST_TEST(is_known_namespaced_variable("ef.sign_pin"));
    BOOST_TEST(is_known_namespaced_variable("run.reader"));
    BOOST_TEST(!is_known_namespaced_variable("aid.nothing"));
    BOOST_TEST(is_valid_variable_name("auth_cert"));
    BOOST_TEST(!is_valid_variable_name("a b"));
    BOOST_TEST(!is_valid_variable_name(".x"));
    BOOST_TEST(hex::format(profile_variables().at("ef.sign_pin")) == "00 1B");
}

BOOST_AUTO_TEST_CASE(expect_data_grammar_and_checks) {
    struct Case {
        std::string pattern;
        Bytes data;
        bool pass;
    };
    const Bytes cert = {0x30, 0x03, 0x02, 0x01, 0x05};
    const std::vector<Case> cases = {
        {"", {1, 2}, true},
        {"30 .. 02 *", cert, true},
        {"30 .. 02", cert, false},
        {"30 .. 02 01 05", cert, true},
        {"3003020105", cert, true},
        {"*", {}, true},
        {"len=5", cert, true},
        {"len=4", cert, false},
        {"len>=5;len<=5", cert, true},
        {"len<=4", cert, false},
        {"der_certificate", cert, true},
        {"der_certificate", {0x30, 0x05, 0x02}, false},
        {"empty", {}, true},
        {"empty", {0}, false},
        {"transport_pattern", transport_pattern(300), true},
        {"transport_pattern", {0, 1, 3}, false},
        {"token:JPKIAPICCTOKEN2", bytes_of("JPKIAPICCTOKEN2                  "), true},
        {"token:JPKIAPICCTOKEN", bytes_of("JPKIAPICCTOKEN2"), false},
        {"jpki_token", bytes_of(std::string_view("JPKIAPICCTOKEN\0\0", 16)), true},
        {"jpki_token", bytes_of("SOMETHING"), false},
        {"ascii", bytes_of("abc"), true},
        {"ascii;len=3", Bytes{0x01, 0x41, 0x42}, false},
    };
    for (const auto& c : cases) {
        ArgError error;
        const auto parsed = parse_expect_data(c.pattern, &error);
        BOOST_REQUIRE_MESSAGE(parsed, c.pattern + ": " + error.message);
        BOOST_TEST(!parsed->check(c.data).has_value() == c.pass, c.pattern);
    }
    BOOST_TEST(transport_pattern(253)[252] == 1);
    struct Bad {
        std::string text;
        std::size_t column;
    };
    for (const auto& b : std::vector<Bad>{{"30 8", 4},
                                          {"len=abc", 5},
                                          {"len~3", 4},
                                          {"token", 6},
                                          {"empty:x", 6},
                                          {"30 * 02", 4},
                                          {"len=1;;len=2", 7},
                                          {"glitter", 1}}) {
        ArgError error;
        BOOST_TEST(!parse_expect_data(b.text, &error).has_value(), b.text);
        BOOST_TEST(error.column == b.column, b.text << ": " << error.message);
        BOOST_TEST(error.message.rfind("expected", 0) == 0u, error.message);
    }
}

BOOST_AUTO_TEST_CASE(digest_info_prefixes) {
    // RFC 8017 §9.2 note 1
    BOOST_TEST(hex::format(digest_info_prefix(HashAlgorithm::Sha256), hex::Style::Packed) ==
               "3031300D060960864801650304020105000420");
    BOOST_TEST(digest_info_prefix(HashAlgorithm::Sha1).size() == 15u);
    BOOST_TEST(digest_info_prefix(HashAlgorithm::Sha512).size() == 19u);
}

BOOST_AUTO_TEST_CASE(requirement_tokens) {
    for (const char* token : {"contact", "contactless", "extended_apdu", "test_card", "emulated",
                              "pin:auth", "pin:sign", "pin:text", "pin:juki", "card:mynumber",
                              "card:juki", "card:transport", "removal"})
        BOOST_TEST(is_known_requirement(token), token);
    BOOST_TEST(!is_known_requirement("pin:other"));
}
