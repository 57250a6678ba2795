#include "pure/bytes.hpp"
#include "pure/tlv.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace harness;

namespace {

Bytes h(const char* text) {
    return hex::parse_or_throw(text);
}

Bytes filler(std::size_t n, std::uint8_t seed = 1) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>((i * 13 + seed) & 0xFF);
    return out;
}

Bytes cat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (ByteView p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes der(std::uint32_t tag, ByteView value) {
    return tlv::encode(tag, value);
}

bool has_code(const Findings& findings, const std::string& code) {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const Finding& f) { return f.code == code; });
}

bool within(ByteView part, ByteView whole) {
    if (part.empty())
        return true;
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_views(const std::vector<tlv::Node>& nodes, ByteView whole) {
    for (const tlv::Node& n : nodes) {
        BOOST_TEST(within(n.value, whole));
        BOOST_TEST(within(n.encoded, whole));
        BOOST_TEST(n.offset < whole.size());
        check_views(n.children, whole);
    }
}

// An X.509 v3 certificate shaped like the JPKI CA certificates (1301-1319 bytes): SEQUENCE {
// tbsCertificate, signatureAlgorithm, signatureValue (RSA-2048) }.
Bytes certificate() {
    const Bytes sha256_rsa =
        der(0x30, cat({der(0x06, h("2A 86 48 86 F7 0D 01 01 0B")), h("05 00")}));
    const Bytes rsa = der(0x30, cat({der(0x06, h("2A 86 48 86 F7 0D 01 01 01")), h("05 00")}));
    const Bytes name = der(
        0x30, cat({der(0x31, der(0x30, cat({der(0x06, h("55 04 06")), der(0x13, bytes_of("JP"))}))),
                   der(0x31, der(0x30, cat({der(0x06, h("55 04 0A")),
                                            der(0x0C, bytes_of("Test Authority"))})))}));
    const Bytes validity = der(
        0x30, cat({der(0x17, bytes_of("250101000000Z")), der(0x17, bytes_of("300101000000Z"))}));
    const Bytes modulus = cat({h("00"), filler(256, 7)});
    const Bytes public_key =
        der(0x03, cat({h("00"), der(0x30, cat({der(0x02, modulus), der(0x02, h("01 00 01"))}))}));
    const Bytes spki = der(0x30, cat({rsa, public_key}));
    const Bytes extensions = der(
        0xA3,
        der(0x30, cat({der(0x30, cat({der(0x06, h("55 1D 0F")), der(0x01, h("FF")),
                                      der(0x04, h("03 02 01 06"))})),
                       der(0x30, cat({der(0x06, h("55 1D 20")), der(0x04, filler(560, 3))}))})));
    const Bytes tbs = der(0x30, cat({der(0xA0, der(0x02, h("02"))), der(0x02, filler(8, 9)),
                                     sha256_rsa, name, validity, name, spki, extensions}));
    return der(0x30, cat({tbs, sha256_rsa, der(0x03, cat({h("00"), filler(256, 5)}))}));
}

} // namespace

BOOST_AUTO_TEST_CASE(a_certificate_header_gives_the_full_length) {
    const Bytes cert = certificate();
    BOOST_TEST_REQUIRE(cert.size() > 1300U);
    BOOST_TEST_REQUIRE(cert.size() < 1320U);
    BOOST_TEST(cert[0] == 0x30);
    BOOST_TEST(cert[1] == 0x82);
    // OpenSC reads 4 bytes, jpki/myna 7: both learn the whole length.
    for (std::size_t n : {4U, 5U, 7U, 32U})
        BOOST_TEST(tlv::total_der_length(ByteView(cert).first(n)).value() == cert.size(), n);
    for (std::size_t n : {0U, 1U, 2U, 3U})
        BOOST_TEST(!tlv::total_der_length(ByteView(cert).first(n)).has_value(), n);
}

