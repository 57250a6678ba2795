#pragma once
// Helpers for the emulated-card tests: hex in, status word and data out.
#include "pure/apdu.hpp"
#include "pure/bytes.hpp"
#include "pure/openssl.hpp"
#include "services/emu/card.hpp"

#include <cstdint>
#include <memory>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string>

namespace harness::emu::test {

inline Bytes h(const std::string& text) {
    return hex::parse_or_throw(text);
}

struct Reply {
    Bytes data;
    std::uint16_t sw = 0;
    std::chrono::microseconds time{0};
};

inline Reply send(Card& card, const Bytes& apdu) {
    const auto r = card.transmit(apdu);
    Reply out;
    out.time = r.processing_time;
    out.sw = apdu::sw_of(r.apdu);
    const ByteView data = apdu::data_of(r.apdu);
    out.data.assign(data.begin(), data.end());
    return out;
}
inline Reply send(Card& card, const std::string& apdu) {
    return send(card, h(apdu));
}

inline const char* jpki_aid = "D3 92 F0 00 26 01 00 00 00 01";
inline const char* text_aid = "D3 92 10 00 31 00 01 01 04 08";

inline std::unique_ptr<Card> powered(const std::string& profile, const Options& options = {}) {
    auto card = make_card(profile, options);
    card->power_on();
    return card;
}

// Reads a whole EF the way OpenSC does: 4-byte DER header, then chunks of at most 256 bytes.
inline Bytes read_der_ef(Card& card) {
    const auto head = send(card, "00 B0 00 00 04");
    if (head.sw != 0x9000 || head.data.size() != 4)
        return {};
    const std::size_t total = static_cast<std::size_t>(head.data[2] << 8 | head.data[3]) + 4;
    Bytes out;
    while (out.size() < total) {
        const std::size_t n = std::min<std::size_t>(256, total - out.size());
        Bytes apdu{0x00, 0xB0, static_cast<std::uint8_t>(out.size() >> 8),
                   static_cast<std::uint8_t>(out.size() & 0xFF),
                   static_cast<std::uint8_t>(n & 0xFF)};
        const auto r = send(card, apdu);
        if (r.sw != 0x9000)
            return {};
        out.insert(out.end(), r.data.begin(), r.data.end());
    }
    return out;
}

// SHA-256 DigestInfo (PKCS#1 v1.5, RFC 8017 §9.2) of a message.
inline Bytes sha256_digest_info(const std::string& message) {
    Bytes out = h("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20");
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(message.data(), message.size(), md, &len, EVP_sha256(), nullptr);
    out.insert(out.end(), md, md + len);
    return out;
}

// Verifies an RSA PKCS#1 v1.5 SHA-256 signature of `message` against a DER certificate.
inline bool verify_with_certificate(const Bytes& cert_der, const std::string& message,
                                    const Bytes& signature) {
    const openssl::X509Ptr cert = openssl::parse_certificate(cert_der);
    if (!cert)
        return false;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    const openssl::MdCtxPtr ctx(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
        return false;
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()),
                            message.size()) == 1;
}

} // namespace harness::emu::test
