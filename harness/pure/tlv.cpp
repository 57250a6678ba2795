#include "pure/tlv.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <utility>

namespace harness::tlv {
namespace {

constexpr std::size_t max_tag_length = 4;
constexpr std::size_t max_length_bytes = 4;

Finding finding(Severity severity, std::string code, std::string message, std::string message_ja) {
    return Finding{severity, std::move(code), std::move(message), std::move(message_ja)};
}

HeaderResult malformed(std::string code, std::string message, std::string message_ja) {
    HeaderResult result;
    result.status = HeaderStatus::Malformed;
    result.findings.push_back(
        finding(Severity::Error, std::move(code), std::move(message), std::move(message_ja)));
    return result;
}

// Prefixes the offset to findings raised while reading a header.
void add_at(Findings& out, std::size_t offset, const Findings& found) {
    for (const Finding& f : found)
        out.push_back(Finding{f.severity, f.code,
                              fmt::format("at offset {}: {}", offset, f.message),
                              fmt::format("オフセット{}：{}", offset, f.message_ja)});
}

class Parser {
public:
    Parser(ByteView all, const Options& options, Findings& findings)
        : all_(all), options_(options), findings_(findings) {}

    // Parses data objects in [begin, end). With until_eoc, stops after an end-of-contents
    // (00 00) and sets found_eoc. Returns where parsing stopped; ok = false on an error that
    // leaves the rest of the range unreadable.
    std::size_t list(std::size_t begin, std::size_t end, std::size_t depth, bool until_eoc,
                     std::vector<Node>& out, bool& ok, bool& found_eoc) {
        std::size_t pos = begin;
        while (pos < end) {
            if (until_eoc && end - pos >= 2 && all_[pos] == 0 && all_[pos + 1] == 0) {
                found_eoc = true;
                return pos + 2;
            }
            if (options_.allow_padding && !until_eoc && (all_[pos] == 0x00 || all_[pos] == 0xFF)) {
                ++pos;
                continue;
            }
            pos = node(pos, end, depth, out, ok);
            if (!ok)
                return pos;
        }
        return pos;
    }

    std::size_t node(std::size_t pos, std::size_t end, std::size_t depth, std::vector<Node>& out,
                     bool& ok) {
        const HeaderResult h = read_header(all_.subspan(pos, end - pos));
        if (h.status == HeaderStatus::NeedMore) {
            findings_.push_back(finding(
                Severity::Error, "truncated",
                fmt::format("at offset {}: TLV header cut short ({} byte(s) left)", pos, end - pos),
                fmt::format("オフセット{}：TLVヘッダーが途中で切れている（残り{}バイト）", pos,
                            end - pos)));
            ok = false;
            return end;
        }
        add_at(findings_, pos, h.findings);
        if (h.status == HeaderStatus::Malformed) {
            ok = false;
            return end;
        }
        Node n;
        n.tag = h.header.tag;
        n.tag_class = h.header.tag_class;
        n.constructed = h.header.constructed;
        n.offset = pos;
        n.header_length = h.header.header_length;
        const std::size_t content = pos + n.header_length;
        if (h.header.length) {
            const std::size_t length = *h.header.length;
            if (n.tag == 0x00 && length == 0)
                findings_.push_back(finding(
                    Severity::Warning, "unexpected_end_of_contents",
                    fmt::format("at offset {}: end-of-contents (00 00) outside an "
                                "indefinite-length object",
                                pos),
                    fmt::format("オフセット{}：不定長オブジェクトの外に終端（00 00）がある", pos)));
            if (length > end - content) {
                n.truncated = true;
                n.value = all_.subspan(content, end - content);
                n.encoded = all_.subspan(pos, end - pos);
                findings_.push_back(finding(
                    Severity::Error, "truncated",
                    fmt::format("at offset {}: tag {} announces {} content bytes, only {} present",
                                pos, format_tag(n.tag), length, end - content),
                    fmt::format("オフセット{}：タグ{}は{}バイトの値を示すが、{}バイトしかない", pos,
                                format_tag(n.tag), length, end - content)));
                out.push_back(std::move(n));
                ok = false;
                return end;
            }
            n.value = all_.subspan(content, length);
            n.encoded = all_.subspan(pos, n.header_length + length);
            if (n.constructed && options_.parse_children) {
                if (depth + 1 > options_.max_depth) {
                    too_deep(pos);
                } else {
                    // A broken child spoils only its parent's content, not the siblings after it.
                    bool child_ok = true;
                    bool eoc = false;
                    list(content, content + length, depth + 1, false, n.children, child_ok, eoc);
                }
            }
            out.push_back(std::move(n));
            return content + length;
        }

        // X.690 §8.1.3.6: indefinite form; X.690 §10.1: DER forbids it.
        n.indefinite = true;
        findings_.push_back(finding(
            Severity::Warning, "indefinite_length",
            fmt::format("at offset {}: indefinite length (BER only, not allowed in DER)", pos),
            fmt::format("オフセット{}：不定長（BERのみ、DERでは不可）", pos)));
        if (depth + 1 > options_.max_depth) {
            too_deep(pos);
            ok = false;
            return end;
        }
        bool child_ok = true;
        bool eoc = false;
        const std::size_t after = list(content, end, depth + 1, true, n.children, child_ok, eoc);
        if (!child_ok || !eoc) {
            if (child_ok)
                findings_.push_back(finding(
                    Severity::Error, "truncated",
                    fmt::format("at offset {}: indefinite-length tag {} has no end-of-contents",
                                pos, format_tag(n.tag)),
                    fmt::format("オフセット{}：不定長のタグ{}に終端（00 00）がない", pos,
                                format_tag(n.tag))));
            n.truncated = true;
            n.value = all_.subspan(content, end - content);
            n.encoded = all_.subspan(pos, end - pos);
            out.push_back(std::move(n));
            ok = false;
            return end;
        }
        n.value = all_.subspan(content, after - 2 - content);
        n.encoded = all_.subspan(pos, after - pos);
        out.push_back(std::move(n));
        return after;
    }

private:
    void too_deep(std::size_t pos) {
        findings_.push_back(
            finding(Severity::Warning, "too_deep",
                    fmt::format("at offset {}: nesting deeper than {} levels not parsed", pos,
                                options_.max_depth),
                    fmt::format("オフセット{}：{}階層より深い入れ子は解析しない", pos,
                                options_.max_depth)));
    }

