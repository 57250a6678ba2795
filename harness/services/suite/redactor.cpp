#include "services/suite/redactor.hpp"

#include "pure/apdu.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fmt/core.h>
#include <openssl/evp.h>

namespace harness::suite {

namespace {

constexpr std::uint8_t ins_select = 0xA4;
constexpr std::uint8_t ins_read_binary = 0xB0;
constexpr std::uint8_t ins_verify = 0x20;
constexpr std::uint8_t ins_change_reference_data = 0x24;
constexpr std::uint8_t ins_reset_retry_counter = 0x2C;

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

// Applications whose EFs the policy describes one by one (anything else is unknown).
bool is_known_app(const std::string& app) {
    return app == "jpki" || app == "text" || app == "visual" || app == "juki_ap" ||
           app == "transport";
}

bool is_ok_or_warning(std::uint16_t sw) {
    const auto sw1 = static_cast<std::uint8_t>(sw >> 8);
    return sw == 0x9000 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

std::string lower(std::string text) {
    for (auto& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

void replace_all(std::string& text, const std::string& needle, const std::string& with) {
    if (needle.empty())
        return;
    std::size_t pos = 0;
    while ((pos = text.find(needle, pos)) != std::string::npos) {
        text.replace(pos, needle.size(), with);
        pos += with.size();
    }
}

bool printable(ByteView bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b >= 0x20; });
}

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
    // Only the basic channel is tracked: other channels' commands count as unknown selections.
    if (command.size() < 4 || response.size() < 2 || (command[0] & 0x80) != 0 ||
        !basic_channel(command[0]))
        return;
    const auto sw = static_cast<std::uint16_t>((response[response.size() - 2] << 8) |
                                               response[response.size() - 1]);
    if (!is_ok_or_warning(sw))
        return; // ISO 7816-4 §7.1.1: a failed SELECT leaves the current file as it was
    const std::uint8_t ins = command[1];
    const std::uint8_t p1 = command[2];
    if (ins == ins_read_binary && (p1 & 0x80) != 0) {
        selection.ef = static_cast<std::uint16_t>(p1 & 0x1F); // §11.2.2: the SFI's EF is current
        return;
    }
    if (ins != ins_select)
        return;
    const apdu::ParseResult parsed = apdu::parse(command);
    if (!parsed.command)
        return;
    const Bytes& data = parsed.command->data;
    if (p1 == 0x04) { // §11.1.1: select by DF name
        selection.aid = data;
        selection.app = application_of(data);
        selection.ef.reset();
        return;
    }
    if (data.size() < 2)
        return;
    const auto fid = static_cast<std::uint16_t>((data[data.size() - 2] << 8) | data.back());
    if (fid == 0x3F00) {
        selection = {};
        return;
    }
    if (p1 == 0x01) { // a DF under the current DF: no EF, application unknown
        selection.aid.reset();
        selection.app.clear();
        selection.ef.reset();
        return;
    }
    selection.ef = fid; // P1 00 / 02 / 08 / 09: the last FID of the path is an EF
}

std::optional<std::uint16_t> target_ef(const Selection& selection, ByteView command) {
    if (command.size() >= 3 && command[1] == ins_read_binary && (command[2] & 0x80) != 0)
        return static_cast<std::uint16_t>(command[2] & 0x1F);
    return selection.ef;
}

RedactionPolicy default_redaction_policy() {
    RedactionPolicy policy;
    policy.personal = {
        {"jpki", 0x0001, "signature certificate (name, address, birth date in SubjectAltName)"},
        {"jpki", 0x000A, "authentication certificate (end-entity subject)"},
        {"text", std::nullopt, "券面事項入力補助AP (My Number, name, address, birth date, sex)"},
        {"visual", std::nullopt, "券面AP (face image, printed facts)"},
        {"juki_ap", std::nullopt, "住基AP (resident record)"},
    };
    return policy;
}

Redactor::Redactor(io::Salt salt, RedactionPolicy policy)
    : salt_(std::move(salt)), policy_(std::move(policy)) {}

std::string Redactor::marker(ByteView secret) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, salt_.bytes.data(), salt_.bytes.size()) == 1 &&
                    EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, digest.data(), &length) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return fmt::format("<redacted len={}>", secret.size());
    const std::string hex = lower(hex::format(ByteView(digest.data(), 8), hex::Style::Packed));
    return fmt::format("<redacted len={} sha256={}>", secret.size(), hex);
}

std::string Redactor::pin_marker(std::size_t length) {
    return fmt::format("<redacted pin len={}>", length);
}

bool Redactor::carries_pin(ByteView command) {
    return command.size() > 4 && (command[0] & 0x80) == 0 &&
           (command[1] == ins_verify || command[1] == ins_change_reference_data ||
            command[1] == ins_reset_retry_counter) &&
           !(command.size() == 5); // 5 bytes: case 2 (Le only), no data
}

bool Redactor::is_personal(const Selection& selection, ByteView command) const {
    if (command.size() >= 2 && command[1] == ins_select)
        return false; // FCI / FCP: sizes and ids, not file contents
    if (!command.empty() && !basic_channel(command[0]))
        return true; // a logical channel's selection is not tracked: assume personal
    const auto ef = target_ef(selection, command);
    if (!ef)
        return false;
    for (const auto& p : policy_.personal)
        if (p.app == selection.app && (!p.fid || *p.fid == *ef))
            return true;
    return policy_.unknown_apps_personal && !is_known_app(selection.app);
}

RedactedExchange Redactor::redact(ByteView command, ByteView response,
                                  const Selection& selection) const {
    RedactedExchange out;
    if (carries_pin(command)) {
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
            rest = pin_marker(command.size() - 4);
        }
        out.command = hex::format(command.first(4)) + " " + rest;
        out.command_redacted = true;
    } else {
        out.command = scrub(hex::format(command));
        out.command_redacted = out.command != hex::format(command);
    }
    if (response.size() > 2 && is_personal(selection, command)) {
        const ByteView data = response.first(response.size() - 2);
        out.response = marker(data) + " " + hex::format(response.last(2));
        out.response_redacted = true;
    } else {
        out.response = scrub(hex::format(response));
        out.response_redacted = out.response != hex::format(response);
    }
    return out;
}

void Redactor::add_secret(ByteView secret) {
    if (secret.size() < 2)
        return;
    Bytes value(secret.begin(), secret.end());
    if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end())
        return;
    secrets_.push_back(std::move(value));
    std::sort(secrets_.begin(), secrets_.end(),
              [](const Bytes& a, const Bytes& b) { return a.size() > b.size(); });
}

std::string Redactor::scrub(std::string_view text) const {
    std::string out(text);
    for (const auto& secret : secrets_) {
        const std::string mark = marker(secret);
        if (secret.size() >= 4 && printable(secret))
            replace_all(out, std::string(secret.begin(), secret.end()), mark);
        if (secret.size() >= 6) { // shorter hex runs would hit unrelated data (e.g. patterns)
            const std::string spaced = hex::format(secret, hex::Style::Spaced);
            const std::string packed = hex::format(secret, hex::Style::Packed);
            for (const auto& form : {spaced, lower(spaced), packed, lower(packed)})
                replace_all(out, form, mark);
        }
    }
    return out;
}

} // namespace harness::suite
