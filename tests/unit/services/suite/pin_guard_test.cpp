// The PIN guard on the real path: the lab's citizen cards behave as physical cards to it.
#include "unit/services/suite/lab_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

using namespace harness;
using model::StepVerdict;
using suite::PinName;
using suite_test::dump;
using suite_test::LabCard;
using suite_test::step;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::string verify_auth = "v1,p,Verify auth,認証暗証番号,verify_pin,pin=auth,,,,continue,\n";

} // namespace

BOOST_AUTO_TEST_CASE(a_citizen_card_is_a_physical_card_to_the_guard) {
    LabCard lab("mynumber", true);
    BOOST_TEST(!lab.card->is_test_card());
    BOOST_TEST((lab.ctx.trust == suite::CardTrust::Physical));
    BOOST_TEST(lab.ctx.effective_capabilities().count("test_card") == 0u);
}

BOOST_AUTO_TEST_CASE(the_correct_pin_is_sent_after_a_counter_query) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    const auto r = lab.run(verify_auth);
    BOOST_TEST_MESSAGE(dump(r));
    const auto& v = step(r, "v1");
    BOOST_TEST(v.verdict == StepVerdict::Pass);
    // select AP, select EF, then inside one transaction the guard's re-select of both, its
    // case-1 query and the VERIFY.
    BOOST_TEST_REQUIRE(v.exchanges.size() == 6u);
    BOOST_TEST(contains(v.exchanges[2].note, "re-select the application inside the transaction"));
    BOOST_TEST(contains(v.exchanges[3].note, "re-select the PIN EF"));
    BOOST_TEST(v.exchanges[4].command == "00 20 00 80");
    BOOST_TEST(contains(v.exchanges[4].note, "retry counter query"));
    BOOST_TEST(contains(v.exchanges[5].command, "<redacted pin len=4>"));
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
    BOOST_TEST(lab.tries("jpki/0018") == 3);
}

BOOST_AUTO_TEST_CASE(a_wrong_pin_is_never_sent_to_a_citizen_card) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    // value=wrong implies test_card: the plan skips it on a citizen card.
    const auto r = lab.run("w1,p,Wrong,誤り,verify_pin,pin=auth;value=wrong,63Cx,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "w1").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(r, "w1").reason_en, "test_card"));
    // Raw commands cannot bypass the guard (the loader refuses raw PIN data in suites too): the
    // guard itself refuses other bytes, by current EF or by short EF id, and CHANGE REFERENCE DATA.
    suite::PinGuard guard(
        *lab.tap, lab.ctx.pins,
        {suite::CardTrust::Physical, "mynumber", 2, lab.ctx.card_id, lab.memory.get()},
        lab.ctx.guard_state);
    std::vector<suite::WireExchange> seen;
    guard.set_observer([&](const suite::WireExchange& w) { seen.push_back(w); });
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                         0x00, 0x00, 0x01});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    BOOST_TEST(guard.selection().app == "jpki");
    const std::vector<Bytes> refused = {
        {0x00, 0x20, 0x00, 0x80, 0x04, 0x39, 0x39, 0x39, 0x39},
        {0x00, 0x20, 0x00, 0x98, 0x04, 0x30, 0x30, 0x30, 0x30},
        {0x00, 0x20, 0x00, 0x80, 0x05, 0x31, 0x32, 0x33, 0x34, 0x35},
        {0x00, 0x24, 0x00, 0x80, 0x08, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38},
        {0x00, 0x20, 0x00, 0x00, 0x04, 0x31, 0x32, 0x33, 0x34}, // no specific reference
        {0x01, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}, // logical channel 1
        {0x10, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32},             // command chaining
        {0x00, 0x2C, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}, // RESET RETRY COUNTER
        {0x00, 0xC2, 0x00, 0x00, 0x04, 0x31, 0x32, 0x33, 0x34}, // ENVELOPE
        {0xA0, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34}, // GSM class VERIFY
    };
    for (const auto& command : refused) {
        try {
            guard.transmit(command);
            BOOST_ERROR("sent: " << hex::format(command));
        } catch (const suite::PinRefused& e) {
            BOOST_TEST(contains(e.reason_en(), "refused by the PIN guard"), e.reason_en());
            BOOST_TEST(contains(e.reason_en(), "no further attempts were made"));
            BOOST_TEST(contains(e.reason_ja(), "これ以上の試行は行っていません"));
        }
        BOOST_TEST(!seen.back().sent);
        BOOST_TEST(contains(seen.back().note, "not sent"));
    }
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == 3);
    // A SELECT on another logical channel does not move the basic channel's tracked EF.
    guard.transmit(Bytes{0x01, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x1B});
    BOOST_TEST(guard.selection().ef.value_or(0) == 0x0018);
    // On an emulated test card the same guard lets test PINs through.
    suite::PinGuard open(
        *lab.tap, lab.ctx.pins,
        {suite::CardTrust::EmulatedTest, "mynumber", 2, lab.ctx.card_id, lab.memory.get()},
        lab.ctx.guard_state);
    open.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                        0x00, 0x00, 0x01});
    open.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    const Bytes answer = open.transmit(refused[0]);
    BOOST_TEST(hex::format(answer) == "63 C2");
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_correct_pin_with_too_few_tries_left_is_refused_unsent) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    lab.set_tries("jpki/0018", 1);
    const auto r = lab.run(verify_auth);
    BOOST_TEST_MESSAGE(dump(r));
    const auto& v = step(r, "v1");
    BOOST_TEST(v.verdict == StepVerdict::Skip);
    BOOST_TEST(contains(v.reason_en, "1 tries left"));
    BOOST_TEST(contains(v.reason_en, "needs at least 2"));
    BOOST_TEST(contains(v.reason_en, "no further attempts were made"));
    BOOST_TEST(contains(v.measurements_json, "\"tries_left\":1"));
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == 1);
}

