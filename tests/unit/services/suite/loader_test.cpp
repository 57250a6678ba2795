#include "pure/error.hpp"
#include "pure/openssl.hpp"
#include "services/suite/loader.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace harness;
using namespace harness::suite;

namespace {

const std::string header = "id,group,title_en,title_ja,action,args,expect_sw,expect_data,requires,"
                           "on_fail,timeout_ms\n";

CheckResult check(const std::string& rows) {
    return check_suite_text(header + rows, "t.csv", "t");
}

// The errors of a file as "line:column: message" (file name left out).
std::vector<std::string> errors_of(const std::string& rows) {
    std::vector<std::string> out;
    for (const auto& e : check(rows).errors)
        out.push_back(std::to_string(e.location.line) + ":" + std::to_string(e.location.column) +
                      ": " + e.message);
    return out;
}

std::string first_error(const std::string& rows) {
    const auto errors = errors_of(rows);
    BOOST_REQUIRE_MESSAGE(!errors.empty(), "expected an error for: " + rows);
    return errors.front();
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(valid_suite_loads_with_plan_and_hash) {
    const std::string rows =
        "a.select,a,Select,選択,select_aid,${aid.jpki},,,,stop,2000\n"
        "a.read,a,Read,読む,read_ef,fid=000A;store=cert,9000,der_certificate,,continue,\n"
        "a.check,a,Check,確認,check_cert,cert=cert;bits=2048,,,,skip_group,\n";
    const auto result = check(rows);
    BOOST_REQUIRE(result.errors.empty());
    const auto& loaded = *result.suite;
    BOOST_TEST(loaded.suite.id == "t");
    BOOST_TEST(loaded.suite.content_hash == openssl::sha256_hex(header + rows));
    BOOST_TEST(loaded.suite.content_hash.size() == 64u);
    BOOST_REQUIRE_EQUAL(loaded.suite.steps.size(), 3u);
    BOOST_REQUIRE_EQUAL(loaded.plan.size(), 3u);
    const auto& s0 = loaded.suite.steps[0];
    BOOST_TEST((s0.on_fail == model::OnFail::Stop));
    BOOST_TEST(*s0.timeout_ms == 2000);
    BOOST_TEST(s0.location.line == 2u);
    BOOST_TEST(s0.location.column == 1u);
    BOOST_TEST(loaded.plan[0].expect_sw.to_string() == "9000"); // the action's default
    BOOST_TEST((loaded.suite.steps[2].on_fail == model::OnFail::SkipGroup));
    BOOST_TEST(loaded.plan[2].expect_sw.is_any()); // check_cert sends no APDU
    const auto* read = std::get_if<ReadEfArgs>(&loaded.plan[1].args);
    BOOST_REQUIRE(read);
    BOOST_TEST(*read->store == "cert");
    BOOST_TEST(loaded.plan[1].expect_data.conditions.size() == 1u);
}

BOOST_AUTO_TEST_CASE(sha256_of_known_text) {
    BOOST_TEST(openssl::sha256_hex("abc") ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(quoted_cells_with_commas_and_quotes) {
    const std::string rows = "q.one,q,\"Select, then read\",\"選択、\"\"読む\"\"\",apdu,"
                             "\"00 A4 04 0C 0A ${aid.jpki};follow=none\",\"6A82|9000\",,,,\n";
    const auto result = check(rows);
    BOOST_REQUIRE_MESSAGE(result.errors.empty(),
                          (result.errors.empty() ? "" : result.errors[0].to_string()));
    const auto& step = result.suite->suite.steps.at(0);
    BOOST_TEST(step.title_en == "Select, then read");
    BOOST_TEST(step.title_ja == "選択、\"読む\"");
    BOOST_TEST(result.suite->plan[0].expect_sw.to_string() == "6A82|9000");
}

BOOST_AUTO_TEST_CASE(error_column_inside_quoted_cell_counts_characters) {
    // the bad hex digit 'G' inside a quoted args cell after a Japanese title
    const std::string row = "q.one,q,Title,日本語,apdu,\"00 A4 0G\",,,,,\n";
    // columns: q.one,(7)q,(9)Title,(15)日本語,(19)apdu,(24)"(25)00 A4 0G -> G at 25+7
    BOOST_TEST(first_error(row) == "2:32: expected a hex digit, found 'G'");
}

struct ErrorCase {
    std::string row;
    std::string expected; // "line:column: message prefix"
};

BOOST_AUTO_TEST_CASE(every_error_kind_with_its_position) {
    const std::vector<ErrorCase> cases = {
        // unknown action (column of the action cell)
        {"x.a,x,T,日本,fly,,,,,,\n", "2:12: expected an action ("},
        // args: unknown key
        {"x.a,x,T,日本,select_aid,${aid.jpki};color=red,,,,,\n",
         "2:35: expected one of the keys aid, fci of action select_aid"},
        // args: missing required key (column after the args text)
        {"x.a,x,T,日本,sign,key=auth,,,,,\n", "2:25: expected cert= (required by action sign)"},
        // args: bad choice value
        {"x.a,x,T,日本,reset,kind=hot,,,,,\n", "2:23: expected kind=warm|cold, found \"hot\""},
        // args: integer out of range
        {"x.a,x,T,日本,read_ef,fid=000A;chunk=300,,,,,\n",
         "2:35: expected chunk in 1..256, found 300"},
        // args: bad hex
        {"x.a,x,T,日本,apdu,00 A4 XY,,,,,\n", "2:23: expected a hex digit, found 'X'"},
        // args: unclosed ${
        {"x.a,x,T,日本,apdu,00 A4 ${aid.jpki,,,,,\n",
         "2:23: expected '}' closing the ${ reference"},
        // args: unknown namespaced variable
        {"x.a,x,T,日本,select_aid,${aid.nothere},,,,,\n", "2:25: expected a known variable"},
        // args: variable never stored by an earlier step
        {"x.a,x,T,日本,check_cert,cert=auth_cert,,,,,\n",
         "2:28: expected a variable stored by an earlier step"},
        // args: bad fid
        {"x.a,x,T,日本,select_ef,00 0A 0B,,,,,\n", "2:22: expected a file id of 4 hex digits"},
        // args: raw VERIFY with a PIN
        {"x.a,x,T,日本,apdu,00 20 00 80 04 31 32 33 34,,,,,\n",
         "2:17: expected no PIN data in a raw VERIFY"},
        // args: sweep beyond the short form
        {"x.a,x,T,日本,sweep,case=3;from=1;to=256,,,,,\n", "2:35: expected at most 255 for case 3"},
        // expect_sw: bad pattern, column inside the cell added
        {"x.a,x,T,日本,apdu,80 10 00 00,90G0,,,,\n", "2:31: expected a hex digit or x, found 'G'"},
        // expect_sw on an action without an APDU
        {"x.a,x,T,日本,reconnect,,9000,,,,\n", "2:23: expected an empty expect_sw"},
        // expect_data: bad wildcard
        {"x.a,x,T,日本,apdu,80 10 00 00,,30 .,,,\n", "2:33: expected '..'"},
        // expect_data: unknown named check
        {"x.a,x,T,日本,apdu,80 10 00 00,,sparkly,,,\n", "2:30: expected hex with .. wildcards"},
        // expect_data: bad length rule
        {"x.a,x,T,日本,apdu,80 10 00 00,,len>x,,,\n", "2:33: expected len=N, len>=N or len<=N"},
        {"x.a,x,T,日本,apdu,80 10 00 00,,len>=x,,,\n", "2:35: expected a decimal length"},
        // requires: unknown token (the second one)
        {"x.a,x,T,日本,apdu,80 10 00 00,,,contact wifi,,\n", "2:39: expected a requires token ("},
        // on_fail
        {"x.a,x,T,日本,apdu,80 10 00 00,,,,panic,\n",
         "2:32: expected on_fail stop, continue or skip_group, found \"panic\""},
        // timeout_ms
        {"x.a,x,T,日本,apdu,80 10 00 00,,,,,-5\n",
         "2:33: expected timeout_ms as a positive integer"},
        {"x.a,x,T,日本,apdu,80 10 00 00,,,,,0\n",
         "2:33: expected timeout_ms as a positive integer"},
        // empty required cells
        {"x.a,,T,日本,apdu,80 10 00 00,,,,,\n", "2:5: expected a value in column group"},
        {"x.a,x,,日本,apdu,80 10 00 00,,,,,\n", "2:7: expected a value in column title_en"},
        // title_ja must be Japanese
        {"x.a,x,T,Title,apdu,80 10 00 00,,,,,\n", "2:9: expected a Japanese title"},
        // bad id syntax
        {"X A,x,T,日本,apdu,80 10 00 00,,,,,\n", "2:1: expected a step id"},
        // wrong cell count
        {"x.a,x,T,日本,apdu,80 10 00 00,,,,\n",
         "2:32: expected 11 cells as in the header, found 10"},
        {"x.a,x,T,日本,apdu,80 10 00 00,,,,,,extra\n",
         "2:34: expected 11 cells as in the header, found 12"},
        // unclosed quote
        {"x.a,x,T,日本,apdu,\"80 10 00 00,,,,,\n", "2:17: expected a closing '\"'"},
    };
    for (const auto& c : cases) {
        const std::string got = first_error(c.row);
        BOOST_TEST(starts_with(got, c.expected),
                   "row: " << c.row << "got:      " << got << "\nexpected: " << c.expected);
    }
}

BOOST_AUTO_TEST_CASE(duplicate_ids_point_at_the_first) {
    const auto errors = errors_of("d.one,d,T,日本,apdu,80 10 00 00,,,,,\n"
                                  "d.one,d,T,日本,apdu,80 10 00 00,,,,,\n");
    BOOST_REQUIRE_EQUAL(errors.size(), 1u);
    BOOST_TEST(errors[0] ==
               "3:1: expected a unique step id, found \"d.one\" again (first on line 2)");
}

BOOST_AUTO_TEST_CASE(all_errors_of_a_file_are_collected_in_order) {
    const auto errors = errors_of("# a comment line\n"
                                  "e.one,e,T,日本,fly,,,,,,\n"
                                  "\n"
                                  "e.two,e,T,日本,apdu,80 10 00 00,,,,panic,\n"
                                  "e.three,e,T,日本,apdu,80 10 00 00,,,,,abc\n");
    BOOST_REQUIRE_EQUAL(errors.size(), 3u);
    BOOST_TEST(starts_with(errors[0], "3:14: expected an action"));
    BOOST_TEST(starts_with(errors[1], "5:34: expected on_fail"));
    BOOST_TEST(starts_with(errors[2], "6:37: expected timeout_ms"));
}

BOOST_AUTO_TEST_CASE(header_errors) {
    const auto result = check_suite_text("id,group,title_en\n", "h.csv", "h");
    BOOST_REQUIRE(!result.errors.empty());
    BOOST_TEST(
        result.errors[0].to_string().rfind("h.csv:1:18: expected a column \"title_ja\"", 0) == 0);
    const auto empty = check_suite_text("# only a comment\n", "e.csv", "e");
    BOOST_REQUIRE_EQUAL(empty.errors.size(), 1u);
    BOOST_TEST(empty.errors[0].to_string().rfind("e.csv:1:1: expected a header line", 0) == 0);
}

BOOST_AUTO_TEST_CASE(columns_in_any_order_and_extra_columns) {
    const std::string text = "action,id,notes,group,title_en,title_ja,args,expect_sw,expect_data,"
                             "requires,on_fail,timeout_ms\n"
                             "apdu,o.one,free text,o,T,日本,80 10 00 00,,,,,\n"
                             "fly,o.two,x,o,T,日本,,,,,,\n";
    const auto result = check_suite_text(text, "o.csv", "o");
    BOOST_REQUIRE_EQUAL(result.errors.size(), 1u);
    BOOST_TEST(result.errors[0].to_string().rfind("o.csv:3:1: expected an action", 0) == 0);
}

BOOST_AUTO_TEST_CASE(stored_variables_are_visible_to_later_steps_only) {
    auto errors = errors_of("v.a,v,T,日本,apdu,00 B0 00 00 ${data},,,,,\n"
                            "v.b,v,T,日本,apdu,00 B0 00 00 01;store=data,,,,,\n"
                            "v.c,v,T,日本,apdu,00 D6 00 00 01 ${data},,,,,\n");
    BOOST_REQUIRE_EQUAL(errors.size(), 1u);
    BOOST_TEST(starts_with(errors[0], "2:31: expected a variable stored by an earlier step"));
}

BOOST_AUTO_TEST_CASE(a_bad_row_still_declares_its_variable) {
    auto errors = errors_of("v.a,v,T,日本,read_ef,fid=000A;chunk=999;store=cert,,,,,\n"
                            "v.b,v,T,日本,check_cert,cert=cert,,,,,\n");
    BOOST_REQUIRE_EQUAL(errors.size(), 1u); // no consequential error on line 3
    BOOST_TEST(starts_with(errors[0], "2:35: expected chunk in 1..256"));
}

BOOST_AUTO_TEST_CASE(requirements_declared_and_implied) {
    const auto result = check("r.a,r,T,日本,read_ef,fid=000A;mode=extended,,,contact,,\n"
                              "r.b,r,T,日本,verify_pin,pin=auth;value=wrong,63Cx,,,,\n");
    BOOST_REQUIRE(result.errors.empty());
    BOOST_TEST(result.suite->suite.steps[0].requirements == std::vector<std::string>{"contact"});
    BOOST_TEST(result.suite->plan[0].requirements ==
                   (std::vector<std::string>{"contact", "extended_apdu"}),
               boost::test_tools::per_element());
    BOOST_TEST(result.suite->plan[1].requirements ==
                   (std::vector<std::string>{"pin:auth", "test_card"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(crlf_files_and_to_csv_round_trip) {
    std::string text =
        header + "c.one,c,\"A, B\",日本,apdu,80 10 00 00,9000,len=0,contact,stop,10\n";
    std::string crlf;
    for (char c : text) {
        if (c == '\n')
            crlf += '\r';
        crlf += c;
    }
    const auto loaded = load_suite_text(crlf, "c.csv", "c");
    const std::string again = to_csv(loaded.suite);
    const auto reloaded = load_suite_text(again, "c2.csv", "c");
    BOOST_TEST(reloaded.suite.steps.at(0).title_en == "A, B");
    BOOST_TEST((reloaded.suite.steps.at(0).on_fail == model::OnFail::Stop));
    BOOST_TEST(*reloaded.suite.steps.at(0).timeout_ms == 10);
}

BOOST_AUTO_TEST_CASE(load_throws_config_error_with_every_error) {
    try {
        load_suite_text(header + "a,b,T,日本,fly,,,,,,\na,b,T,日本,apdu,zz,,,,,\n", "f.csv", "f");
        BOOST_FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("f.csv:2:10: expected an action") != std::string::npos);
        BOOST_TEST(what.find("f.csv:3:1: expected a unique step id") != std::string::npos);
        BOOST_TEST(what.find("f.csv:3:15: expected a hex digit") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error) {
    const auto result = check_suite_file("/nonexistent/suite.csv");
    BOOST_REQUIRE_EQUAL(result.errors.size(), 1u);
    BOOST_TEST(result.errors[0].to_string() ==
               "/nonexistent/suite.csv:1:1: expected a readable suite file (not found)");
}

BOOST_AUTO_TEST_CASE(all_shipped_suites_load) {
    const auto files = shipped_suite_files();
    std::vector<std::string> ids;
    for (const auto& f : files)
        ids.push_back(f.stem().string());
    for (const char* wanted : {"identify", "jpki-mynumber", "juki", "transport", "pin-behaviour"})
        BOOST_TEST((std::find(ids.begin(), ids.end(), wanted) != ids.end()), wanted);
    for (const auto& file : files) {
        const auto result = check_suite_file(file);
        for (const auto& e : result.errors)
            BOOST_ERROR(e.to_string());
        if (!result.suite)
            continue;
        BOOST_TEST(!result.suite->suite.steps.empty());
        // step ids are namespaced by a common first component per suite
        for (const auto& step : result.suite->suite.steps)
            BOOST_TEST(step.id.find('.') != std::string::npos, step.id);
    }
    const auto jpki = load_shipped_suite("jpki-mynumber");
    bool has_extended_step = false;
    for (const auto& plan : jpki.plan)
        has_extended_step |= std::find(plan.requirements.begin(), plan.requirements.end(),
                                       "extended_apdu") != plan.requirements.end();
    BOOST_TEST(has_extended_step);
    BOOST_CHECK_THROW(load_shipped_suite("no-such-suite"), UsageError);
}

BOOST_AUTO_TEST_CASE(size_limits_apdus_and_excel_files) {
    // No APDU is longer than an extended case 4 command (65544 bytes).
    std::string cmd = "80100000";
    for (std::size_t i = 0; i < 65541; ++i)
        cmd += "00";
    BOOST_TEST(first_error("x.a,x,T,日本,apdu," + cmd + ",,,,,\n") ==
               "2:17: expected at most 65544 bytes (the longest extended APDU), found 65545");
    // A suite saved by Excel (BOM, CRLF) loads as the same steps, its errors at the same columns.
    const auto excel_of = [](const std::string& rows) {
        std::string excel = "\xEF\xBB\xBF" + header + rows;
        for (std::size_t at = excel.find('\n'); at != std::string::npos;
             at = excel.find('\n', at + 2))
            excel.insert(at, "\r");
        return excel;
    };
    const std::string rows = "a.select,a,Select,選択,select_aid,${aid.jpki},,,,stop,2000\n";
    const auto plain = check(rows);
    const auto bom = check_suite_text(excel_of(rows), "e.csv", "e");
    BOOST_REQUIRE(bom.errors.empty());
    BOOST_TEST(bom.suite->suite.steps.size() == 1u);
    BOOST_TEST(bom.suite->suite.steps[0].args == plain.suite->suite.steps[0].args);
    const std::string bad = "a.select,a,Select,選択,select_aid,${aid.jpki},,,,halt,2000\n";
    const auto bad_bom = check_suite_text(excel_of(bad), "e.csv", "e");
    BOOST_REQUIRE(!bad_bom.errors.empty());
    const auto& where = bad_bom.errors.front().location;
    BOOST_TEST(first_error(bad) == std::to_string(where.line) + ":" + std::to_string(where.column) +
                                       ": " + bad_bom.errors.front().message);
    BOOST_TEST(starts_with(bad_bom.errors.front().message, "expected on_fail"));
}
