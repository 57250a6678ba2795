#pragma once
// The action vocabulary of conformance suites, as data: per action its args grammar (typed keys),
// its default expect_sw, what it stores into variables and which `requires` tokens it implies.
// Also the `${var}` namespace, the expect_data grammar and the `requires` tokens. The loader
// validates every cell against these; the runner executes the parsed, typed args.
// Documented for suite authors in profiles/README.md.
#include "io/card_channel.hpp"
#include "pure/apdu.hpp"
#include "pure/bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace harness::suite {

// ---- Variables ------------------------------------------------------------------------------
// `${name}` in hex args. Names: [A-Za-z0-9_.-]+. Namespaces:
//   aid.<app>   AIDs of the card profiles (aid.jpki, aid.text, aid.visual, aid.juki_ap,
//               aid.juki_ap_alt, aid.transport) — profiles/cards/applications.csv
//   ef.<role>   EF ids of the card profiles (ef.token 0006, ef.auth_cert 000A, …) — files.csv
//   run.<name>  values of the run: run.reader (PC/SC name, ASCII), run.atr, run.card_type,
//               run.interface — set by the runner, not by the suite
//   <name>      no dot: stored by an earlier step of the same suite (`store=name`)
using Variables = std::map<std::string, Bytes, std::less<>>;

// aid.* and ef.* with their values (domain.md §2–§3, profiles/cards/applications.csv, files.csv).
const Variables& profile_variables();
// run.* names the runner sets (values are the runner's).
std::span<const std::string_view> run_variable_names();
// A name is syntactically valid: [A-Za-z0-9_][A-Za-z0-9_.-]*.
bool is_valid_variable_name(std::string_view name);
// A reserved-namespace name the runner or the profiles provide (aid.*, ef.*, run.*).
bool is_known_namespaced_variable(std::string_view name);

// Hex bytes with `${var}` references, e.g. "00 A4 04 0C 0A ${aid.jpki}".
struct HexTemplate {
    struct Segment {
        Bytes literal;        // when variable is empty
        std::string variable; // non-empty: a ${variable} reference
        bool operator==(const Segment&) const = default;
    };
    std::vector<Segment> segments;
    std::string text; // as written

    bool has_variables() const;
    std::vector<std::string> variables() const;
    // Throws harness::Error "unknown variable ${x}" when a reference has no value.
    Bytes substitute(const Variables& variables) const;
    // The bytes when there is no variable.
    std::optional<Bytes> literal() const;
    bool operator==(const HexTemplate&) const = default;
};

// Which raw commands a suite may hold is pin_policy.hpp's one classifier: none that can carry a
// PIN (VERIFY / CHANGE REFERENCE DATA / ENABLE, DISABLE VERIFICATION REQUIREMENT / RESET RETRY
// COUNTER with data, any class, even or odd INS; ENVELOPE; a ${var} instruction) in `apdu`,
// `repeat`, `measure` or `sweep`. The error message when it can, else nullopt.
std::optional<std::string> pin_command_problem(const HexTemplate& command);

// ---- Parsed, typed args per action ---------------------------------------------------------
// Whether the runner follows 61xx (GET RESPONSE) and/or 6Cxx (re-send with Le = xx); every extra
// exchange is recorded. Never silent: the default is None.
enum class Follow { None, GetResponse, LeCorrection, Both };
const char* to_string(Follow follow); // "none", "61xx", "6cxx", "both"

// PIN names of the PIN file (`pin,value`): auth = JPKI user-authentication PIN (jpki/0018),
// sign = JPKI signing password (jpki/001B), text = 券面事項入力補助 PIN (text/0011),
// juki = 住基 PIN (juki_ap/001C).
enum class PinName { Auth, Sign, Text, Juki };
const char* to_string(PinName pin); // "auth", "sign", "text", "juki"
std::optional<PinName> pin_name_from(std::string_view text);

struct ApduArgs {
    HexTemplate command; // sent raw: malformed APDUs allowed on purpose
    Follow follow = Follow::None;
    std::optional<std::string> store; // response data into this variable
};

struct SelectAidArgs {
    HexTemplate aid;
    bool fci = false; // P2=00 with Le=00 (FCI requested) instead of P2=0C
};

struct SelectEfArgs {
    HexTemplate fid; // 2 bytes after substitution
    bool fci = false;
};

enum class ReadMode {
    Header,   // read `header` bytes, learn the DER length, then chunks of `chunk` bytes
    Extended, // one READ BINARY with extended Le 00 00 00 (whole EF)
    Fixed,    // `length` bytes in chunks of `chunk`
};
const char* to_string(ReadMode mode); // "header", "extended", "fixed"

