// Property test (issue 8): thousands of seeded random command sequences at a citizen's card —
// every action kind, raw commands of every class and PIN instruction, random reconnects, resets
// and removals, and a second client sending its own random commands (VERIFYs included) at the
// same reader at the same time. After every sequence, against the emulator's own counters:
//  - no PIN fell below its floor (with the station's failure memory: its maximum - 1, ever;
//    without: 1), no PIN is blocked, and PINs the guard does not know (the visual AP's) never
//    moved;
// and at the end: no persona canary (text, spaced or packed hex, either case) and no PIN as
// VERIFY data in any result text, in the SQLite database file, or in any report format.
// Seed and size: CARDHARNESS_PROPERTY_SEED, CARDHARNESS_PROPERTY_SEQUENCES (default 2000).
#include "services/emu/persona.hpp"
#include "services/report/report.hpp"
#include "services/store/store.hpp"
#include "unit/services/suite/lab_fixture.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <random>
#include <thread>

using namespace harness;
using suite::PinName;

namespace {

using Rng = std::mt19937_64;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

template <typename T>
const T& pick(Rng& rng, const std::vector<T>& items) {
    return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(rng)];
}

int uniform(Rng& rng, int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
}

bool chance(Rng& rng, double p) {
    return std::bernoulli_distribution(p)(rng);
}

std::string hex_of(const Bytes& bytes) {
    return hex::format(bytes);
}

Bytes random_bytes(Rng& rng, std::size_t n) {
    Bytes out(n);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(uniform(rng, 0, 255));
    return out;
}

const std::vector<std::string> apps = {"jpki", "text", "visual", "juki_ap", "transport"};
const std::vector<std::uint16_t> fids = {0x0001, 0x0002, 0x0003, 0x0005, 0x0006, 0x000A,
                                         0x000B, 0x0011, 0x0012, 0x0013, 0x0017, 0x0018,
                                         0x001A, 0x001B, 0x001C, 0x3F00, 0x1234};
const std::vector<std::uint8_t> pin_ins = {0x20, 0x21, 0x24, 0x25, 0x26,
                                           0x28, 0x2C, 0x2D, 0xC2, 0xC3};
const std::vector<std::uint8_t> classes = {0x00, 0x00, 0x00, 0x01, 0x03, 0x0C,
                                           0x10, 0x40, 0x80, 0x84, 0xA0, 0xFF};

Bytes aid_of(const std::string& app) {
    const auto& vars = suite::profile_variables();
    const auto it = vars.find("aid." + app);
    return it == vars.end() ? Bytes{0xA0, 0x00, 0x00, 0x00, 0x01} : it->second;
}

