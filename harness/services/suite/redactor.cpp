#include "services/suite/redactor.hpp"

#include "pure/apdu.hpp"
#include "pure/openssl.hpp"
#include "services/suite/pin_policy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <fmt/core.h>
#include <openssl/crypto.h>

namespace harness::suite {

namespace {

constexpr std::uint8_t ins_select = 0xA4;
constexpr std::uint8_t ins_read_binary = 0xB0;
constexpr std::string_view marker_domain = "cardharness redaction v1";

struct KnownAid {
    std::array<std::uint8_t, 10> bytes;
    std::size_t size;
    const char* app;
};

// domain.md §2, profiles/cards/applications.csv.
constexpr KnownAid known_aids[] = {
    {{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}, 10, "jpki"},
    {{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}, 10, "text"},
    {{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}, 10, "visual"},
    {{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00}, 10, "juki_ap"},
    {{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01}, 10, "juki_ap"},
    {{0xF0, 0x43, 0x48, 0x54, 0x45, 0x53, 0x54, 0x01}, 8, "transport"},
};

bool is_ok_or_warning(std::uint16_t sw) {
    const auto sw1 = static_cast<std::uint8_t>(sw >> 8);
    return sw == 0x9000 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

bool printable(ByteView bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b >= 0x20; });
}

char upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// `text` upper-cased equals `upper_text` (hex forms are kept in upper case).
bool equal_upper(std::string_view text, std::string_view upper_text) {
    if (text.size() != upper_text.size())
        return false;
    for (std::size_t i = 0; i < text.size(); ++i)
        if (upper(text[i]) != upper_text[i])
            return false;
    return true;
}

// A buffer of `n` values on the stack when the text is short (every reason, most hex dumps), on
// the heap otherwise; not initialised.
template <typename T>
class Scratch {
public:
    explicit Scratch(std::size_t n) {
        if (n > local_.size())
            heap_ = std::make_unique<T[]>(n);
    }
    T* data() { return heap_ ? heap_.get() : local_.data(); }

private:
    std::array<T, 512> local_;
    std::unique_ptr<T[]> heap_;
};

// ISO 7816-4 §5.4.1: an interindustry class without secure messaging (b4 b3) or chaining (b5).
bool plain_interindustry(std::uint8_t cla) {
    return (cla & 0x80) == 0 && (cla & 0x40) == 0 && (cla & 0x1C) == 0;
}

// The key of the K characters at `s` (K a multiple of 4): read 8 (and 4) bytes at a time, each
// chunk xored in and multiplied by an odd constant (Fibonacci hashing, Knuth TAOCP 6.4), which
// spreads every input bit into the top bits the filter reads. Collisions are resolved by
// comparing. `Fold` sets bit 0x20 of every byte: the hex tables' key, equal for a window and its
// upper-cased form (a hex form matches only where the folded keys agree).
template <std::size_t K, bool Fold>
std::uint64_t window_key(const char* s) {
    static_assert(K % 4 == 0);
    constexpr std::uint64_t odd = 0x9E3779B97F4A7C15ULL;
    std::uint64_t h = 0;
    for (std::size_t j = 0; j + 8 <= K; j += 8) {
        std::uint64_t x = 0;
        std::memcpy(&x, s + j, 8);
        if constexpr (Fold)
            x |= 0x2020202020202020ULL;
        h = (h ^ x) * odd;
    }
    if constexpr (K % 8 != 0) {
        std::uint32_t x = 0;
        std::memcpy(&x, s + K - 4, 4);
        if constexpr (Fold)
            x |= 0x20202020U;
        h = (h ^ x) * odd;
    }
    return h;
}

// The four tables' window lengths and kinds (Redactor::Index::tables, in this order).
constexpr std::array<std::size_t, 4> table_k{4, 16, 12, 32};
constexpr std::array<bool, 4> table_hex{false, false, true, true};

template <std::size_t T>
std::uint64_t table_key(const char* s) {
    return window_key<table_k[T], table_hex[T]>(s);
}

std::uint64_t table_key(std::size_t table, const char* s) {
    switch (table) {
    case 0:
        return table_key<0>(s);
    case 1:
        return table_key<1>(s);
    case 2:
        return table_key<2>(s);
    default:
        return table_key<3>(s);
    }
}

// The filters: one bit per value of a hash's top 16 bits.
bool in_filter(const std::uint64_t* filter, std::uint64_t hash) {
    return (filter[hash >> 54] >> ((hash >> 48) & 63)) & 1;
}

// Character classes for scrub's first pass.
constexpr std::uint8_t lower_letter = 1;  // a-z: minus 0x20 in the hex forms' view
constexpr std::uint8_t hex_form_char = 2; // upper-cased, in a hex form: 0-9 A-F space
constexpr std::array<std::uint8_t, 256> char_classes = [] {
    std::array<std::uint8_t, 256> t{};
    for (std::size_t c = 0; c < t.size(); ++c) {
        if (c >= 'a' && c <= 'z')
            t[c] |= lower_letter;
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') || c == ' ')
            t[c] |= hex_form_char;
    }
    return t;
}();

} // namespace