    ByteView all_;
    const Options& options_;
    Findings& findings_;
};

} // namespace

const char* to_string(TagClass tag_class) {
    switch (tag_class) {
    case TagClass::Universal:
        return "universal";
    case TagClass::Application:
        return "application";
    case TagClass::ContextSpecific:
        return "context_specific";
    case TagClass::Private:
        return "private";
    }
    return "universal";
}

HeaderResult read_header(ByteView bytes) {
    HeaderResult result;
    if (bytes.empty())
        return result; // NeedMore
    Header& h = result.header;
    const std::uint8_t first = bytes[0];
    h.tag_class = static_cast<TagClass>(first >> 6);
    h.constructed = (first & 0x20) != 0;
    h.tag = first;
    std::size_t pos = 1;
    // X.690 §8.1.2.4: low 5 bits all set -> tag number continues in following bytes (b8 = more).
    if ((first & 0x1F) == 0x1F) {
        std::uint32_t number = 0;
        while (true) {
            if (pos >= bytes.size())
                return result; // NeedMore
            if (pos >= max_tag_length)
                return malformed("malformed_tag", "tag longer than 4 bytes",
                                 "タグが4バイトを超える");
            const std::uint8_t b = bytes[pos];
            if (pos == 1 && b == 0x80)
                result.findings.push_back(
                    finding(Severity::Warning, "non_minimal_tag",
                            "tag number has a leading zero group (X.690 §8.1.2.4.2 c)",
                            "タグ番号の先頭に不要な0のグループがある"));
            h.tag = (h.tag << 8) | b;
            number = (number << 7) | (b & 0x7Fu);
            ++pos;
            if ((b & 0x80) == 0)
                break;
        }
        // Info only: ISO 7816 / EMV data uses such tags (BF0C, 9F02) although DER forbids them.
        if (number < 31)
            result.findings.push_back(finding(
                Severity::Info, "non_minimal_tag",
                fmt::format("tag number {} fits the one-byte form but uses the long form", number),
                fmt::format("タグ番号{}は1バイト形式で足りるのに長形式を使っている", number)));
    }
    h.tag_length = pos;
    if (pos >= bytes.size())
        return result; // NeedMore
    const std::uint8_t l0 = bytes[pos++];
    if (l0 < 0x80) {
        h.length = l0;
    } else if (l0 == 0x80) {
        if (!h.constructed)
            return malformed("malformed_length",
                             "indefinite length on a primitive object (X.690 §8.1.3.2 a)",
                             "プリミティブのオブジェクトに不定長が使われている");
        h.length = std::nullopt;
    } else if (l0 == 0xFF) {
        return malformed("malformed_length", "length byte FF is reserved (X.690 §8.1.3.5 c)",
                         "長さバイトFFは予約されている");
    } else {
        const std::size_t count = l0 & 0x7Fu;
        if (count > max_length_bytes)
            return malformed(
                "malformed_length",
                fmt::format("length uses {} bytes; at most 4 (84 form) supported", count),
                fmt::format("長さが{}バイトある（対応は84形式の4バイトまで）", count));
        if (bytes.size() < pos + count)
            return result; // NeedMore
        std::size_t length = 0;
        for (std::size_t i = 0; i < count; ++i)
            length = (length << 8) | bytes[pos + i];
        // X.690 §10.1: DER uses the fewest length octets.
        if (bytes[pos] == 0 || (count == 1 && length < 0x80))
            result.findings.push_back(finding(
                Severity::Warning, "non_minimal_length",
                fmt::format("length {} encoded in {} bytes (long form {:02X}); DER wants the "
                            "shortest form",
                            length, count, l0),
                fmt::format("長さ{}を{}バイト（{:02X}形式）で表している（DERでは最短形式）", length,
                            count, l0)));
        h.length = length;
        pos += count;
    }
    h.header_length = pos;
    result.status = HeaderStatus::Ok;
    return result;
}

std::optional<std::size_t> total_der_length(ByteView first_bytes) {
    const HeaderResult h = read_header(first_bytes);
    if (h.status != HeaderStatus::Ok || !h.header.length)
        return std::nullopt;
    return h.header.header_length + *h.header.length;
}

const Node* Node::child(std::uint32_t child_tag) const {
    for (const Node& c : children)
        if (c.tag == child_tag)
            return &c;
    return nullptr;
}

bool ParseResult::ok() const {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.severity == Severity::Error; });
}