// A raw command a hostile suite author or another program might send.
Bytes random_command(Rng& rng, const std::vector<std::string>& pin_values) {
    switch (uniform(rng, 0, 11)) {
    case 0: { // SELECT by DF name, sometimes proprietary / other channel / next occurrence
        Bytes aid = chance(rng, 0.85) ? aid_of(pick(rng, apps)) : random_bytes(rng, 5);
        Bytes c{chance(rng, 0.85) ? std::uint8_t{0x00} : pick(rng, classes), 0xA4, 0x04,
                chance(rng, 0.9) ? std::uint8_t{0x0C} : std::uint8_t{0x02},
                static_cast<std::uint8_t>(aid.size())};
        c.insert(c.end(), aid.begin(), aid.end());
        return c;
    }
    case 1:
    case 2: { // SELECT EF
        const std::uint16_t fid = pick(rng, fids);
        return {chance(rng, 0.9) ? std::uint8_t{0x00} : pick(rng, classes),
                0xA4,
                chance(rng, 0.85) ? std::uint8_t{0x02} : std::uint8_t{0x00},
                0x0C,
                0x02,
                static_cast<std::uint8_t>(fid >> 8),
                static_cast<std::uint8_t>(fid)};
    }
    case 3:
    case 4: { // READ BINARY, by offset or by SFI
        const bool sfi = chance(rng, 0.2);
        return {chance(rng, 0.9) ? std::uint8_t{0x00} : pick(rng, classes), 0xB0,
                sfi ? static_cast<std::uint8_t>(0x80 | uniform(rng, 1, 30))
                    : static_cast<std::uint8_t>(uniform(rng, 0, 3)),
                static_cast<std::uint8_t>(uniform(rng, 0, 255)),
                static_cast<std::uint8_t>(uniform(rng, 0, 255))};
    }
    case 5: { // a PIN instruction in any class, with data (a PIN the user has, or not)
        Bytes data = chance(rng, 0.5) && !pin_values.empty() ? bytes_of(pick(rng, pin_values))
                                                             : random_bytes(rng, 4);
        Bytes c{pick(rng, classes), pick(rng, pin_ins), 0x00,
                chance(rng, 0.7) ? std::uint8_t{0x80}
                                 : static_cast<std::uint8_t>(uniform(rng, 0, 255)),
                static_cast<std::uint8_t>(data.size())};
        c.insert(c.end(), data.begin(), data.end());
        return c;
    }
    case 6: // the retry-counter query
        return {0x00, 0x20, 0x00, 0x80};
    case 7: // GET CHALLENGE, GET DATA, MANAGE CHANNEL
        return pick(rng, std::vector<Bytes>{{0x00, 0x84, 0x00, 0x00, 0x08},
                                            {0x00, 0xCA, 0x01, 0x01, 0x00},
                                            {0x00, 0x70, 0x00, 0x00, 0x01},
                                            {0x00, 0x70, 0x80, 0x01, 0x00}});
    case 8: { // PSO: COMPUTE DIGITAL SIGNATURE
        Bytes c{0x80, 0x2A, 0x00, 0x80, 0x20};
        const Bytes d = random_bytes(rng, 32);
        c.insert(c.end(), d.begin(), d.end());
        c.push_back(0x00);
        return c;
    }
    case 9: // malformed
        return random_bytes(rng, static_cast<std::size_t>(uniform(rng, 1, 12)));
    case 10: { // a PIN instruction without data, in any class
        return {pick(rng, classes), pick(rng, pin_ins), 0x00, 0x80};
    }
    default: { // VERIFY with a well-formed PIN value on the selected EF
        const std::string v = pin_values.empty() ? "0000" : pick(rng, pin_values);
        Bytes c{0x00, 0x20, 0x00, 0x80, static_cast<std::uint8_t>(v.size())};
        for (char ch : v)
            c.push_back(static_cast<std::uint8_t>(ch));
        return c;
    }
    }
}

// One suite row of a random action kind. `stored` are the variables stored so far.
std::string random_row(Rng& rng, std::size_t n, std::vector<std::string>& stored,
                       const std::vector<std::string>& pin_values) {
    const std::string pin = pick(rng, std::vector<std::string>{"auth", "sign", "text", "juki"});
    std::string action, args;
    switch (uniform(rng, 0, 16)) {
    case 0:
    case 1:
        action = "apdu";
        args = hex_of(random_command(rng, pin_values));
        if (chance(rng, 0.3)) {
            stored.push_back(fmt::format("v{}", n));
            args = "cmd=" + args + ";store=" + stored.back();
        }
        break;
    case 2:
        action = "apdu"; // a stored value sent back in a command (a variable built from data)
        args = stored.empty() ? "00 B0 00 00 00"
                              : fmt::format("cmd=80 DA 01 02 ${{{}}}", pick(rng, stored));
        break;
    case 3:
        action = "select_aid";
        args =
            fmt::format("aid=${{aid.{}}}", pick(rng, apps)) + (chance(rng, 0.3) ? ";fci=yes" : "");
        break;
    case 4:
        action = "select_ef";
        args = fmt::format("fid={:04X}", pick(rng, fids));
        break;
    case 5:
        action = "read_ef";
        args = fmt::format("fid={:04X};mode={}", pick(rng, fids),
                           pick(rng, std::vector<std::string>{"header", "extended"}));
        if (chance(rng, 0.5)) {
            stored.push_back(fmt::format("v{}", n));
            args += ";store=" + stored.back();
        }
        break;
    case 6:
        action = "pin_tries";
        args = "pin=" + pin;
        break;
    case 7:
    case 8:
        action = "verify_pin";
        args = "pin=" + pin + (chance(rng, 0.3) ? ";value=wrong" : "") +
               (chance(rng, 0.2) ? ";select=no" : "");
        break;
    case 9:
        action = "sign";
        args = stored.empty() ? "key=auth;cert=none"
                              : fmt::format("key={};cert={}",
                                            pick(rng, std::vector<std::string>{"auth", "sign"}),
                                            pick(rng, stored));
        break;
    case 10:
        action = "check_cert";
        args = "cert=" + (stored.empty() ? std::string("none") : pick(rng, stored));
        break;
    case 11:
        action = "reset";
        args = chance(rng, 0.5) ? "kind=warm" : "kind=cold";
        break;
    case 12:
        action = "reconnect";
        args = chance(rng, 0.5) ? "share=shared" : "share=exclusive";
        break;
    case 13:
        action = "atr";
        break;
    case 14:
    case 15:
        action = chance(rng, 0.5) ? "repeat" : "measure";
        args = fmt::format("cmd={};count={}", hex_of(random_command(rng, pin_values)),
                           uniform(rng, 1, 4));
        break;
    default:
        action = "sweep";
        args = fmt::format("case={};from=1;to={};cla={:02X};ins={:02X}", uniform(rng, 1, 4),
                           uniform(rng, 1, 6), pick(rng, classes),
                           chance(rng, 0.5) ? pick(rng, pin_ins)
                                            : static_cast<std::uint8_t>(uniform(rng, 0, 0xBF)));
        break;
    }
    return fmt::format("s{},g,Step {},手順 {},{},\"{}\",any,,,continue,\n", n, n, n, action, args);
}

