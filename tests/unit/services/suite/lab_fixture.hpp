#pragma once
// Runner tests over the real parts: an emulated card (services/emu) in an emulated reader
// (services/lab) behind the in-process LabChannel, with virtual time as the runner's clock.
#include "io/card_channel.hpp"
#include "services/emu/card.hpp"
#include "services/lab/emulated_reader.hpp"
#include "services/lab/lab_channel.hpp"
#include "services/lab/reader_model.hpp"
#include "services/suite/loader.hpp"
#include "services/suite/runner.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

namespace suite_test {

using namespace harness;

inline const std::vector<lab::ReaderModel>& models() {
    static const auto all = lab::load_reader_model_dir(test::source_dir() / "profiles" / "readers");
    return all;
}

inline const lab::ReaderModel& model(const std::string& id) {
    const lab::ReaderModel* m = lab::find_model(models(), id);
    if (m == nullptr)
        throw Error("no lab reader model " + id);
    return *m;
}

// Every command that reaches the card (below the PIN guard): what the guard let through.
class Tap : public io::CardChannel {
public:
    explicit Tap(io::CardChannel& inner) : inner_(inner) {}
    Bytes transmit(ByteView command) override {
        sent.emplace_back(command.begin(), command.end());
        return inner_.transmit(command);
    }
    Bytes atr() const override { return inner_.atr(); }
    io::Protocol protocol() const override { return inner_.protocol(); }
    void reset(io::ResetKind kind) override { inner_.reset(kind); }
    std::string reader_name() const override { return inner_.reader_name(); }
    bool begin_transaction() override { return inner_.begin_transaction(); }
    void end_transaction() override { inner_.end_transaction(); }
    // VERIFY / CHANGE REFERENCE DATA commands that carried data.
    std::vector<Bytes> pin_commands() const {
        std::vector<Bytes> out;
        for (const auto& c : sent)
            if (c.size() > 5 && (c[1] == 0x20 || c[1] == 0x24))
                out.push_back(c);
        return out;
    }
    std::vector<Bytes> sent;

private:
    io::CardChannel& inner_;
};

struct LabCard {
    LabCard(const std::string& profile, bool citizen = false,
            const std::string& model_id = "lab-ext-dual",
            lab::Interface interface = lab::Interface::Contact)
        : reader(model(model_id), interface) {
        emu::Options options;
        options.citizen = citizen;
        card = std::shared_ptr<emu::Card>(emu::make_card(profile, options));
        reader.insert(card);
        channel = std::make_unique<lab::LabChannel>(reader);
        tap = std::make_unique<Tap>(*channel);
        ctx.key.bytes = Bytes(32, 0x5A);
        ctx.card_id = "cert-0123456789abcdef01234567";
        ctx.failed_pins = memory;
        ctx.trust =
            card->is_test_card() ? suite::CardTrust::EmulatedTest : suite::CardTrust::Physical;
        ctx.card_type = card->family();
        ctx.interface = interface == lab::Interface::Contact ? "contact" : "contactless";
        ctx.capabilities.insert(ctx.interface);
        if (profile != "mynumber-noext" && card->family() != "juki")
            ctx.capabilities.insert("extended_apdu");
        ctx.capabilities.insert("t1");
        // A 258-byte short response fits every model but the 261-byte short-APDU one
        // (plan::max_short_le; the session service computes it from the descriptor).
        if (model_id != "lab-short-261")
            ctx.capabilities.insert("le_256");
        else
            ctx.max_short_le = 249;
        const auto* ch = channel.get();
        const auto base = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
        ctx.clock = [ch, base] { return base + ch->elapsed(); };
    }

    // The default PINs of profiles/cards/persona.csv.
    void supply_default_pins() {
        ctx.pins.set(suite::PinName::Auth, "1234");
        ctx.pins.set(suite::PinName::Text, "1234");
        ctx.pins.set(suite::PinName::Juki, "1234");
        ctx.pins.set(suite::PinName::Sign, card->family() == "juki" ? "JUKI2026" : "CARD2026");
    }

    int tries(const std::string& key) const { return card->state().tries_left.at(key); }
    void set_tries(const std::string& key, int tries) {
        emu::CardState state = card->state();
        state.tries_left[key] = tries;
        card->set_state(state);
    }

    model::SuiteResult run(const std::string& csv_rows) {
        const std::string text = "id,group,title_en,title_ja,action,args,expect_sw,expect_data,"
                                 "requires,on_fail,timeout_ms\n" +
                                 csv_rows;
        const suite::LoadedSuite loaded = suite::load_suite_text(text, "test.csv", "test");
        return suite::run_suite(loaded, *tap, ctx);
    }

    lab::EmulatedReader reader;
    std::shared_ptr<emu::Card> card;
    std::unique_ptr<lab::LabChannel> channel;
    std::unique_ptr<Tap> tap;
    std::shared_ptr<io::InProcessPinFailureMemory> memory =
        std::make_shared<io::InProcessPinFailureMemory>();
    suite::RunContext ctx;
};

inline const model::StepResult& step(const model::SuiteResult& r, const std::string& id) {
    for (const auto& s : r.steps)
        if (s.step_id == id)
            return s;
    throw Error("no step " + id);
}

inline std::string dump(const model::SuiteResult& r) {
    std::string out;
    for (const auto& s : r.steps) {
        out += s.step_id + " " + model::to_string(s.verdict) + ": " + s.reason_en + "\n";
        for (const auto& e : s.exchanges)
            out += "    > " + e.command + "\n    < " + e.response +
                   (e.note.empty() ? "" : "  # " + e.note) + "\n";
    }
    return out;
}

} // namespace suite_test
