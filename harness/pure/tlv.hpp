#pragma once
// BER-TLV / DER reader (ISO 7816-4 §5.2 BER-TLV data objects, ITU-T X.690 §8.1 and §10.1 DER).
// Pure: no I/O. Nodes are views into the parsed input: keep the input alive while using them.
#include "pure/bytes.hpp"
#include "pure/finding.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace harness::tlv {

// X.690 §8.1.2.2: bits 8-7 of the first tag byte.
enum class TagClass { Universal = 0, Application = 1, ContextSpecific = 2, Private = 3 };
const char* to_string(TagClass tag_class);

// Tags are kept as their encoded bytes read big-endian: 0x30, 0x5F20, 0x7F49, 0xBF0C.
struct Header {
    std::uint32_t tag = 0;
    TagClass tag_class = TagClass::Universal;
    bool constructed = false;
    std::size_t tag_length = 0;
    std::size_t header_length = 0;     // tag + length bytes
    std::optional<std::size_t> length; // content length; nullopt = indefinite (BER only)
};

enum class HeaderStatus { Ok, NeedMore, Malformed };

struct HeaderResult {
    HeaderStatus status = HeaderStatus::NeedMore;
    Header header;     // valid when status is Ok
    Findings findings; // Malformed: the reason (error); Ok: non-minimal tag/length warnings
};

// Reads one tag + length header from the start of bytes (tags up to 4 bytes, lengths up to 84).
HeaderResult read_header(ByteView bytes);

// Full encoded length (header + content) of the DER object starting at first_bytes: a client that
// read "30 82 05 1A" from a certificate EF learns it must read 1310 + 4 bytes. nullopt when more
// bytes are needed, the length is indefinite, or the header is malformed.
std::optional<std::size_t> total_der_length(ByteView first_bytes);

struct Node {
    std::uint32_t tag = 0;
    TagClass tag_class = TagClass::Universal;
    bool constructed = false;
    std::size_t offset = 0;        // of the first tag byte, within the parsed input
    std::size_t header_length = 0; // tag + length bytes
    ByteView value;                // content bytes (only those present when truncated)
    ByteView encoded;              // header + content (+ end-of-contents when indefinite)
    bool indefinite = false;
    bool truncated = false;
    std::vector<Node> children; // parsed content of constructed nodes

    // First direct child with this tag, or nullptr.
    const Node* child(std::uint32_t child_tag) const;
};

struct Options {
    std::size_t max_depth = 32;
    bool parse_children = true; // descend into constructed definite-length nodes
    bool allow_padding = false; // ISO 7816-4 §5.2.2: 00 / FF bytes between objects are padding
};

struct ParseResult {
    std::vector<Node> nodes;
    Findings findings; // codes: truncated, malformed_tag, malformed_length, non_minimal_tag,
                       // non_minimal_length, indefinite_length, too_deep, trailing_bytes,
                       // unexpected_end_of_contents, empty
    bool ok() const;   // no finding of severity Error
};

// Parses a sequence of top-level data objects (e.g. a READ BINARY answer holding several).
ParseResult parse(ByteView bytes, const Options& options = {});
// Parses exactly one data object (a certificate): bytes after it are a trailing_bytes finding.
ParseResult parse_one(ByteView bytes, const Options& options = {});

// Follows a tag path from the top level: find(nodes, {0x30, 0x30, 0xA0}); nullptr if absent.
const Node* find(std::span<const Node> nodes, std::initializer_list<std::uint32_t> path);

// "30", "5F20", "7F49".
std::string format_tag(std::uint32_t tag);

// DER encoding helpers (minimal lengths), for emulated cards and tests.
Bytes encode_length(std::size_t length);
Bytes encode(std::uint32_t tag, ByteView value);

} // namespace harness::tlv