// A hostile sequence on purpose: a PIN verified, a personal EF selected, then the runner's
// knowledge of the selection lost (reconnect, a SELECT it cannot follow, a SFI read, another
// channel) and raw reads that would return the EF's contents.
std::vector<std::string> personal_read_scenario(Rng& rng, std::size_t first) {
    struct Target {
        const char* pin;
        const char* app;
        std::uint16_t fid;
    };
    const Target t = pick(rng, std::vector<Target>{{"text", "text", 0x0001},
                                                   {"text", "text", 0x0002},
                                                   {"sign", "jpki", 0x0001},
                                                   {"juki", "juki_ap", 0x0001}});
    // verify_pin selects the application and the PIN EF itself; selecting the application again
    // would end the verified state.
    std::vector<std::string> rows = {
        fmt::format("verify_pin,pin={}", t.pin),
        fmt::format("select_ef,fid={:04X}", t.fid),
        pick(rng, std::vector<std::string>{"reconnect,share=shared", "apdu,80 A4 02 0C 02 00 06",
                                           "apdu,00 A4 08 0C 02 00 06", "apdu,00 B0 81 00 10",
                                           "apdu,00 A4 02 0C 05 00", "atr,"}),
        pick(rng, std::vector<std::string>{"apdu,00 B0 00 00 00", "apdu,00 B0 00 00 00 00 00",
                                           "repeat,cmd=00 B0 00 00 40;count=2",
                                           "apdu,01 B0 00 00 00", "apdu,00 B0 81 00 00"}),
    };
    std::vector<std::string> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto comma = rows[i].find(',');
        out.push_back(fmt::format("s{},g,Step {},手順 {},{},\"{}\",any,,,continue,\n", first + i,
                                  first + i, first + i, rows[i].substr(0, comma),
                                  rows[i].substr(comma + 1)));
    }
    return out;
}

struct Counters {
    std::size_t sequences = 0, steps = 0, loader_refused = 0, guard_refused = 0,
                client_b_commands = 0, client_b_refused = 0, pins_sent = 0, removals = 0,
                reconnects = 0, resets = 0;
};

struct Needles {
    std::vector<std::string> text;       // canaries: text and hex forms
    std::vector<std::string> pin_as_hex; // PIN values as the data of a VERIFY
};

void add_forms(std::vector<std::string>& out, const std::string& v) {
    out.push_back(v);
    for (const auto style : {hex::Style::Spaced, hex::Style::Packed}) {
        std::string h = hex::format(bytes_of(v), style);
        out.push_back(h);
        for (auto& c : h)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.push_back(h);
    }
}

Needles needles_of(const emu::Persona& persona, const std::vector<std::string>& pins) {
    Needles n;
    for (const auto& v : emu::canary_values(persona))
        add_forms(n.text, v);
    for (const auto& v : pins) {
        if (v.size() < 4)
            continue; // "01 31" would match any hex text: too short to search for
        Bytes verify_data{static_cast<std::uint8_t>(v.size())};
        const Bytes b = bytes_of(v);
        verify_data.insert(verify_data.end(), b.begin(), b.end());
        n.pin_as_hex.push_back(hex::format(verify_data));
        n.pin_as_hex.push_back(hex::format(verify_data, hex::Style::Packed));
    }
    return n;
}