BOOST_AUTO_TEST_CASE(the_minimum_is_configurable_but_never_below_two) {
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    lab.ctx.min_tries_left = 0;
    lab.set_tries("jpki/0018", 1);
    BOOST_TEST(step(lab.run(verify_auth), "v1").verdict == StepVerdict::Skip);
    lab.ctx.min_tries_left = 4;
    lab.set_tries("jpki/0018", 3);
    BOOST_TEST(step(lab.run(verify_auth), "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(lab.tap->pin_commands().empty());
}

BOOST_AUTO_TEST_CASE(after_one_failure_no_second_attempt_is_made) {
    LabCard lab("mynumber", true);
    lab.ctx.pins.set(PinName::Auth, "9876"); // the user typed a wrong PIN
    const auto r = lab.run(verify_auth + "v2,p,Again,再試行,verify_pin,pin=auth,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    const auto& v1 = step(r, "v1");
    BOOST_TEST(v1.verdict == StepVerdict::Fail);
    BOOST_TEST(contains(v1.reason_en, "2 tries left"));
    BOOST_TEST(contains(v1.reason_en, "no further attempts were made"));
    BOOST_TEST(contains(v1.reason_ja, "これ以上の試行は行っていません"));
    const auto& v2 = step(r, "v2");
    BOOST_TEST(v2.verdict == StepVerdict::Skip);
    BOOST_TEST(contains(v2.reason_en, "an earlier attempt on the auth PIN failed"));
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
    BOOST_TEST(lab.tries("jpki/0018") == 2);
    // The memory of the failure outlives the suite (the next suite of the session).
    const auto again = lab.run(verify_auth);
    BOOST_TEST(step(again, "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(lab.tap->pin_commands().size() == 1u);
}

BOOST_AUTO_TEST_CASE(unsupplied_or_malformed_pins_are_refused_unsent) {
    LabCard lab("mynumber", true);
    suite::PinGuard guard(
        *lab.tap, lab.ctx.pins,
        {suite::CardTrust::Physical, "mynumber", 2, lab.ctx.card_id, lab.memory.get()},
        lab.ctx.guard_state);
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                         0x00, 0x00, 0x01});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    try {
        guard.transmit(Bytes{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34});
        BOOST_ERROR("an unsupplied PIN was sent");
    } catch (const suite::PinRefused& e) {
        BOOST_TEST(contains(e.reason_en(), "was not supplied"));
        BOOST_TEST(contains(e.reason_en(), "3 tries left")); // read without spending a try
        BOOST_TEST(e.tries_left().value_or(-1) == 3);
        BOOST_TEST((e.pin() == PinName::Auth));
    }

    lab.ctx.pins.set(PinName::Auth, "12345");    // 5 digits: not an auth PIN
    lab.ctx.pins.set(PinName::Sign, "card2026"); // lower case: not a signing password
    const auto bad =
        lab.run(verify_auth + "v2,p,Sign,署名暗証番号,verify_pin,pin=sign,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(bad));
    BOOST_TEST(step(bad, "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(bad, "v1").reason_en, "must be 4 digits"));
    BOOST_TEST(step(bad, "v2").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(bad, "v2").reason_en, "6-16 characters A-Z 0-9"));
    BOOST_TEST(lab.tap->pin_commands().empty());
    BOOST_TEST(lab.tries("jpki/0018") == 3);
    BOOST_TEST(lab.tries("jpki/001B") == 5);
}

BOOST_AUTO_TEST_CASE(the_juki_signing_password_has_its_own_format) {
    LabCard lab("juki", true);
    lab.supply_default_pins();
    const auto r = lab.run("j1,p,Sign,署名暗証番号,verify_pin,pin=sign,,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "j1").verdict == StepVerdict::Pass);
    BOOST_TEST(!suite::pin_format_error(PinName::Sign, "juki", bytes_of("Juki1")));
    BOOST_TEST(suite::pin_format_error(PinName::Sign, "mynumber", bytes_of("Juki1")).has_value());
    BOOST_TEST(suite::pin_format_error(PinName::Sign, "juki", bytes_of("abc")).has_value());
    BOOST_TEST(!suite::pin_format_error(PinName::Text, "mynumber", bytes_of("0000")));
    BOOST_TEST(suite::pin_format_error(PinName::Juki, "juki", bytes_of("12a4")).has_value());
}

BOOST_AUTO_TEST_CASE(on_emulated_test_cards_wrong_pin_tests_run) {
    LabCard lab("mynumber");
    lab.supply_default_pins();
    const auto r = lab.run("t1,p,Tries,試行回数,pin_tries,pin=auth,63C3,,,continue,\n"
                           "t2,p,Wrong,誤り,verify_pin,pin=auth;value=wrong,63C2,,,continue,\n"
                           "t3,p,Good,正しい,verify_pin,pin=auth,9000,,,continue,\n"
                           "t4,p,Query,照会,pin_tries,pin=auth,63C3,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    for (const auto& id : {"t1", "t2", "t3", "t4"})
        BOOST_TEST(step(r, id).verdict == model::StepVerdict::Pass, id);
    BOOST_TEST(lab.tap->pin_commands().size() == 2u);
    BOOST_TEST(lab.tries("jpki/0018") == 3);
}

BOOST_AUTO_TEST_CASE(a_case_1_verify_is_always_allowed) {
    LabCard lab("mynumber", true);
    const auto r = lab.run("c1,p,Tries,試行回数,pin_tries,pin=sign,63C5,,,continue,\n"
                           "c2,p,Raw,生APDU,apdu,00 20 00 80,63Cx,,,continue,\n");
    BOOST_TEST_MESSAGE(dump(r));
    BOOST_TEST(step(r, "c1").verdict == StepVerdict::Pass);
    BOOST_TEST(step(r, "c2").verdict == StepVerdict::Pass);
}

BOOST_AUTO_TEST_CASE(pin_names_map_to_their_efs) {
    BOOST_TEST((suite::pin_of("jpki", 0x0018) == PinName::Auth));
    BOOST_TEST((suite::pin_of("jpki", 0x001B) == PinName::Sign));
    BOOST_TEST((suite::pin_of("text", 0x0011) == PinName::Text));
    BOOST_TEST((suite::pin_of("juki_ap", 0x001C) == PinName::Juki));
    BOOST_TEST(!suite::pin_of("text", 0x0018).has_value());
    BOOST_TEST(!suite::pin_of("visual", 0x0013).has_value());
    BOOST_TEST(suite::pin_location(PinName::Juki).second == 0x001C);
}

// ---- Issue 8 reproductions ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(repeat_of_an_odd_ins_verify_never_reaches_a_citizen_card) {
    // `repeat,cmd=00 21 00 80 04 30 30 30 30;count=5` reached the card five times: the loader
    // checked only `apdu` rows and the guard knew INS 20/24/2C, not 21.
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    const std::string rows = "s1,p,Select,選択,select_aid,aid=${aid.text},,,,continue,\n"
                             "s2,p,PIN EF,PIN EF,select_ef,fid=0011,,,,continue,\n"
                             "r1,p,Repeat,繰り返し,repeat,cmd=00 21 00 80 04 30 30 30 30;count=5,"
                             ",,,continue,\n";
    const int before = lab.tries("text/0011");
    try {
        lab.run(rows);
        BOOST_ERROR("the loader accepted a repeated VERIFY with data");
    } catch (const ConfigError& e) {
        BOOST_TEST(contains(e.what(), "test.csv:4:"), e.what());
        BOOST_TEST(contains(e.what(), "VERIFY"), e.what());
    }
    for (const char* action : {"measure", "apdu"}) {
        const std::string row =
            std::string("x,p,X,X,") + action +
            (std::string(action) == "apdu" ? ",00 21 00 80 04 30 30 30 30"
                                           : ",cmd=00 21 00 80 04 30 30 30 30") +
            ",,,,continue,\n";
        BOOST_CHECK_THROW(lab.run(row), ConfigError);
    }
    // The runtime guard refuses the same bytes too (a second line), on the selected PIN EF.
    suite::PinGuard guard(
        *lab.tap, lab.ctx.pins,
        {suite::CardTrust::Physical, "mynumber", 2, lab.ctx.card_id, lab.memory.get()},
        lab.ctx.guard_state);
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01,
                         0x01, 0x04, 0x08});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x11});
    for (int i = 0; i < 5; ++i)
        BOOST_CHECK_THROW(
            guard.transmit(Bytes{0x00, 0x21, 0x00, 0x80, 0x04, 0x30, 0x30, 0x30, 0x30}),
            suite::PinRefused);
    BOOST_TEST(lab.tap->sent.size() == 2u); // only the two SELECTs reached the card
    BOOST_TEST(lab.tries("text/0011") == before);
}

BOOST_AUTO_TEST_CASE(a_failed_pin_is_remembered_across_runs_and_databases) {
    // A wrong pins.csv costs a citizen card at most one try, ever: the failure is kept in the
    // station state (not the database) by card id, until `pins forget`.
    char tmpl[] = "/tmp/cardharness-pins-XXXXXX";
    const std::filesystem::path state = ::mkdtemp(tmpl);
    const auto memory = std::make_shared<io::FilePinFailureMemory>(state);
    LabCard first("mynumber", true);
    first.ctx.failed_pins = memory;
    first.ctx.pins.set(PinName::Auth, "9876");
    BOOST_TEST(step(first.run(verify_auth), "v1").verdict == StepVerdict::Fail);
    BOOST_TEST(first.tries("jpki/0018") == 2);
    const auto listed = memory->list();
    BOOST_TEST_REQUIRE(listed.size() == 1u);
    BOOST_TEST(listed[0].card_id == first.ctx.card_id);
    BOOST_TEST(listed[0].pin == "auth");
    BOOST_TEST(listed[0].what == "SW 63C2");
    // The file holds no PIN.
    std::ifstream in(memory->file());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(!contains(text, "9876"));
    BOOST_TEST(
        ((std::filesystem::status(memory->file()).permissions() & std::filesystem::perms::all) ==
         (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)));

    // A later run (new session state, another database): the same card is not tried again.
    LabCard later("mynumber", true);
    later.set_tries("jpki/0018", 2);
    later.ctx.failed_pins = std::make_shared<io::FilePinFailureMemory>(state);
    later.ctx.pins.set(PinName::Auth, "9876");
    const auto again = later.run(verify_auth);
    BOOST_TEST_MESSAGE(dump(again));
    BOOST_TEST(step(again, "v1").verdict == StepVerdict::Skip);
    BOOST_TEST(contains(step(again, "v1").reason_en, "pins forget --card " + later.ctx.card_id));
    BOOST_TEST(later.tap->pin_commands().empty());
    BOOST_TEST(later.tries("jpki/0018") == 2);
    // Another card (another id) is not affected; after forgetting, the PIN may go again.
    LabCard other("mynumber", true);
    other.ctx.failed_pins = later.ctx.failed_pins;
    other.ctx.card_id = "cert-ffffffffffffffffffffffff";
    other.supply_default_pins();
    BOOST_TEST(step(other.run(verify_auth), "v1").verdict == StepVerdict::Pass);
    BOOST_TEST(memory->forget(later.ctx.card_id) == 1u);
    LabCard forgotten("mynumber", true);
    forgotten.ctx.failed_pins = later.ctx.failed_pins;
    forgotten.supply_default_pins();
    BOOST_TEST(step(forgotten.run(verify_auth), "v1").verdict == StepVerdict::Pass);
    std::filesystem::remove_all(state);
}

namespace {

// Sleeps after every retry-counter query: the window in which another client, without a
// transaction, would read the same counter and send its own VERIFY.
class SlowAfterQuery : public io::CardChannel {
public:
    explicit SlowAfterQuery(io::CardChannel& inner) : inner_(inner) {}
    Bytes transmit(ByteView command) override {
        Bytes answer = inner_.transmit(command);
        if (command.size() == 4 && command[1] == 0x20)
            std::this_thread::sleep_for(std::chrono::milliseconds(60));
        return answer;
    }
    Bytes atr() const override { return inner_.atr(); }
    io::Protocol protocol() const override { return inner_.protocol(); }
    void reset(io::ResetKind kind) override { inner_.reset(kind); }
    std::string reader_name() const override { return inner_.reader_name(); }
    bool begin_transaction() override { return inner_.begin_transaction(); }
    void end_transaction() override { inner_.end_transaction(); }

private:
    io::CardChannel& inner_;
};

// A channel that cannot keep other clients out.
class NoTransactions : public SlowAfterQuery {
public:
    using SlowAfterQuery::SlowAfterQuery;
    bool begin_transaction() override { return false; }
};

} // namespace

BOOST_AUTO_TEST_CASE(two_clients_with_wrong_pins_spend_one_try_not_two) {
    // Two runs at once on a citizen card with 2 tries left, both with a wrong PIN and each with
    // its own failure memory: without a transaction both read "2 tries" and both sent (2 → 0).
    // The counter read and the VERIFY are one transaction: the second client reads 1 and stops.
    LabCard lab("mynumber", true);
    lab.set_tries("jpki/0018", 2);
    lab::LabChannel second_channel(lab.reader);
    SlowAfterQuery a(*lab.channel), b(second_channel);
    suite::PinSource wrong;
    wrong.set(PinName::Auth, "9876");
    const auto attempt = [&](io::CardChannel& channel, std::optional<int>& tries, bool& sent) {
        io::InProcessPinFailureMemory memory;
        suite::PinGuardState state;
        suite::PinGuard guard(channel, wrong,
                              {suite::CardTrust::Physical, "mynumber", 2, lab.ctx.card_id, &memory},
                              state);
        guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                             0x00, 0x00, 0x01});
        guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
        try {
            guard.transmit(Bytes{0x00, 0x20, 0x00, 0x80, 0x04, 0x39, 0x38, 0x37, 0x36});
            sent = true;
            tries = guard.take_failure().value_or(suite::PinFailure{}).tries_left;
        } catch (const suite::PinRefused& e) {
            tries = e.tries_left();
        }
    };
    std::optional<int> tries_a, tries_b;
    bool sent_a = false, sent_b = false;
    std::thread ta([&] { attempt(a, tries_a, sent_a); });
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
    std::thread tb([&] { attempt(b, tries_b, sent_b); });
    ta.join();
    tb.join();
    BOOST_TEST(sent_a + sent_b == 1); // exactly one VERIFY reached the card
    BOOST_TEST(lab.tries("jpki/0018") == 1);
    BOOST_TEST(lab.card->state().tries_left.at("jpki/0018") > 0);

    // A channel without transactions gets no PIN at all.
    LabCard plain("mynumber", true);
    plain.supply_default_pins();
    NoTransactions none(*plain.channel);
    suite::PinGuard guard(
        none, plain.ctx.pins,
        {suite::CardTrust::Physical, "mynumber", 2, plain.ctx.card_id, plain.memory.get()},
        plain.ctx.guard_state);
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                         0x00, 0x00, 0x01});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    try {
        guard.transmit(Bytes{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34});
        BOOST_ERROR("a PIN was sent without a transaction");
    } catch (const suite::PinRefused& e) {
        BOOST_TEST(contains(e.reason_en(), "cannot keep other clients out"));
    }
    BOOST_TEST(plain.tries("jpki/0018") == 3);
}

BOOST_AUTO_TEST_CASE(the_guard_reselects_the_pin_ef_inside_its_transaction) {
    // Another client may select another EF between the suite's SELECT and the VERIFY (shared
    // mode): the guard selects the PIN EF again inside the transaction, so the auth PIN never
    // goes to the text AP's PIN.
    LabCard lab("mynumber", true);
    lab.supply_default_pins();
    lab::LabChannel other(lab.reader);
    suite::PinGuard guard(
        *lab.tap, lab.ctx.pins,
        {suite::CardTrust::Physical, "mynumber", 2, lab.ctx.card_id, lab.memory.get()},
        lab.ctx.guard_state);
    guard.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00,
                         0x00, 0x00, 0x01});
    guard.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18});
    other.transmit(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01,
                         0x01, 0x04, 0x08});
    other.transmit(Bytes{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x11});
    const Bytes answer =
        guard.transmit(Bytes{0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34});
    BOOST_TEST(hex::format(answer) == "90 00");
    BOOST_TEST(lab.tries("jpki/0018") == 3);
    BOOST_TEST(lab.tries("text/0011") == 3);
}
