#pragma once
// A small in-test card that answers the identification APDUs like a My Number card, a Juki card,
// a JPKI phone or an unknown ISO 7816 card (domain.md §2–§7). Not the full emulator (that is
// services/emu): just SELECT by AID / FID and READ BINARY, with knobs to make it misbehave.
// Used in process by unit tests and served over vpcd by tests/tools/id_card.cpp.
#include "io/virtual_card.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"
#include "pure/openssl.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace harness::test {

enum class IdCardKind { MyNumber, Juki, Phone, Unknown };

inline const Bytes jpki_aid{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
inline const Bytes text_aid{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08};

// domain.md §7 (TCKs check).
inline const Bytes mynumber_contact_atr{0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12,
                                        0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B};
inline const Bytes mynumber_contactless_atr{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05,
                                            0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F};
inline const Bytes juki_contact_atr{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14};
inline const Bytes juki_contactless_atr{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x14,
                                        0xE0, 0xB3, 0x81, 0x91, 0x00, 0x5E};
// PC/SC part 3 pseudo-ATR of a Type A device without historical bytes (a phone's NFC).
inline const Bytes phone_contactless_atr{0x3B, 0x80, 0x80, 0x01, 0x01};
// A contact T=1 card with no JPKI application (JCOP-like).
inline const Bytes unknown_contact_atr{0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45,
                                       0x4A, 0x43, 0x4F, 0x50, 0x76, 0x32, 0x34, 0x31, 0xB7};

// The authentication certificate put in JPKI EF 000A.
struct TestCertificate {
    long serial = 0x1234567;
    std::string issuer_cn = "Test JPKI User Authentication CA";
    std::string subject_cn =
        "CANARY-SUBJECT-7Q2X"; // stands for personal data: must never be hashed
};

namespace detail {

inline void check(bool ok, const char* what) {
    if (!ok)
        throw std::runtime_error(std::string("OpenSSL failed: ") + what);
}

inline EVP_PKEY* test_key() {
    // One RSA-2048 key per process (a real authentication certificate is RSA-2048, ~1.3 KB).
    static openssl::PkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})};
    check(key != nullptr, "RSA key generation");
    return key.get();
}

inline void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                     0) == 1,
          "X509_NAME_add_entry_by_txt");
}

} // namespace detail

// A DER X.509 certificate shaped like a JPKI authentication certificate (issuer O=JPKI, …).
inline Bytes make_test_certificate(const TestCertificate& spec) {
    openssl::X509Ptr cert{X509_new()};
    detail::check(cert != nullptr, "X509_new");
    detail::check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    detail::check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial) == 1,
                  "ASN1_INTEGER_set");
    detail::check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) != nullptr, "notBefore");
    detail::check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365 * 5) !=
                      nullptr,
                  "notAfter");
    openssl::X509NamePtr issuer{X509_NAME_new()};
    detail::add_name_entry(issuer.get(), "C", "JP");
    detail::add_name_entry(issuer.get(), "O", "JPKI");
    detail::add_name_entry(issuer.get(), "OU", "JPKI for user authentication");
    detail::add_name_entry(issuer.get(), "OU", spec.issuer_cn);
    openssl::X509NamePtr subject{X509_NAME_new()};
    detail::add_name_entry(subject.get(), "C", "JP");
    detail::add_name_entry(subject.get(), "CN", spec.subject_cn);
    detail::check(X509_set_issuer_name(cert.get(), issuer.get()) == 1, "issuer");
    detail::check(X509_set_subject_name(cert.get(), subject.get()) == 1, "subject");
    EVP_PKEY* key = detail::test_key();
    detail::check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
    detail::check(X509_sign(cert.get(), key, EVP_sha256()) > 0, "X509_sign");
    const int size = i2d_X509(cert.get(), nullptr);
    detail::check(size > 0, "i2d_X509");
    Bytes der(static_cast<std::size_t>(size));
    unsigned char* out = der.data();
    detail::check(i2d_X509(cert.get(), &out) == size, "i2d_X509");
    return der;
}

// What the card holds and how it answers; defaults per kind from make_spec().
struct IdCardSpec {
    IdCardKind kind = IdCardKind::MyNumber;
    Bytes atr;
    bool jpki_ap = true;
    std::optional<Bytes> token_ef; // nullopt: EF 0006 absent (6A 82)
    bool text_ap = true;
    Bytes auth_certificate;     // EF 000A; empty: absent (6A 82)
    std::size_t max_read = 256; // a READ BINARY returns at most this many bytes (short reads)
    std::uint16_t past_end_sw = 0x6B00;
    bool exact_le = false; // answer 6C xx unless Le is exactly what is left (ISO 7816-4 §5.1.3)
    std::uint16_t select_jpki_sw = 0x9000; // answer to SELECT JPKI AP when it is present
};

// EF 0006: the token, padded to 32 bytes with spaces (or NULs).
inline Bytes token_ef(const std::string& token, std::uint8_t pad = 0x20) {
    Bytes ef = bytes_of(token);
    ef.resize(32, pad);
    return ef;
}