BOOST_AUTO_TEST_CASE(a_certificate_parses_into_its_structure) {
    const Bytes cert = certificate();
    const tlv::ParseResult r = tlv::parse_one(cert);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.findings.empty());
    BOOST_TEST_REQUIRE(r.nodes.size() == 1U);
    const tlv::Node& top = r.nodes[0];
    BOOST_TEST(top.constructed);
    BOOST_TEST(top.header_length == 4U);
    BOOST_TEST(top.encoded.size() == cert.size());
    BOOST_TEST(top.children.size() == 3U);
    const tlv::Node& tbs = top.children[0];
    BOOST_TEST(tbs.offset == 4U);
    BOOST_TEST(tbs.children.size() == 8U);
    const tlv::Node* version = tlv::find(r.nodes, {0x30, 0x30, 0xA0, 0x02});
    BOOST_TEST_REQUIRE(version != nullptr);
    BOOST_TEST((Bytes(version->value.begin(), version->value.end()) == h("02")));
    const tlv::Node* explicit_version = tlv::find(r.nodes, {0x30, 0x30, 0xA0});
    BOOST_TEST_REQUIRE(explicit_version != nullptr);
    BOOST_TEST((explicit_version->tag_class == tlv::TagClass::ContextSpecific));
    const tlv::Node* signature = tlv::find(r.nodes, {0x30, 0x03});
    BOOST_TEST_REQUIRE(signature != nullptr);
    BOOST_TEST(signature->value.size() == 257U);
    BOOST_TEST(signature->header_length == 4U);
    BOOST_TEST(signature->offset + signature->encoded.size() == cert.size());
    const tlv::Node* extensions = tlv::find(r.nodes, {0x30, 0x30, 0xA3, 0x30});
    BOOST_TEST_REQUIRE(extensions != nullptr);
    BOOST_TEST(extensions->children.size() == 2U);
    BOOST_TEST(extensions->children[1].child(0x04)->value.size() == 560U);
    BOOST_TEST(tlv::find(r.nodes, {0x30, 0x30, 0xA1}) == nullptr);
    BOOST_TEST(tlv::find(r.nodes, {0x31}) == nullptr);
    BOOST_TEST(top.child(0x04) == nullptr);
    check_views(r.nodes, cert);
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_certificate_is_reported_truncated) {
    const Bytes cert = certificate();
    for (std::size_t n = 0; n < cert.size(); ++n) {
        const ByteView prefix = ByteView(cert).first(n);
        const tlv::ParseResult r = tlv::parse_one(prefix);
        if (r.ok())
            BOOST_ERROR("prefix of " << n << " bytes parsed as complete");
        if (!has_code(r.findings, n == 0 ? "empty" : "truncated"))
            BOOST_ERROR("prefix of " << n << " bytes lacks the truncated finding");
        check_views(r.nodes, prefix);
        const auto total = tlv::total_der_length(prefix);
        if ((n >= 4) != total.has_value() || (total && *total != cert.size()))
            BOOST_ERROR("total_der_length wrong for a prefix of " << n);
    }
    const tlv::ParseResult partial = tlv::parse_one(ByteView(cert).first(1000));
    BOOST_TEST_REQUIRE(partial.nodes.size() == 1U);
    BOOST_TEST(partial.nodes[0].truncated);
    BOOST_TEST(partial.nodes[0].value.size() == 996U);
}

BOOST_AUTO_TEST_CASE(bytes_after_the_object_are_trailing_or_padding) {
    const Bytes cert = certificate();
    const Bytes padded = cat({cert, h("00 00 FF")});
    const tlv::ParseResult one = tlv::parse_one(padded);
    BOOST_TEST(one.ok());
    BOOST_TEST(has_code(one.findings, "trailing_bytes"));
    BOOST_TEST(one.nodes.size() == 1U);
    tlv::Options options;
    options.allow_padding = true;
    const tlv::ParseResult seq = tlv::parse(padded, options);
    BOOST_TEST(seq.findings.empty());
    BOOST_TEST(seq.nodes.size() == 1U);
    const tlv::ParseResult trailing = tlv::parse_one(h("02 01 05 FF"));
    BOOST_TEST(has_code(trailing.findings, "trailing_bytes"));
    BOOST_TEST(trailing.nodes.size() == 1U);
}