struct ReadEfArgs {
    std::optional<HexTemplate> fid; // selected first when given
    ReadMode mode = ReadMode::Header;
    std::size_t chunk = 256; // Le per READ BINARY (1..256; 256 = short Le 00)
    bool fit = false;       // chunk at most RunContext::max_short_le (the reader's reported limits)
    std::size_t header = 4; // header mode: first read (OpenSC 4, jpki/myna 7)
    std::size_t length = 0; // fixed mode: bytes to read
    std::optional<std::string> store; // the file bytes into this variable
};

struct PinTriesArgs {
    PinName pin = PinName::Auth;
    bool select = true;               // select the PIN's application and EF first
    std::optional<std::string> store; // one byte: the tries left
};

// `supplied`: the PIN from the PIN file / environment / prompt (through the PIN guard).
// `wrong`: a well-formed PIN that differs from the supplied one; only on test or emulated cards.
enum class PinValue { Supplied, Wrong };
const char* to_string(PinValue value);

struct VerifyPinArgs {
    PinName pin = PinName::Auth;
    PinValue value = PinValue::Supplied;
    bool select = true;
};

enum class SignKey { Auth, Sign }; // jpki/0017 (needs pin auth), jpki/001A (needs pin sign)
const char* to_string(SignKey key);
enum class HashAlgorithm { Sha1, Sha256, Sha384, Sha512 };
const char* to_string(HashAlgorithm hash); // "sha1", "sha256", …
// DER DigestInfo prefix (RFC 8017 §9.2 note 1) for the hash.
Bytes digest_info_prefix(HashAlgorithm hash);

struct SignArgs {
    SignKey key = SignKey::Auth;
    std::string message = "cardharness conformance test"; // hashed, then DigestInfo + PSO
    HashAlgorithm hash = HashAlgorithm::Sha256;
    std::string cert;   // variable holding the certificate (DER) to verify the signature with
    bool select = true; // select the key EF first
    std::optional<std::string> store; // the signature into this variable
};

// How an expired certificate is judged: fail the step, or pass it with an info note (Juki).
enum class ExpiredPolicy { Fail, Info };

struct CheckCertArgs {
    std::string cert;                // variable holding the DER certificate
    std::optional<std::string> ca;   // variable holding the issuing CA certificate: chain check
    std::size_t min_bits = 1024;     // RSA modulus size at least
    std::optional<std::size_t> bits; // exactly (e.g. 2048 My Number, 1024 Juki)
    ExpiredPolicy expired = ExpiredPolicy::Fail;
};

struct ResetArgs {
    io::ResetKind kind = io::ResetKind::Warm;
    std::optional<std::string> store; // the ATR after the reset
};

struct ReconnectArgs {
    bool exclusive = false; // SCARD_SHARE_EXCLUSIVE instead of shared
};

struct ExpectRemovedArgs {
    std::string prompt_en = "Remove the card"; // shown to a tester (the lab removes it itself)
};

struct AtrArgs {
    std::optional<std::string> store;
};

// repeat: the same command count times, each SW checked; measure: the same, plus latency
// statistics (min / median / p95 / max / mean µs) over the counted exchanges.
struct RepeatArgs {
    HexTemplate command;
    std::size_t count = 10;
    std::size_t warmup = 0; // exchanges sent first and not counted
    Follow follow = Follow::None;
    bool statistics = false; // true for `measure`
};

// Transport sweep over APDU cases (ISO 7816-3 §12.1) against the transport test card's
// commands (profiles/cards/commands.csv): for n = from, from+step, …, to: case 2 asks Ne = n,
// case 3 sends Nc = n pattern bytes, case 4 sends Nc = n and asks Ne = le (or n). Case 1 sends
// the command count times (from..to is the count range).
struct SweepArgs {
    int apdu_case = 2;
    std::size_t from = 1;
    std::size_t to = 256;
    std::size_t step = 1;
    apdu::Form form = apdu::Form::Short; // Short or Extended (never Auto)
    std::uint8_t cla = 0x80;
    std::optional<std::uint8_t> ins; // default per case: 10, 20, 30, 40
    std::uint8_t p1 = 0x00;
    std::uint8_t p2 = 0x00;
    std::optional<std::size_t> le; // case 4: fixed Ne
    Follow follow = Follow::None;
    std::uint8_t ins_for_case() const;
};

