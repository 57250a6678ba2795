#include "model/json.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace harness;
using Json = nlohmann::ordered_json;

BOOST_AUTO_TEST_CASE(failure_kinds_are_null_or_their_name) {
    BOOST_TEST(Json(model::FailureKind::None).is_null());
    BOOST_TEST(Json(model::FailureKind::CardRemoved) == "card_removed");
    BOOST_TEST(Json(model::Compatibility::Partial) == "partial");
    BOOST_TEST(Json(model::StepVerdict::Pass) == "pass");
    BOOST_TEST(Json(model::RunStatus::Incomplete) == "incomplete");
}

BOOST_AUTO_TEST_CASE(sixteen_bit_values_are_four_hex_digits_or_null) {
    BOOST_TEST(model::hex16_json(std::optional<std::uint16_t>{0x072F}) == "072F");
    BOOST_TEST(model::hex16_json(std::optional<std::uint16_t>{}).is_null());
}

BOOST_AUTO_TEST_CASE(records_keep_their_keys_in_order) {
    model::StepResult step;
    step.step_id = "jpki.read";
    step.sw = 0x9000;
    step.measurements_json = R"({"ms":3})";
    step.exchanges.push_back(model::Exchange{"00 B0", "<redacted len=4>", 0x9000, 12, "", {}, 6});
    const Json j = step;
    std::vector<std::string> keys;
    for (const auto& item : j.items())
        keys.push_back(item.key());
    const std::vector<std::string> expected{"id",      "group",       "title_en",   "title_ja",
                                            "action",  "verdict",     "reason_en",  "reason_ja",
                                            "sw",      "duration_us", "started_us", "measurements",
                                            "failure", "missing",     "exchanges"};
    BOOST_TEST(keys == expected, boost::test_tools::per_element());
    BOOST_TEST(j["sw"] == "9000");
    BOOST_TEST(j["measurements"]["ms"] == 3);
    BOOST_TEST(j["failure"].is_null());
    BOOST_TEST(j["started_us"].is_null()); // not stored (runs before schema 7)
    BOOST_TEST(j["exchanges"][0]["response_size"] == 6);
    BOOST_TEST(model::parsed_or_text("").is_object());
    BOOST_TEST(model::parsed_or_text("not json") == "not json");

    model::Verdict v;
    v.reader = "R";
    v.verdict = model::Compatibility::Incompatible;
    v.causes = {"message_too_long"};
    const Json jv = v;
    BOOST_TEST(jv.dump() == R"({"reader":"R","reader_model":"","card_type":"","interface":"",)"
                            R"("verdict":"incompatible","diagnosis":"","diagnosis_ja":"",)"
                            R"("causes":["message_too_long"]})");
    BOOST_TEST(Json(model::SuiteRef{"juki", "ab"}).dump() ==
               R"({"id":"juki","content_hash":"ab"})");
}