BOOST_AUTO_TEST_CASE(multi_byte_tags) {
    struct Row {
        const char* hex;
        std::uint32_t tag;
        tlv::TagClass tag_class;
        bool constructed;
        std::size_t header_length;
        std::size_t value_length;
    };
    const Row rows[] = {
        {"5F 20 02 41 42", 0x5F20, tlv::TagClass::Application, false, 3, 2},
        {"7F 49 03 86 01 04", 0x7F49, tlv::TagClass::Application, true, 3, 3},
        {"BF 2C 00", 0xBF2C, tlv::TagClass::ContextSpecific, true, 3, 0},
        {"9F 81 01 01 FF", 0x9F8101, tlv::TagClass::ContextSpecific, false, 4, 1},
        {"DF 81 82 03 00", 0xDF818203, tlv::TagClass::Private, false, 5, 0},
        {"1F 1F 00", 0x1F1F, tlv::TagClass::Universal, false, 3, 0},
        {"04 01 AA", 0x04, tlv::TagClass::Universal, false, 2, 1},
        {"E1 00", 0xE1, tlv::TagClass::Private, true, 2, 0},
    };
    for (const Row& row : rows) {
        const Bytes bytes = h(row.hex);
        const tlv::ParseResult r = tlv::parse_one(bytes);
        BOOST_TEST(r.findings.empty(), row.hex);
        BOOST_TEST_REQUIRE(r.nodes.size() == 1U, row.hex);
        const tlv::Node& n = r.nodes[0];
        BOOST_TEST(n.tag == row.tag, row.hex);
        BOOST_TEST((n.tag_class == row.tag_class), row.hex);
        BOOST_TEST(n.constructed == row.constructed, row.hex);
        BOOST_TEST(n.header_length == row.header_length, row.hex);
        BOOST_TEST(n.value.size() == row.value_length, row.hex);
        BOOST_TEST(tlv::encode(n.tag, n.value) == bytes, row.hex);
    }
    const Bytes fci_bytes = h("7F 49 03 86 01 04");
    const tlv::ParseResult fci = tlv::parse_one(fci_bytes);
    BOOST_TEST_REQUIRE(fci.nodes[0].child(0x86) != nullptr);
    BOOST_TEST(fci.nodes[0].child(0x86)->value[0] == 0x04);
    // ISO 7816 / EMV tags below 31 in the long form (BF0C FCI template, 9F02): info, not an error.
    for (const char* text : {"BF 0C 02 80 00", "9F 02 01 00"}) {
        const Bytes bytes = h(text);
        const tlv::ParseResult r = tlv::parse_one(bytes);
        BOOST_TEST(r.ok(), text);
        BOOST_TEST_REQUIRE(r.findings.size() == 1U, text);
        BOOST_TEST(r.findings[0].code == "non_minimal_tag", text);
        BOOST_TEST((r.findings[0].severity == Severity::Info), text);
    }
}

BOOST_AUTO_TEST_CASE(definite_lengths_short_and_long) {
    struct Row {
        const char* length_hex;
        std::size_t length;
        bool non_minimal;
    };
    const Row rows[] = {
        {"00", 0, false},
        {"01", 1, false},
        {"7F", 127, false},
        {"81 80", 128, false},
        {"81 FF", 255, false},
        {"82 01 00", 256, false},
        {"82 FF FF", 65535, false},
        {"83 01 00 00", 65536, false},
        {"84 01 00 00 00", 16777216, false},
        {"81 05", 5, true},
        {"81 7F", 127, true},
        {"82 00 80", 128, true},
        {"82 00 05", 5, true},
        {"84 00 01 00 00", 65536, true},
    };
    for (const Row& row : rows) {
        const Bytes header = cat({h("04"), h(row.length_hex)});
        const Bytes bytes = cat({header, filler(row.length)});
        const tlv::ParseResult r = tlv::parse_one(bytes);
        BOOST_TEST(r.ok(), row.length_hex);
        BOOST_TEST(has_code(r.findings, "non_minimal_length") == row.non_minimal, row.length_hex);
        BOOST_TEST(r.findings.size() == (row.non_minimal ? 1U : 0U), row.length_hex);
        BOOST_TEST_REQUIRE(r.nodes.size() == 1U, row.length_hex);
        BOOST_TEST(r.nodes[0].value.size() == row.length, row.length_hex);
        BOOST_TEST(r.nodes[0].header_length == header.size(), row.length_hex);
        BOOST_TEST(tlv::total_der_length(header).value() == bytes.size(), row.length_hex);
        const tlv::HeaderResult hr = tlv::read_header(header);
        BOOST_TEST((hr.status == tlv::HeaderStatus::Ok), row.length_hex);
        BOOST_TEST(hr.header.length.value() == row.length, row.length_hex);
    }
}