ParseResult parse(ByteView bytes, const Options& options) {
    ParseResult result;
    Parser parser(bytes, options, result.findings);
    bool ok = true;
    bool eoc = false;
    parser.list(0, bytes.size(), 0, false, result.nodes, ok, eoc);
    return result;
}

ParseResult parse_one(ByteView bytes, const Options& options) {
    ParseResult result;
    if (bytes.empty()) {
        result.findings.push_back(finding(Severity::Error, "empty",
                                          "expected a data object, found no bytes",
                                          "データオブジェクトがない（0バイト）"));
        return result;
    }
    Parser parser(bytes, options, result.findings);
    bool ok = true;
    const std::size_t end = parser.node(0, bytes.size(), 0, result.nodes, ok);
    if (ok && end < bytes.size())
        result.findings.push_back(
            finding(Severity::Warning, "trailing_bytes",
                    fmt::format("{} byte(s) follow the data object (which ends at offset {})",
                                bytes.size() - end, end),
                    fmt::format("データオブジェクト（オフセット{}で終わる）の後に{}バイトある", end,
                                bytes.size() - end)));
    return result;
}

const Node* find(std::span<const Node> nodes, std::initializer_list<std::uint32_t> path) {
    const Node* current = nullptr;
    std::span<const Node> level = nodes;
    for (const std::uint32_t tag : path) {
        current = nullptr;
        for (const Node& n : level) {
            if (n.tag == tag) {
                current = &n;
                break;
            }
        }
        if (!current)
            return nullptr;
        level = current->children;
    }
    return current;
}

std::string format_tag(std::uint32_t tag) {
    if (tag <= 0xFF)
        return fmt::format("{:02X}", tag);
    if (tag <= 0xFFFF)
        return fmt::format("{:04X}", tag);
    if (tag <= 0xFFFFFF)
        return fmt::format("{:06X}", tag);
    return fmt::format("{:08X}", tag);
}

Bytes encode_length(std::size_t length) {
    if (length < 0x80)
        return {static_cast<std::uint8_t>(length)};
    Bytes digits;
    for (std::size_t v = length; v > 0; v >>= 8)
        digits.insert(digits.begin(), static_cast<std::uint8_t>(v & 0xFF));
    Bytes out{static_cast<std::uint8_t>(0x80 | digits.size())};
    out.insert(out.end(), digits.begin(), digits.end());
    return out;
}

Bytes encode(std::uint32_t tag, ByteView value) {
    Bytes out;
    bool started = false;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const auto b = static_cast<std::uint8_t>((tag >> shift) & 0xFF);
        if (b != 0 || started || shift == 0) {
            out.push_back(b);
            started = true;
        }
    }
    const Bytes length = encode_length(value.size());
    out.insert(out.end(), length.begin(), length.end());
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

} // namespace harness::tlv