bool basic_channel(std::uint8_t cla) {
    if ((cla & 0x80) != 0)
        return true; // proprietary class (JPKI PSO 80 2A, transport card): no channel bits
    if ((cla & 0x40) != 0)
        return false; // ISO 7816-4 §5.4.1: further interindustry class, channels 4-19
    return (cla & 0x03) == 0;
}

std::string application_of(ByteView aid) {
    for (const auto& known : known_aids)
        if (aid.size() == known.size && std::equal(aid.begin(), aid.end(), known.bytes.begin()))
            return known.app;
    return {};
}

void track_selection(Selection& selection, ByteView command, ByteView response) {
    if (command.size() < 4 || !basic_channel(command[0]))
        return; // malformed, or another logical channel: the basic channel's selection stands
    const std::uint8_t cla = command[0];
    const std::uint8_t ins = command[1];
    const std::uint8_t p1 = command[2];
    const std::uint8_t p2 = command[3];
    const bool select = ins == ins_select;
    const bool sfi_read = ins == ins_read_binary && (p1 & 0x80) != 0;
    if (!select && !sfi_read)
        return;
    if (response.size() < 2) { // no status word: the card may or may not have acted
        selection = {};
        return;
    }
    const std::uint16_t sw = apdu::sw_of(response);
    if (!is_ok_or_warning(sw)) {
        if (!plain_interindustry(cla))
            selection = {}; // a proprietary or secured SELECT: its failure semantics are unknown
        return;             // ISO 7816-4 §7.1.1: a failed SELECT leaves the current file
    }
    if (sfi_read || !plain_interindustry(cla)) {
        // §11.2.2: the SFI's EF became current, and its file id is not known; a proprietary,
        // secured or chained SELECT selected something we cannot name.
        selection = {};
        return;
    }
    const apdu::ParseResult parsed = apdu::parse(command);
    if (!parsed.command) {
        selection = {};
        return;
    }
    const Bytes& data = parsed.command->data;
    switch (p1) {
    case 0x04: // §11.1.1: by DF name; P2 b2 b1 other than "first or only occurrence" is unknown
        if ((p2 & 0x03) != 0 || data.empty()) {
            selection = {};
            return;
        }
        selection.known = true;
        selection.aid = data;
        selection.app = application_of(data);
        selection.ef.reset();
        return;
    case 0x00: // MF, or a DF or EF by file id: only the MF can be told apart
        if (data.empty() || (data.size() == 2 && data[0] == 0x3F && data[1] == 0x00)) {
            selection = {};
            selection.known = true; // the MF: no application
            return;
        }
        selection = {};
        return;
    case 0x02: // an EF under the current DF
        if (!selection.known || data.size() != 2) {
            selection = {};
            return;
        }
        selection.ef = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
        return;
    default: // 01 (child DF), 03 (parent), 08 / 09 (paths): the application is not known
        selection = {};
        return;
    }
}

std::optional<std::uint16_t> target_ef(const Selection& selection, ByteView command) {
    if (command.size() >= 3 && command[1] == ins_read_binary && (command[2] & 0x80) != 0)
        return std::nullopt; // by short EF id: which file is not known
    return selection.ef;
}

RedactionPolicy default_redaction_policy() {
    RedactionPolicy policy;
    policy.free = {
        {"jpki", 0x0006, "JPKI token (the card type)"},
        {"jpki", 0x000B, "authentication CA certificate"},
        {"jpki", 0x0002, "signature CA certificate"},
        {"jpki", 0x0018, "authentication PIN EF (status words only)"},
        {"jpki", 0x001B, "signing password EF (status words only)"},
        {"text", 0x0011, "text-AP PIN EF (status words only)"},
        {"juki_ap", 0x001C, "住基 PIN EF (status words only)"},
        {"transport", std::nullopt, "transport test card (test patterns)"},
    };
    return policy;
}

// ---- The secret index: markers and text forms computed once per secret; scrub is one pass.
struct Redactor::Index {
    struct Pattern {
        std::string text; // ASCII as is; hex in upper case
        std::uint32_t secret = 0;
    };
    struct Table {
        std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_key;
        std::vector<std::uint64_t> filter = std::vector<std::uint64_t>(1024); // 65536 bits
        void add(std::uint64_t key, std::uint32_t pattern) {
            by_key[key].push_back(pattern);
            filter[key >> 54] |= std::uint64_t{1} << ((key >> 48) & 63);
        }
    };