BOOST_AUTO_TEST_CASE(malformed_and_incomplete_headers) {
    struct Row {
        const char* hex;
        tlv::HeaderStatus status;
        const char* code; // finding of read_header ("" when none)
    };
    const Row rows[] = {
        {"", tlv::HeaderStatus::NeedMore, ""},
        {"30", tlv::HeaderStatus::NeedMore, ""},
        {"5F", tlv::HeaderStatus::NeedMore, ""},
        {"5F 81", tlv::HeaderStatus::NeedMore, ""},
        {"5F 20", tlv::HeaderStatus::NeedMore, ""},
        {"30 82", tlv::HeaderStatus::NeedMore, ""},
        {"30 82 05", tlv::HeaderStatus::NeedMore, ""},
        {"30 84 00 00 01", tlv::HeaderStatus::NeedMore, ""},
        {"DF 81 82 83 04 00", tlv::HeaderStatus::Malformed, "malformed_tag"},
        {"04 85 00 00 00 00 01", tlv::HeaderStatus::Malformed, "malformed_length"},
        {"04 FF", tlv::HeaderStatus::Malformed, "malformed_length"},
        {"04 80", tlv::HeaderStatus::Malformed, "malformed_length"},
        {"5F 1E 00", tlv::HeaderStatus::Ok, "non_minimal_tag"},
        {"5F 80 21 00", tlv::HeaderStatus::Ok, "non_minimal_tag"},
        {"30 80", tlv::HeaderStatus::Ok, ""},
    };
    for (const Row& row : rows) {
        const tlv::HeaderResult r = tlv::read_header(h(row.hex));
        BOOST_TEST((r.status == row.status), row.hex);
        if (*row.code)
            BOOST_TEST(has_code(r.findings, row.code), row.hex);
        else
            BOOST_TEST(r.findings.empty(), row.hex);
        if (r.status != tlv::HeaderStatus::Ok)
            BOOST_TEST(!tlv::total_der_length(h(row.hex)).has_value(), row.hex);
    }
    // Malformed headers inside parse() become error findings, with the offset.
    const tlv::ParseResult r = tlv::parse(h("02 01 05 04 FF"));
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.nodes.size() == 1U);
    BOOST_TEST_REQUIRE(has_code(r.findings, "malformed_length"));
    BOOST_TEST(r.findings[0].message.find("at offset 3") != std::string::npos,
               r.findings[0].message);
    BOOST_TEST(!r.findings[0].message_ja.empty());
}

BOOST_AUTO_TEST_CASE(truncated_objects_are_findings_not_failures) {
    struct Row {
        const char* hex;
        std::size_t nodes;
    };
    for (auto [text, nodes] : {Row{"30 05 02 01", 1}, Row{"5F", 0}, Row{"30 82 01", 0},
                               Row{"04 82 01 00 AA BB", 1}, Row{"02 01 05 04 03 AA", 2}}) {
        const tlv::ParseResult r = tlv::parse(h(text));
        BOOST_TEST(!r.ok(), text);
        BOOST_TEST(has_code(r.findings, "truncated"), text);
        BOOST_TEST(r.nodes.size() == nodes, text);
        if (!r.nodes.empty())
            BOOST_TEST(r.nodes.back().truncated, text);
    }
}

