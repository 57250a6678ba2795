#include "pure/tlv.hpp"
#include "services/identify/identify.hpp"

#include <fmt/core.h>

namespace harness::identify {

namespace {

constexpr std::uint32_t sequence = 0x30;
constexpr std::uint32_t integer = 0x02;
constexpr std::uint32_t explicit_version = 0xA0;
constexpr std::size_t max_header = 6; // one tag byte + 84 LL LL LL LL

} // namespace

// RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
// serialNumber INTEGER, signature AlgorithmIdentifier, issuer Name, validity, subject, … } … }.
CertWalk walk_certificate(ByteView prefix) {
    CertWalk walk;
    std::size_t pos = 0;
    // Header at pos (nullopt: need more bytes or malformed, already noted in walk).
    const auto header_at = [&](std::uint32_t expected,
                               const char* what) -> std::optional<tlv::Header> {
        if (pos >= prefix.size()) {
            walk.need = pos + max_header;
            return std::nullopt;
        }
        const tlv::HeaderResult r = tlv::read_header(prefix.subspan(pos));
        if (r.status == tlv::HeaderStatus::NeedMore) {
            walk.need = pos + max_header;
            return std::nullopt;
        }
        if (r.status == tlv::HeaderStatus::Malformed || !r.header.length) {
            walk.malformed =
                fmt::format("{} at offset {}: malformed or indefinite header", what, pos);
            return std::nullopt;
        }
        if (r.header.tag != expected) {
            walk.malformed = fmt::format("{} at offset {}: expected tag {}, found {}", what, pos,
                                         tlv::format_tag(expected), tlv::format_tag(r.header.tag));
            return std::nullopt;
        }
        return r.header;
    };

    const auto certificate = header_at(sequence, "Certificate");
    if (!certificate)
        return walk;
    pos += certificate->header_length;
    const auto tbs = header_at(sequence, "TBSCertificate");
    if (!tbs)
        return walk;
    pos += tbs->header_length;
    if (pos >= prefix.size()) {
        walk.need = pos + max_header;
        return walk;
    }
    if (prefix[pos] == explicit_version) {
        const auto version = header_at(explicit_version, "version");
        if (!version)
            return walk;
        pos += version->header_length + *version->length;
    }
    const auto serial = header_at(integer, "serialNumber");
    if (!serial)
        return walk;
    if (*serial->length == 0 || *serial->length > 64) {
        walk.malformed = fmt::format("serialNumber of {} bytes", *serial->length);
        return walk;
    }
    const std::size_t serial_offset = pos;
    const std::size_t serial_length = serial->header_length + *serial->length;
    pos += serial_length;
    const auto signature = header_at(sequence, "signature");
    if (!signature)
        return walk;
    pos += signature->header_length + *signature->length;
    const auto issuer = header_at(sequence, "issuer");
    if (!issuer)
        return walk;
    const std::size_t issuer_length = issuer->header_length + *issuer->length;
    if (prefix.size() < pos + issuer_length) {
        walk.need = pos + issuer_length;
        return walk;
    }
    walk.found = IssuerSerial{serial_offset, serial_length, pos, issuer_length};
    return walk;
}

} // namespace harness::identify