    void add_pattern(std::string text, bool hex, std::uint32_t secret) {
        // The long table when the pattern is long enough: fewer patterns share a long prefix.
        const std::size_t t =
            hex ? (text.size() >= table_k[3] ? 3 : 2) : (text.size() >= table_k[1] ? 1 : 0);
        const std::uint64_t key = table_key(t, text.data()); // the pattern is at least k long
        patterns.push_back({std::move(text), secret});
        tables[t].add(key, static_cast<std::uint32_t>(patterns.size() - 1));
    }

    std::vector<std::string> markers;                      // by secret number
    std::unordered_map<std::string, std::uint32_t> number; // secret bytes -> number
    std::vector<Pattern> patterns;
    std::array<Table, 4> tables; // window lengths and kinds: table_k, table_hex
};

Redactor::Redactor(io::StationKey key, RedactionPolicy policy)
    : key_(std::move(key)), policy_(std::move(policy)), index_(std::make_unique<Index>()) {}

Redactor::~Redactor() {
    OPENSSL_cleanse(key_.bytes.data(), key_.bytes.size());
}

std::string Redactor::compute_marker(ByteView secret) const {
    Bytes message(marker_domain.begin(), marker_domain.end());
    message.push_back(0);
    message.insert(message.end(), secret.begin(), secret.end());
    const auto digest = openssl::hmac_sha256(key_.bytes, message);
    OPENSSL_cleanse(message.data(), message.size());
    if (!digest || digest->size() < 8)
        return fmt::format("<redacted len={}>", secret.size()); // length only
    std::string hex;
    for (std::size_t i = 0; i < 8; ++i)
        hex += fmt::format("{:02x}", (*digest)[i]);
    return fmt::format("<redacted len={} hmac={}>", secret.size(), hex);
}

std::string Redactor::marker(ByteView secret) const {
    const auto it = index_->number.find(std::string(secret.begin(), secret.end()));
    if (it != index_->number.end())
        return index_->markers[it->second];
    return compute_marker(secret);
}

std::string Redactor::pin_marker(std::size_t length) {
    return fmt::format("<redacted pin len={}>", length);
}

bool Redactor::is_personal(const Selection& selection, ByteView command) const {
    if (command.size() >= 2 && command[1] == ins_select && plain_interindustry(command[0]))
        return false; // FCI / FCP of the basic channel: sizes and ids, not file contents
    if (!command.empty() && !basic_channel(command[0]))
        return true; // another logical channel: its selection is not tracked
    if (!selection.known)
        return true; // after a reset, a reconnect, or a SELECT the runner could not follow
    const auto ef = target_ef(selection, command);
    for (const auto& f : policy_.free)
        if (f.app == selection.app && !selection.app.empty() && (!f.fid || (ef && *f.fid == *ef)))
            return false;
    return true;
}

RedactedExchange Redactor::redact(ByteView command, ByteView response,
                                  const Selection& selection) const {
    RedactedExchange out;
    if (classify_pin_command(command).sensitive()) {
        // Keep the header (CLA INS P1 P2) so the evidence says what was sent; the body goes.
        const apdu::ParseResult parsed = apdu::parse(command);
        std::string rest;
        if (parsed.command && !parsed.command->data.empty()) {
            const std::size_t nc = parsed.command->data.size();
            const bool extended = apdu::is_extended(parsed.apdu_case);
            rest = extended ? fmt::format("00 {:02X} {:02X} ", (nc >> 8) & 0xFF, nc & 0xFF)
                            : fmt::format("{:02X} ", nc);
            rest += pin_marker(nc);
            if (parsed.command->le)
                rest += " (Le)";
        } else {
            rest = pin_marker(command.size() > 4 ? command.size() - 4 : 0);
        }
        out.command =
            hex::format(command.first(std::min<std::size_t>(4, command.size()))) + " " + rest;
        out.command_redacted = true;
    } else {
        out.command = hex::format(command);
        out.command_redacted = scrub_in_place(out.command);
    }
    if (response.size() > 2 && is_personal(selection, command)) {
        const ByteView data = apdu::data_of(response);
        out.response = marker(data) + " " + hex::format(response.last(2));
        out.response_redacted = true;
    } else {
        out.response = hex::format(response);
        out.response_redacted = scrub_in_place(out.response);
    }
    return out;
}

void Redactor::add_secret(ByteView secret) {
    if (secret.size() < 2)
        return;
    std::string value(secret.begin(), secret.end());
    if (index_->number.count(value) != 0)
        return;
    const auto n = static_cast<std::uint32_t>(index_->markers.size());
    index_->markers.push_back(compute_marker(secret));
    index_->number.emplace(std::move(value), n);
    if (secret.size() >= 4 && printable(secret))
        index_->add_pattern(std::string(secret.begin(), secret.end()), false, n);
    if (secret.size() >= 6) { // shorter hex runs would hit unrelated data (e.g. patterns)
        index_->add_pattern(hex::format(secret, hex::Style::Spaced), true, n);
        index_->add_pattern(hex::format(secret, hex::Style::Packed), true, n);
    }
}