BOOST_AUTO_TEST_CASE(indefinite_lengths_are_flagged_and_still_read) {
    const Bytes bytes = h("30 80 02 01 05 04 00 00 00");
    const tlv::ParseResult r = tlv::parse_one(bytes);
    BOOST_TEST(r.ok());
    BOOST_TEST(has_code(r.findings, "indefinite_length"));
    BOOST_TEST_REQUIRE(r.nodes.size() == 1U);
    const tlv::Node& n = r.nodes[0];
    BOOST_TEST(n.indefinite);
    BOOST_TEST(n.children.size() == 2U);
    BOOST_TEST((Bytes(n.value.begin(), n.value.end()) == h("02 01 05 04 00")));
    BOOST_TEST(n.encoded.size() == bytes.size());
    BOOST_TEST(!tlv::total_der_length(bytes).has_value());

    const tlv::ParseResult nested = tlv::parse_one(h("30 80 30 80 02 01 01 00 00 04 00 00 00"));
    BOOST_TEST(nested.ok());
    BOOST_TEST_REQUIRE(nested.nodes.size() == 1U);
    BOOST_TEST(nested.nodes[0].children.size() == 2U);
    BOOST_TEST(nested.nodes[0].children[0].indefinite);
    BOOST_TEST(tlv::find(nested.nodes, {0x30, 0x30, 0x02}) != nullptr);

    for (const char* text : {"30 80 02 01 05", "30 80 02 01 05 00", "30 80 30 80 00 00"}) {
        const tlv::ParseResult open = tlv::parse_one(h(text));
        BOOST_TEST(!open.ok(), text);
        BOOST_TEST(has_code(open.findings, "truncated"), text);
        BOOST_TEST_REQUIRE(open.nodes.size() == 1U, text);
        BOOST_TEST(open.nodes[0].truncated, text);
    }
}

BOOST_AUTO_TEST_CASE(sequences_padding_and_stray_end_of_contents) {
    const tlv::ParseResult two = tlv::parse(h("02 01 05 04 02 AA BB"));
    BOOST_TEST(two.findings.empty());
    BOOST_TEST_REQUIRE(two.nodes.size() == 2U);
    BOOST_TEST(two.nodes[1].offset == 3U);
    BOOST_TEST(tlv::parse(Bytes{}).nodes.empty());
    BOOST_TEST(tlv::parse(Bytes{}).findings.empty());
    BOOST_TEST(has_code(tlv::parse_one(Bytes{}).findings, "empty"));

    tlv::Options padding;
    padding.allow_padding = true;
    const tlv::ParseResult padded = tlv::parse(h("00 02 01 05 FF FF 04 00 00"), padding);
    BOOST_TEST(padded.findings.empty());
    BOOST_TEST(padded.nodes.size() == 2U);

    const tlv::ParseResult stray = tlv::parse(h("00 00"));
    BOOST_TEST(has_code(stray.findings, "unexpected_end_of_contents"));
    BOOST_TEST(stray.ok());
}

BOOST_AUTO_TEST_CASE(a_broken_child_spoils_only_its_parent) {
    // SEQUENCE { INTEGER claiming 5 bytes, 1 present } then OCTET STRING {}.
    const tlv::ParseResult r = tlv::parse(h("30 03 02 05 01 04 00"));
    BOOST_TEST(has_code(r.findings, "truncated"));
    BOOST_TEST_REQUIRE(r.nodes.size() == 2U);
    BOOST_TEST(r.nodes[0].children.size() == 1U);
    BOOST_TEST(r.nodes[0].children[0].truncated);
    BOOST_TEST(!r.nodes[0].truncated);
    BOOST_TEST(r.nodes[1].tag == 0x04U);
}

BOOST_AUTO_TEST_CASE(nesting_depth_is_limited_and_children_optional) {
    Bytes nested = h("05 00");
    for (int i = 0; i < 40; ++i)
        nested = der(0x30, nested);
    const tlv::ParseResult deep = tlv::parse_one(nested);
    BOOST_TEST(has_code(deep.findings, "too_deep"));
    BOOST_TEST(deep.ok());
    tlv::Options wide;
    wide.max_depth = 64;
    BOOST_TEST(tlv::parse_one(nested, wide).findings.empty());

    tlv::Options flat;
    flat.parse_children = false;
    const tlv::ParseResult shallow = tlv::parse_one(nested, flat);
    BOOST_TEST(shallow.findings.empty());
    BOOST_TEST_REQUIRE(shallow.nodes.size() == 1U);
    BOOST_TEST(shallow.nodes[0].children.empty());
    BOOST_TEST(shallow.nodes[0].value.size() == nested.size() - 2);
}

