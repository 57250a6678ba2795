#pragma once
// The one redactor: everything the runner stores, logs or prints passes through it first (issue 4
// §4, issue 8 §2). It fails closed: a response is personal unless the selection is known AND the
// EF it came from is on the list of free EFs (tokens, CA certificates, the transport test card).
// PIN-bearing command bodies (pin_policy.hpp decides which) become "<redacted pin len=N>";
// personal values become "<redacted len=N hmac=…>": an HMAC under the station key, which never
// enters a database or a report, so a marker cannot be reversed by searching the small value
// spaces personal data have (a My Number has 10^12).
#include "io/station.hpp"
#include "pure/bytes.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace harness::suite {

// ISO 7816-4 §5.4.1: the command is on the basic logical channel (proprietary classes count as
// basic). Only the basic channel's selection is tracked.
bool basic_channel(std::uint8_t cla);

// Application names as the card profiles use them (profiles/cards/applications.csv).
// Unknown AIDs are "".
std::string application_of(ByteView aid);

// What the card has selected on the basic channel, learnt from SELECT commands and their status
// words (ISO 7816-4 §11.1.1). Shared by the PIN guard and the redactor. `known` is false at the
// start of a session, after a reset or reconnect, and after any SELECT the runner could not
// follow (unparsable, proprietary class, secure messaging, chaining, by path, parent, next
// occurrence, no status word): then every response body is personal.
struct Selection {
    bool known = false;
    std::optional<Bytes> aid; // selected DF name; nullopt = the MF or no application
    std::string app;          // application_of(*aid), "" when unknown or none
    std::optional<std::uint16_t> ef;

    bool operator==(const Selection&) const = default;
};

// Updates `selection` after `command` was answered by `response` (data + SW1 SW2). A failed plain
// SELECT leaves the selection as it was (ISO 7816-4 §7.1.1).
void track_selection(Selection& selection, ByteView command, ByteView response);

// The EF a command acts on: the current EF; nullopt for READ BINARY by short EF id (an SFI is
// not a file id: the EF is unknown).
std::optional<std::uint16_t> target_ef(const Selection& selection, ByteView command);

// An EF whose content is NOT personal (fid nullopt: every EF of the application).
struct FreeEf {
    std::string app;
    std::optional<std::uint16_t> fid;
    std::string what; // e.g. "JPKI token (card type)"
};

struct RedactionPolicy {
    std::vector<FreeEf> free; // everything else is personal
};

// Free: JPKI 0006 (token), 000B and 0002 (CA certificates), the PIN EFs (their answers are
// status words), every EF of the transport test card. Everything else is personal: JPKI 0001 and
// 000A (end-entity certificates), the key EFs' outputs (a signature identifies its card), the text,
// visual and 住基 APs, unknown applications, the MF.
RedactionPolicy default_redaction_policy();

struct RedactedExchange {
    std::string command;  // spaced hex, or with the PIN replaced by a marker
    std::string response; // spaced hex, or a marker for the data followed by the SW in hex
    bool command_redacted = false;
    bool response_redacted = false;
};

class Redactor {
public:
    explicit Redactor(io::StationKey key, RedactionPolicy policy = default_redaction_policy());
    ~Redactor();
    Redactor(const Redactor&) = delete;
    Redactor& operator=(const Redactor&) = delete;

    // "<redacted len=N hmac=HEX>": HMAC-SHA-256 under the station key, first 16 hex digits.
    std::string marker(ByteView secret) const;
    static std::string pin_marker(std::size_t length); // "<redacted pin len=N>"

    // True unless the selection is known and the EF the command acts on is free.
    bool is_personal(const Selection& selection, ByteView command) const;

    // Redacts one exchange. `selection` is the one in force when the command was sent.
    // Registered secrets are also scrubbed from the hex text (a ${var} built from personal data).
    RedactedExchange redact(ByteView command, ByteView response, const Selection& selection) const;

    // Values that must never appear in any text (PINs supplied, personal EF contents and values
    // derived from them). Secrets shorter than 2 bytes are ignored (they would match anywhere).
    // Its marker and text forms are computed once, here.
    void add_secret(ByteView secret);
    void add_secret(std::string_view secret) { add_secret(ByteView(bytes_of(secret))); }
    // Replaces each registered secret in `text` (as ASCII when printable and 4+ bytes, as spaced
    // or packed hex in any case when 6+ bytes; leftmost, longest first) by its marker. The cost
    // is linear in the text, whatever the number of secrets.
    std::string scrub(std::string_view text) const;
    // The same, in place: true when `text` changed (a secret was replaced).
    bool scrub_in_place(std::string& text) const;
    std::size_t secret_count() const;
    const RedactionPolicy& policy() const { return policy_; }

private:
    struct Index;
    std::string compute_marker(ByteView secret) const;

    io::StationKey key_;
    RedactionPolicy policy_;
    std::unique_ptr<Index> index_;
};

} // namespace harness::suite