std::size_t hits_in(const std::string& where, const std::string& text, const Needles& n) {
    std::size_t hits = 0;
    for (const auto* list : {&n.text, &n.pin_as_hex})
        for (std::size_t i = 0; i < list->size(); ++i)
            if ((*list)[i].size() >= 4 && text.find((*list)[i]) != std::string::npos) {
                if (hits < 3) // which needle, never its value
                    BOOST_TEST_MESSAGE("HIT in " << where << ": needle " << i << " of "
                                                 << (list == &n.text ? "canaries" : "PINs"));
                ++hits;
            }
    return hits;
}

std::string all_text(const model::SuiteResult& r) {
    std::string out;
    for (const auto& s : r.steps) {
        out += s.reason_en + "\n" + s.reason_ja + "\n" + s.measurements_json + "\n";
        for (const auto& e : s.exchanges)
            out += e.command + "\n" + e.response + "\n" + e.note + "\n";
    }
    return out;
}

// The card a run of sequences works on: a citizen's card, its own id, with or without the
// station's failure memory.
struct CitizenCard {
    CitizenCard(const std::string& profile, int number, bool with_memory)
        : lab(profile, true), id(fmt::format("cert-{:024x}", number)) {
        lab.ctx.card_id = id;
        if (!with_memory)
            lab.ctx.failed_pins.reset();
        initial = lab.card->state().tries_left;
        second = std::make_unique<lab::LabChannel>(lab.reader);
    }
    suite_test::LabCard lab;
    std::string id;
    std::map<std::string, int> initial;
    std::unique_ptr<lab::LabChannel> second;
};

} // namespace