BOOST_AUTO_TEST_CASE(total_der_length_from_first_bytes) {
    struct Row {
        const char* hex;
        std::optional<std::size_t> total;
    };
    const Row rows[] = {
        {"30 82 05 1A", 1310},
        {"30 82 05 1A 30 82 04 02", 1310},
        {"30 81 80", 131},
        {"30 03", 5},
        {"30 00", 2},
        {"5F 20 02", 5},
        {"30 84 00 00 01 00", 262},
        {"30 83 01 00 00", 65541},
        {"30", std::nullopt},
        {"30 82 05", std::nullopt},
        {"", std::nullopt},
        {"30 80", std::nullopt},
        {"30 85 00 00 00 00 01", std::nullopt},
        {"30 FF", std::nullopt},
        {"5F", std::nullopt},
    };
    for (const Row& row : rows)
        BOOST_TEST((tlv::total_der_length(h(row.hex)) == row.total), row.hex);
}

BOOST_AUTO_TEST_CASE(encoding_uses_minimal_lengths_and_round_trips) {
    struct Row {
        std::size_t length;
        const char* encoded;
    };
    for (auto [length, encoded] : {Row{0, "00"}, Row{1, "01"}, Row{127, "7F"}, Row{128, "81 80"},
                                   Row{255, "81 FF"}, Row{256, "82 01 00"}, Row{65535, "82 FF FF"},
                                   Row{65536, "83 01 00 00"}, Row{16777216, "84 01 00 00 00"}}) {
        BOOST_TEST(tlv::encode_length(length) == h(encoded), length);
        if (length > 70000)
            continue;
        const Bytes value = filler(length);
        const Bytes bytes = tlv::encode(0x04, value);
        const tlv::ParseResult r = tlv::parse_one(bytes);
        BOOST_TEST(r.findings.empty(), length);
        BOOST_TEST_REQUIRE(r.nodes.size() == 1U);
        BOOST_TEST((Bytes(r.nodes[0].value.begin(), r.nodes[0].value.end()) == value), length);
    }
    BOOST_TEST(tlv::encode(0x00, Bytes{}) == h("00 00"));
    BOOST_TEST(tlv::encode(0x5F20, bytes_of("AB")) == h("5F 20 02 41 42"));
    BOOST_TEST(tlv::encode(0xDF818203, Bytes{}) == h("DF 81 82 03 00"));
}

BOOST_AUTO_TEST_CASE(tags_format_as_their_bytes) {
    BOOST_TEST(tlv::format_tag(0x30) == "30");
    BOOST_TEST(tlv::format_tag(0x00) == "00");
    BOOST_TEST(tlv::format_tag(0x5F20) == "5F20");
    BOOST_TEST(tlv::format_tag(0x9F8101) == "9F8101");
    BOOST_TEST(tlv::format_tag(0xDF818203) == "DF818203");
    BOOST_TEST(std::string(tlv::to_string(tlv::TagClass::ContextSpecific)) == "context_specific");
}

// Pseudo-random and mutated inputs: parsing never throws and every view stays inside the input.
BOOST_AUTO_TEST_CASE(arbitrary_bytes_never_escape_the_input) {
    std::uint32_t state = 2024;
    auto next = [&] {
        state = state * 1664525U + 1013904223U;
        return static_cast<std::uint8_t>(state >> 24);
    };
    const Bytes cert = certificate();
    std::size_t runs = 0;
    for (int i = 0; i < 3000; ++i) {
        Bytes bytes;
        if (i % 2 == 0) {
            bytes.resize(static_cast<std::size_t>(next() % 40));
            for (auto& b : bytes)
                b = next();
        } else {
            bytes = cert;
            for (int k = 0; k < 4; ++k)
                bytes[(static_cast<std::size_t>(next()) * 131 + static_cast<std::size_t>(next())) %
                      bytes.size()] = next();
        }
        tlv::ParseResult r;
        BOOST_CHECK_NO_THROW(r = tlv::parse(bytes));
        check_views(r.nodes, bytes);
        tlv::ParseResult one;
        BOOST_CHECK_NO_THROW(one = tlv::parse_one(bytes));
        check_views(one.nodes, bytes);
        ++runs;
    }
    BOOST_TEST(runs == 3000U);
}