inline IdCardSpec make_spec(IdCardKind kind, bool contactless = false,
                            const TestCertificate& cert = {}) {
    IdCardSpec spec;
    spec.kind = kind;
    switch (kind) {
    case IdCardKind::MyNumber:
        spec.atr = contactless ? mynumber_contactless_atr : mynumber_contact_atr;
        spec.token_ef = token_ef("JPKIAPICCTOKEN2");
        spec.auth_certificate = make_test_certificate(cert);
        break;
    case IdCardKind::Juki:
        spec.atr = contactless ? juki_contactless_atr : juki_contact_atr;
        spec.token_ef = token_ef("JPKIAPICCTOKEN");
        spec.text_ap = false;
        break;
    case IdCardKind::Phone:
        spec.atr = phone_contactless_atr;
        spec.token_ef = token_ef("JPKIAPGPSETOKEN");
        spec.text_ap = false;
        spec.auth_certificate = make_test_certificate(cert);
        break;
    case IdCardKind::Unknown:
        spec.atr = unknown_contact_atr;
        spec.jpki_ap = false;
        spec.token_ef.reset();
        spec.text_ap = false;
        break;
    }
    return spec;
}

class IdCard : public io::VirtualCard {
public:
    explicit IdCard(IdCardSpec spec) : spec_(std::move(spec)) {}
    IdCard(const IdCard&) = delete; // ef_ points into spec_
    IdCard& operator=(const IdCard&) = delete;

    Bytes power_on() override {
        clear_selection();
        return spec_.atr;
    }
    void power_off() override { clear_selection(); }
    Bytes reset(bool) override { return power_on(); }
    Bytes atr() const override { return spec_.atr; }
    std::string profile_name() const override { return "id-card"; }

    io::CardResponse transmit(ByteView apdu) override { return {answer(apdu), {}}; }

    const IdCardSpec& spec() const { return spec_; }

private:
    enum class App { None, Jpki, Text };

    void clear_selection() {
        app_ = App::None;
        ef_ = nullptr;
        protected_ef_ = false;
    }

    static Bytes sw(std::uint16_t word) {
        return {static_cast<std::uint8_t>(word >> 8), static_cast<std::uint8_t>(word & 0xFF)};
    }

    Bytes answer(ByteView apdu) {
        if (apdu.size() < 4)
            return sw(0x6700);
        if (apdu[0] != 0x00)
            return sw(0x6E00);
        switch (apdu[1]) {
        case 0xA4:
            return select(apdu);
        case 0xB0:
            return read_binary(apdu);
        case 0x20: // VERIFY: this card has no PINs to offer; case 1 answers like a PIN EF would
            return sw(apdu.size() == 4 ? 0x63C3 : 0x6982);
        default:
            return sw(0x6D00);
        }
    }

    // ISO 7816-4 §11.1.1: P1=04 by DF name (AID), P1=02 EF under the current DF.
    Bytes select(ByteView apdu) {
        if (apdu.size() < 5 || apdu.size() < 5u + apdu[4])
            return sw(0x6700);
        const ByteView data = apdu.subspan(5, apdu[4]);
        if (apdu[2] == 0x04) {
            clear_selection();
            if (std::ranges::equal(data, jpki_aid) && spec_.jpki_ap) {
                if (spec_.select_jpki_sw != 0x9000)
                    return sw(spec_.select_jpki_sw);
                app_ = App::Jpki;
                return sw(0x9000);
            }
            if (std::ranges::equal(data, text_aid) && spec_.text_ap) {
                app_ = App::Text;
                return sw(0x9000);
            }
            return sw(0x6A82);
        }
        if (apdu[2] != 0x02 || apdu[3] != 0x0C)
            return sw(0x6A86);
        if (data.size() != 2)
            return sw(0x6700);
        const unsigned fid = static_cast<unsigned>(data[0] << 8 | data[1]);
        ef_ = nullptr;
        protected_ef_ = false;
        if (app_ == App::Jpki) {
            if (fid == 0x0006 && spec_.token_ef) {
                ef_ = &*spec_.token_ef;
                return sw(0x9000);
            }
            if (fid == 0x000A && !spec_.auth_certificate.empty()) {
                ef_ = &spec_.auth_certificate;
                return sw(0x9000);
            }
            if (fid == 0x0001 && spec_.kind != IdCardKind::Unknown) {
                protected_ef_ = true; // signature certificate: personal data
                return sw(0x9000);
            }
        }
        if (app_ == App::Text && (fid == 0x0001 || fid == 0x0002)) {
            protected_ef_ = true; // My Number / four basic facts
            return sw(0x9000);
        }
        return sw(0x6A82);
    }

    Bytes read_binary(ByteView apdu) {
        if (protected_ef_)
            return sw(0x6982);
        if (ef_ == nullptr)
            return sw(0x6986);
        if (apdu[2] & 0x80)
            return sw(0x6A86); // SFI reads are not needed here
        const std::size_t offset = static_cast<std::size_t>(apdu[2] << 8 | apdu[3]);
        std::size_t le = apdu.size() == 5 ? (apdu[4] == 0 ? 256 : apdu[4]) : 0;
        if (apdu.size() != 5)
            return sw(0x6700);
        if (offset >= ef_->size())
            return sw(spec_.past_end_sw);
        const std::size_t left = std::min(spec_.max_read, ef_->size() - offset);
        if (spec_.exact_le && le != left)
            return sw(static_cast<std::uint16_t>(0x6C00 | (left & 0xFF)));
        le = std::min({le, spec_.max_read, ef_->size() - offset});
        Bytes out(ef_->begin() + static_cast<std::ptrdiff_t>(offset),
                  ef_->begin() + static_cast<std::ptrdiff_t>(offset + le));
        out.push_back(0x90);
        out.push_back(0x00);
        return out;
    }

    IdCardSpec spec_;
    App app_ = App::None;
    const Bytes* ef_ = nullptr;
    bool protected_ef_ = false;
};

} // namespace harness::test