std::size_t Redactor::secret_count() const {
    return index_->markers.size();
}

std::string Redactor::scrub(std::string_view text) const {
    std::string out(text);
    scrub_in_place(out);
    return out;
}

bool Redactor::scrub_in_place(std::string& text) const {
    const Index& ix = *index_;
    const std::size_t n = text.size();
    if (ix.patterns.empty() || n < 4)
        return false;
    const char* const s = text.data();
    // One pass over the characters: is there a lower-case letter (hex forms are matched against
    // the upper-cased text; most texts scrubbed, hex dumps and the runner's reasons, have none:
    // then it is the text itself), and the longest run of characters a hex form can have.
    std::uint8_t seen = 0;
    std::size_t longest_hex_run = 0;
    for (std::size_t at = 0, run = 0; at < n; ++at) {
        const std::uint8_t cls = char_classes[static_cast<std::uint8_t>(s[at])];
        seen |= cls;
        run = (cls & hex_form_char) != 0 ? run + 1 : 0;
        longest_hex_run = std::max(longest_hex_run, run);
    }
    const bool has_lower = (seen & lower_letter) != 0;
    // First every table's filter over every window (a tight loop per table, no branch): bit t of
    // a window's mark says table t may hold a pattern there. A hex form (upper-case digits and
    // spaces only) needs a run of such characters at least as long as its table's window: a text
    // without one (most reasons) skips the hex tables. A property of the text alone, so the cost
    // still does not depend on the secrets. Short texts mark on the stack.
    Scratch<std::uint8_t> marks(n + 8);
    std::uint8_t* const maybe = marks.data();
    std::fill(maybe, maybe + n + 8, std::uint8_t{0});
    const auto mark = [&](auto t) {
        constexpr std::size_t table = decltype(t)::value;
        constexpr std::size_t k = table_k[table];
        if (table_hex[table] && longest_hex_run < k)
            return;
        // Locals: `maybe` is written through a byte pointer, which may alias anything else.
        const std::uint64_t* const filter = ix.tables[table].filter.data();
        for (std::size_t i = 0; i + k <= n; ++i)
            maybe[i] |=
                static_cast<std::uint8_t>(in_filter(filter, table_key<table>(s + i)) << table);
    };
    mark(std::integral_constant<std::size_t, 0>{});
    mark(std::integral_constant<std::size_t, 1>{});
    mark(std::integral_constant<std::size_t, 2>{});
    mark(std::integral_constant<std::size_t, 3>{});
    // Built only once a secret is found: the text up to it, its marker, and so on.
    std::string out;
    bool found = false;
    std::size_t copied = 0;
    const std::string_view view(text);
    std::size_t i = 0;
    while (i < n) {
        std::uint64_t eight = 0; // eight marks at once (the buffer has 8 spare zeros)
        std::memcpy(&eight, maybe + i, 8);
        if (eight == 0) {
            i += 8;
            continue;
        }
        // To the first marked window of the eight (byte 0 is the low byte on a little-endian host).
        i += static_cast<std::size_t>(std::endian::native == std::endian::little
                                          ? std::countr_zero(eight)
                                          : std::countl_zero(eight)) /
             8;
        std::size_t best_length = 0;
        std::uint32_t best_secret = 0;
        for (std::size_t t = 0; t < ix.tables.size(); ++t) {
            if ((maybe[i] >> t & 1) == 0) // the filter said no (or the window passes the end)
                continue;
            const auto& table = ix.tables[t];
            const auto it = table.by_key.find(table_key(t, s + i));
            if (it == table.by_key.end())
                continue;
            for (const std::uint32_t id : it->second) {
                const auto& pattern = ix.patterns[id];
                if (pattern.text.size() > best_length && pattern.text.size() <= n - i &&
                    (table_hex[t] && has_lower
                         ? equal_upper(view.substr(i, pattern.text.size()), pattern.text)
                         : view.compare(i, pattern.text.size(), pattern.text) == 0)) {
                    best_length = pattern.text.size();
                    best_secret = pattern.secret;
                }
            }
        }
        if (best_length != 0) {
            if (!found)
                out.reserve(n);
            found = true;
            out.append(view.substr(copied, i - copied));
            out += ix.markers[best_secret];
            i += best_length;
            copied = i;
        } else {
            ++i;
        }
    }
    if (!found)
        return false;
    out.append(view.substr(copied));
    text = std::move(out);
    return true;
}

} // namespace harness::suite