using Args = std::variant<ApduArgs, SelectAidArgs, SelectEfArgs, ReadEfArgs, PinTriesArgs,
                          VerifyPinArgs, SignArgs, CheckCertArgs, ResetArgs, ReconnectArgs,
                          ExpectRemovedArgs, AtrArgs, RepeatArgs, SweepArgs>;

// ---- The vocabulary as data ---------------------------------------------------------------
enum class ArgType {
    Hex,     // hex bytes with ${var}
    Fid,     // 4 hex digits (2 bytes) or ${var}
    Integer, // decimal (or 0x hex), within [min, max]
    Byte,    // 2 hex digits
    Choice,  // one of choices
    Text,    // free text (no ';')
    VarName, // a variable name to store into (no dot)
    VarRef,  // a variable stored by an earlier step (bare name)
};
const char* to_string(ArgType type);

struct ArgSpec {
    std::string_view key;
    ArgType type = ArgType::Text;
    bool required = false;
    std::string_view default_value;        // as text; empty = none
    std::vector<std::string_view> choices; // Choice
    std::int64_t min = 0, max = 0;         // Integer
    std::string_view help;                 // one line, English
};

struct ActionSpec {
    std::string_view name;
    std::string_view summary; // one line, English
    // Key of the positional first field ("00 A4 …" means cmd=00 A4 …); empty = none.
    std::string_view positional;
    std::vector<ArgSpec> keys;
    std::string_view default_expect_sw; // "" = the action sends no APDU of its own to judge
    bool sends_apdu = true;
    std::string_view stores;                        // what `store=` receives; empty = nothing
    std::vector<std::string_view> implied_requires; // static; see implied_requirements()
    std::string_view example_args;
};

std::span<const ActionSpec> actions();
const ActionSpec* find_action(std::string_view name);

// ---- Args grammar: `key=value;key=value`, the positional key's value may come first bare.
// Keys may appear once; values are trimmed; `;` separates (no escaping: no value needs it).
struct ArgError {
    std::size_t column = 0; // 1-based within the args text
    std::string message;    // "expected …"
};

// Parses and validates args for the action (unknown action → one error at column 1).
// `stored` are the variables stored by earlier steps (for VarRef and bare ${name} checks);
// when null, bare ${name} references are not checked. Returns nullopt when errors were added.
std::optional<Args> parse_args(std::string_view action, std::string_view text,
                               const std::vector<std::string>* stored,
                               std::vector<ArgError>& errors);

// The variable the step stores into (store=), if any.
std::optional<std::string> stored_variable(const Args& args);
// Requirements the args imply: verify_pin → pin:<name> (+ test_card for value=wrong),
// sign → pin:<key>, read_ef mode=extended / sweep form=extended / an extended raw APDU →
// extended_apdu, sweep → card:transport, expect_removed → removal. Sorted, unique.
std::vector<std::string> implied_requirements(const Args& args);

// ---- `requires` tokens -----------------------------------------------------------------------
struct RequirementSpec {
    std::string_view token;
    std::string_view meaning;
};
std::span<const RequirementSpec> requirements();
bool is_known_requirement(std::string_view token);

// ---- expect_data grammar --------------------------------------------------------------------
// Conditions separated by ';', all must hold:
//   hex with `..` wildcards, optionally ending in `*` (prefix): "30 82 .. .. *", "90 ..", "*"
//   len=N, len>=N, len<=N
//   named checks: der_certificate, empty, transport_pattern, token:<TEXT>, jpki_token, ascii
struct DataCondition {
    enum class Kind { Bytes, LengthEq, LengthGe, LengthLe, Named };
    Kind kind = Kind::Bytes;
    std::vector<std::optional<std::uint8_t>> bytes; // Bytes: nullopt = `..`
    bool prefix = false;                            // Bytes: trailing `*`
    std::size_t length = 0;                         // Length*
    std::string name;                               // Named
    std::string parameter;                          // Named: token:<parameter>
};

struct ExpectData {
    std::vector<DataCondition> conditions;
    std::string text;
    bool empty() const { return conditions.empty(); }
    // nullopt when all hold; else the first failed condition, e.g. "len>=128 (got 4)".
    std::optional<std::string> check(ByteView data) const;
};

struct NamedCheckSpec {
    std::string_view name;
    bool takes_parameter = false;
    std::string_view meaning;
};
std::span<const NamedCheckSpec> named_checks();

// Returns nullopt and fills error (column 1-based within text) when text is not valid.
std::optional<ExpectData> parse_expect_data(std::string_view text, ArgError* error = nullptr);

// Transport test card data pattern: byte i is i mod 251 (profiles/cards/README.md).
Bytes transport_pattern(std::size_t length);

} // namespace harness::suite