BOOST_AUTO_TEST_CASE(random_sequences_never_lock_a_citizen_card_nor_leak_personal_data) {
    const std::uint64_t seed = env_number("CARDHARNESS_PROPERTY_SEED", 20261202);
    const std::uint64_t total = env_number("CARDHARNESS_PROPERTY_SEQUENCES", 2000);
    BOOST_TEST_MESSAGE("seed " << seed << ", " << total << " sequences");
    const auto persona = emu::load_persona(test::source_dir() / "profiles/cards/persona.csv");
    const std::vector<std::string> correct = {persona.get("pin_auth"), persona.get("pin_sign"),
                                              persona.get("pin_text"), persona.get("pin_juki_ap"),
                                              persona.get("pin_juki_sign")};
    const std::vector<std::string> wrong = {"9876", "0000", "WRONG0PW", "12345", "card2026", "1"};
    std::vector<std::string> every_pin = correct;
    every_pin.insert(every_pin.end(), wrong.begin(), wrong.end());
    const Needles needles = needles_of(persona, every_pin);

    char tmpl[] = "/tmp/cardharness-property-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    const std::string db_path = (dir / "property.db").string();
    store::Store db(db_path);
    model::Run run;
    run.uuid = "00000000-0000-4000-8000-000000000008";
    run.started_at = "2026-12-02T00:00:00Z";
    run.lab = true;
    db.begin_run(run);

    Counters counters;
    std::size_t hits = 0;
    std::unique_ptr<CitizenCard> card;
    int card_number = 0;
    for (std::uint64_t sequence = 0; sequence < total; ++sequence) {
        Rng rng(seed * 1000003 + sequence);
        if (!card || sequence % 100 == 0) {
            // A fresh citizen card every 100 sequences: a My Number card mostly, a Juki card at
            // times; every other card without the failure memory (only the floor protects it).
            ++card_number;
            const std::string profile = card_number % 4 == 0 ? "juki" : "mynumber";
            card = std::make_unique<CitizenCard>(profile, card_number, card_number % 2 == 1);
        }
        suite_test::LabCard& lab = card->lab;
        // Client A: this harness's runner, a random suite, random PINs (right, wrong, malformed).
        lab.ctx.status = model::RunStatus::Complete;
        lab.ctx.cause.clear();
        lab.ctx.guard_state = {};
        lab.ctx.pins = {};
        for (const PinName p : {PinName::Auth, PinName::Sign, PinName::Text, PinName::Juki})
            if (chance(rng, 0.6)) {
                const std::size_t i = static_cast<std::size_t>(p);
                const std::string v =
                    chance(rng, 0.6)
                        ? (p == PinName::Sign && lab.card->family() == "juki" ? correct[4]
                                                                              : correct[i])
                        : pick(rng, wrong);
                lab.ctx.pins.set(p, v);
            }
        const bool removal = chance(rng, 0.05);
        lab.ctx.wait_removed = [&lab](const std::string&) {
            const lab::ReaderArbiter::Call call(lab.reader.arbiter(), lab.channel.get());
            lab.reader.remove();
            return true;
        };
        if (!removal)
            lab.ctx.wait_removed = nullptr;
        // `reconnect` as SCardReconnect(SCARD_LEAVE_CARD) does it: the card keeps its
        // selection and its verified PINs; only the runner's knowledge is gone.
        lab.ctx.reconnect = [](io::CardChannel&, bool) {};
        std::vector<std::string> stored;
        const int rows = uniform(rng, 3, 14);
        std::string csv;
        std::vector<std::string> row_texts;
        for (int n = 0; n < rows; ++n)
            row_texts.push_back(random_row(rng, static_cast<std::size_t>(n), stored, every_pin));
        if (chance(rng, 0.25))
            for (auto& row : personal_read_scenario(rng, row_texts.size()))
                row_texts.push_back(std::move(row));
        if (removal) // the card is taken out at the end (the lab removes it)
            row_texts.push_back(
                fmt::format("s{},g,Removal,取り外し,expect_removed,,,,,continue,\n", rows));
        // The loader refuses rows that can carry a PIN (and rows with other mistakes): drop
        // them and count the refused side doors.
        const std::string header = "id,group,title_en,title_ja,action,args,expect_sw,"
                                   "expect_data,requires,on_fail,timeout_ms\n";
        std::vector<std::string> kept;
        for (const auto& row : row_texts) {
            std::string candidate = header;
            for (const auto& k : kept)
                candidate += k;
            candidate += row;
            const auto checked = suite::check_suite_text(candidate, "p.csv", "p");
            if (checked.suite) {
                kept.push_back(row);
                continue;
            }
            for (const auto& e : checked.errors)
                if (e.message.find("PIN") != std::string::npos ||
                    e.message.find("ENVELOPE") != std::string::npos ||
                    e.message.find("instruction written out") != std::string::npos) {
                    ++counters.loader_refused;
                    break;
                }
        }
        for (const auto& k : kept)
            csv += k;
        for (const auto& k : kept) {
            counters.reconnects += k.find(",reconnect,") != std::string::npos;
            counters.resets += k.find(",reset,") != std::string::npos;
            counters.removals += k.find(",expect_removed,") != std::string::npos;
        }

        // Client B: another program at the same reader, sending random commands (its own
        // VERIFYs too) through its own guard while A runs.
        std::atomic<bool> a_done{false};
        std::size_t b_commands = 0, b_refused = 0;
        std::thread b([&, b_seed = rng()] {
            Rng brng(b_seed);
            suite::PinSource b_pins;
            b_pins.set(PinName::Auth, chance(brng, 0.5) ? correct[0] : pick(brng, wrong));
            b_pins.set(PinName::Text, chance(brng, 0.5) ? correct[2] : pick(brng, wrong));
            suite::PinGuardState b_state;
            suite::PinGuard guard(*card->second, b_pins,
                                  {suite::CardTrust::Physical, lab.card->family(), 2, card->id,
                                   lab.ctx.failed_pins.get()},
                                  b_state);
            const int n = uniform(brng, 2, 12);
            for (int i = 0; i < n; ++i) {
                try {
                    ++b_commands;
                    if (chance(brng, 0.1))
                        guard.reset(chance(brng, 0.5) ? io::ResetKind::Warm : io::ResetKind::Cold);
                    else
                        guard.transmit(random_command(brng, every_pin));
                } catch (const suite::PinRefused&) {
                    ++b_refused;
                } catch (const Error&) { // card removed, not powered, …: reconnect
                    try {
                        card->second->reset(io::ResetKind::Cold);
                    } catch (const Error&) {
                    }
                }
                if (a_done && i > 2)
                    break;
            }
        });
        model::SuiteResult result;
        if (!kept.empty()) {
            const suite::LoadedSuite loaded = suite::load_suite_text(header + csv, "p.csv", "p");
            result = suite::run_suite(loaded, *lab.tap, lab.ctx);
        }
        a_done = true;
        b.join();
        counters.client_b_commands += b_commands;
        counters.client_b_refused += b_refused;
        counters.steps += result.steps.size();
        for (const auto& s : result.steps) {
            if (s.measurements_json.find("\"pin_refused\":true") != std::string::npos)
                ++counters.guard_refused;
            for (const auto& e : s.exchanges)
                if (e.command.find("<redacted pin") != std::string::npos &&
                    e.note.find("not sent") == std::string::npos)
                    ++counters.pins_sent;
        }
        // The card comes back for the next sequence.
        if (!lab.reader.card()) {
            const lab::ReaderArbiter::Call call(lab.reader.arbiter(), nullptr);
            lab.reader.insert(lab.card);
        }
        for (io::CardChannel* ch : {static_cast<io::CardChannel*>(lab.channel.get()),
                                    static_cast<io::CardChannel*>(card->second.get())})
            try {
                ch->reset(io::ResetKind::Cold);
            } catch (const Error&) {
            }

        // The floor: emulator counters, after every sequence.
        const auto now = lab.card->state().tries_left;
        const bool memory = lab.ctx.failed_pins != nullptr;
        for (const auto& [key, max] : card->initial) {
            const int left = now.at(key);
            const bool guardable = key.rfind("visual/", 0) != 0;
            const int floor = !guardable ? max : memory ? max - 1 : 1;
            if (left < floor || left == 0)
                BOOST_ERROR("sequence " << sequence << " (seed " << seed << "): " << key << " at "
                                        << left << " of " << max << ", floor " << floor << "\n"
                                        << suite_test::dump(result));
        }

        hits += hits_in(fmt::format("sequence {} results", sequence), all_text(result), needles);
        model::Session session;
        session.reader.pcsc_name = "Lab Dual Extended 500 (p1) 00 00";
        session.reader.reader_model = "lab-ext-dual";
        session.card.card_id = card->id;
        session.card.card_type = lab.card->family();
        session.card.interface = "contact";
        session.card.atr = lab.channel->atr();
        session.status = lab.ctx.status;
        session.cause = lab.ctx.cause;
        session.suites.push_back(std::move(result));
        db.add_session(run.uuid, session);
        ++counters.sequences;
    }
    db.finish_run(run.uuid, model::RunStatus::Complete, "", "2026-12-02T00:01:00Z", {});

    // Every report format of the stored run, and the database file itself.
    const auto stored = db.load_run(run.uuid);
    BOOST_TEST_REQUIRE(stored.has_value());
    const auto model = report::build({*stored}, report::Selection::Run);
    for (const auto lang : {report::Lang::Ja, report::Lang::En}) {
        hits += hits_in("csv", report::render_csv(model, lang), needles);
        hits += hits_in("md", report::render_markdown(model, lang), needles);
        hits += hits_in("junit", report::render_junit(model, lang), needles);
        for (const auto view : {report::View::Public, report::View::Technical})
            hits += hits_in("html", report::render_html(model, lang, view), needles);
    }
    hits += hits_in("json", report::render_json(model), needles);
    {
        SQLite::Database raw(db_path, SQLite::OPEN_READWRITE);
        raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    std::ifstream in(db_path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    hits += hits_in("database file", bytes, needles);

    BOOST_TEST(hits == 0u);
    BOOST_TEST_MESSAGE(fmt::format(
        "{} sequences, {} steps; side doors refused: {} by the loader, {} by the guard (client "
        "A), {} of {} commands of client B; {} PINs sent; {} removals, {} reconnects, {} resets; "
        "canary hits {}",
        counters.sequences, counters.steps, counters.loader_refused, counters.guard_refused,
        counters.client_b_refused, counters.client_b_commands, counters.pins_sent,
        counters.removals, counters.reconnects, counters.resets, hits));
    // The property means something only if the doors were tried and the card was worked.
    BOOST_TEST(counters.loader_refused > 0u);
    BOOST_TEST(counters.guard_refused > 0u);
    BOOST_TEST(counters.client_b_refused > 0u);
    BOOST_TEST(counters.pins_sent > 0u);
    BOOST_TEST(counters.steps > counters.sequences * 3);
    std::filesystem::remove_all(dir);
}
