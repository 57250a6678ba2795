#pragma once
// The one redactor: everything the runner stores, logs or prints passes through it first (issue 4
// §4). PIN bytes in VERIFY / CHANGE REFERENCE DATA, responses from personal-data EFs (JPKI 0001 and
// 000A end-entity certificates, text AP, visual AP, 住基 AP) and any value derived from them are
// replaced by markers: "<redacted pin len=N>" and "<redacted len=N sha256=…>" (salted SHA-256).
#include "io/salt.hpp"
#include "pure/bytes.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::suite {

// ISO 7816-4 §5.4.1: the command is on the basic logical channel (proprietary classes count as
// basic). Only the basic channel's selection is tracked.
bool basic_channel(std::uint8_t cla);

// Application names as the card profiles use them (profiles/cards/applications.csv).
// Unknown AIDs are "" (an unknown application is treated as personal by the redactor).
std::string application_of(ByteView aid);

// The application and EF in force, learnt from SELECT commands and their status words
// (ISO 7816-4 §11.1.1). Shared by the PIN guard and the redactor.
struct Selection {
    std::optional<Bytes> aid; // selected DF name; nullopt = none selected yet
    std::string app;          // application_of(*aid), "" when unknown or none
    std::optional<std::uint16_t> ef;

    bool operator==(const Selection&) const = default;
};

// Updates `selection` after `command` was answered by `response` (data + SW1 SW2). A failed SELECT
// leaves the selection as it was; a reset or reconnect is `selection = {}`.
void track_selection(Selection& selection, ByteView command, ByteView response);

// The EF a command reads: READ BINARY with an SFI (P1 b8 set, ISO 7816-4 §11.2.2) names its EF in
// P1; everything else acts on the current EF.
std::optional<std::uint16_t> target_ef(const Selection& selection, ByteView command);

// An EF whose content is personal data (fid nullopt: every EF of the application).
struct PersonalEf {
    std::string app;
    std::optional<std::uint16_t> fid;
    std::string what; // e.g. "signature certificate (name, address, birth date in SubjectAltName)"
};

struct RedactionPolicy {
    std::vector<PersonalEf> personal;
    // EFs of an application the policy does not know are redacted when true.
    bool unknown_apps_personal = true;
};

// JPKI 0001 (signature certificate), 000A (authentication certificate: end-entity, subject),
// text AP and visual AP (every EF), 住基 AP (every EF). CA certificates (000B, 0002) are kept.
RedactionPolicy default_redaction_policy();

struct RedactedExchange {
    std::string command;  // spaced hex, or with the PIN replaced by a marker
    std::string response; // spaced hex, or a marker for the data followed by the SW in hex
    bool command_redacted = false;
    bool response_redacted = false;
};

class Redactor {
public:
    explicit Redactor(io::Salt salt, RedactionPolicy policy = default_redaction_policy());

    // "<redacted len=N sha256=HEX>": SHA-256 over salt || bytes, first 16 hex digits.
    std::string marker(ByteView secret) const;
    static std::string pin_marker(std::size_t length); // "<redacted pin len=N>"

    // True when the EF the command acts on (given the selection before it) holds personal data.
    bool is_personal(const Selection& selection, ByteView command) const;
    // True for VERIFY (INS 20), CHANGE REFERENCE DATA (24), RESET RETRY COUNTER (2C) with data.
    static bool carries_pin(ByteView command);

    // Redacts one exchange. `selection` is the one in force when the command was sent.
    // Registered secrets are also scrubbed from the hex text (a ${var} built from personal data).
    RedactedExchange redact(ByteView command, ByteView response, const Selection& selection) const;

    // Values that must never appear in any text (PINs supplied, personal EF contents and values
    // derived from them). Secrets shorter than 2 bytes are ignored (they would match anywhere).
    void add_secret(ByteView secret);
    void add_secret(std::string_view secret) { add_secret(ByteView(bytes_of(secret))); }
    // Replaces each registered secret in `text` (as ASCII and as spaced / packed hex, any case)
    // by its marker.
    std::string scrub(std::string_view text) const;
    const RedactionPolicy& policy() const { return policy_; }

private:
    io::Salt salt_;
    RedactionPolicy policy_;
    std::vector<Bytes> secrets_;
};

} // namespace harness::suite
