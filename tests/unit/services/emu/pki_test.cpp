#include "pure/error.hpp"
#include "pure/openssl.hpp"
#include "services/emu/card.hpp"
#include "services/emu/persona.hpp"
#include "services/emu/pki.hpp"
#include "services/emu/profile.hpp"

#include <boost/test/unit_test.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

using namespace harness;
using namespace harness::emu;

namespace {

openssl::X509Ptr parse(const Bytes& der) {
    return openssl::parse_certificate(der);
}

bool signed_by(const Bytes& cert, const Bytes& issuer) {
    auto c = parse(cert);
    auto i = parse(issuer);
    return c && i && X509_verify(c.get(), X509_get0_pubkey(i.get())) == 1;
}

std::filesystem::path temp_pki_dir() {
    return std::filesystem::temp_directory_path() /
           ("cardharness-pki-test-" + std::to_string(::getpid()));
}

} // namespace

BOOST_AUTO_TEST_CASE(generates_a_verifiable_cached_pki_in_a_temp_dir) {
    const auto dir = temp_pki_dir();
    std::filesystem::remove_all(dir);
    const Persona persona = load_persona(default_profiles_dir() / "persona.csv");
    const auto san = load_san_fields(default_profiles_dir());
    const auto pki = Pki::load_or_create(dir, persona, san);
    for (const auto& name : Pki::names())
        BOOST_TEST(std::filesystem::exists(dir / "keys" / (name + ".pem")), name);
    BOOST_TEST(std::filesystem::exists(dir / "test" / "sign.der"));
    BOOST_TEST(std::filesystem::exists(dir / "citizen" / "sign.pem"));

    for (PkiStyle style : {PkiStyle::Test, PkiStyle::Citizen}) {
        const auto& root = pki->certificate(style, "root");
        BOOST_TEST(signed_by(root, root));
        BOOST_TEST(signed_by(pki->certificate(style, "auth_ca"), root));
        BOOST_TEST(signed_by(pki->certificate(style, "sign_ca"), root));
        BOOST_TEST(signed_by(pki->certificate(style, "juki_ca"), root));
        BOOST_TEST(signed_by(pki->certificate(style, "auth"), pki->certificate(style, "auth_ca")));
        BOOST_TEST(signed_by(pki->certificate(style, "sign"), pki->certificate(style, "sign_ca")));
        BOOST_TEST(
            signed_by(pki->certificate(style, "juki_sign"), pki->certificate(style, "juki_ca")));
    }
    BOOST_TEST(pki->key_bytes("sign") == 256u);
    BOOST_TEST(pki->key_bytes("auth") == 256u);
    BOOST_TEST(pki->key_bytes("juki_sign") == 128u);

    // The signature certificate carries the persona in SubjectAltName otherNames.
    auto sign = parse(pki->certificate(PkiStyle::Test, "sign"));
    const openssl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(sign.get(), NID_subject_alt_name, nullptr, nullptr)));
    BOOST_REQUIRE(names);
    std::map<std::string, std::string> values;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
        ASN1_OBJECT* oid = nullptr;
        ASN1_TYPE* value = nullptr;
        BOOST_REQUIRE(GENERAL_NAME_get0_otherName(gen, &oid, &value));
        char text[80];
        OBJ_obj2txt(text, sizeof text, oid, 1);
        const ASN1_STRING* s = value->value.utf8string;
        values[text] = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    BOOST_TEST(values["1.2.392.200149.8.5.5.1"] == persona.get("name"));
    BOOST_TEST(values["1.2.392.200149.8.5.5.5"] == persona.get("address"));
    BOOST_TEST(values["1.2.392.200149.8.5.5.4"] == persona.get("birth_date"));
    BOOST_TEST(values["1.2.392.200149.8.5.5.3"] == persona.get("sex"));
    BOOST_TEST(values.count("1.2.392.200149.8.5.5.2") == 0u); // empty persona value: left out
    // The authentication certificate carries no personal data.
    BOOST_TEST(!X509_get_ext_d2i(parse(pki->certificate(PkiStyle::Test, "auth")).get(),
                                 NID_subject_alt_name, nullptr, nullptr));

    // Juki: RSA-1024, expired; My Number: currently valid.
    auto juki = parse(pki->certificate(PkiStyle::Test, "juki_sign"));
    BOOST_TEST(EVP_PKEY_get_bits(X509_get0_pubkey(juki.get())) == 1024);
    BOOST_TEST(X509_cmp_current_time(X509_get0_notAfter(juki.get())) < 0);
    BOOST_TEST(X509_cmp_current_time(X509_get0_notAfter(sign.get())) > 0);
    BOOST_TEST(X509_cmp_current_time(X509_get0_notBefore(sign.get())) < 0);

    // Cached: a second load (even in a fresh process' memo) reuses keys and certificates.
    const auto key_time = std::filesystem::last_write_time(dir / "keys" / "sign.pem");
    const Bytes before = pki->certificate(PkiStyle::Test, "sign");
    const auto again = Pki::load_or_create(dir, persona, san);
    BOOST_TEST(again.get() == pki.get()); // memoised within the process
    std::filesystem::remove(dir / "test" / "sign.der");
    Persona changed = persona;
    changed.fields["address"] = "CANARY-MOVED-9X1Y";
    const auto reissued = Pki::load_or_create(dir, changed, san);
    BOOST_TEST((std::filesystem::last_write_time(dir / "keys" / "sign.pem") == key_time));
    BOOST_TEST((reissued->certificate(PkiStyle::Test, "sign") != before));
    const auto back = Pki::load_or_create(dir, persona, san);
    BOOST_TEST((back->certificate(PkiStyle::Test, "sign") == before)); // deterministic bytes
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(raw_pkcs1_signing_limits) {
    const auto dir = temp_pki_dir().string() + "-b";
    const Persona persona = load_persona(default_profiles_dir() / "persona.csv");
    const auto pki = Pki::load_or_create(dir, persona, load_san_fields(default_profiles_dir()));
    BOOST_TEST(pki->sign_pkcs1("juki_sign", Bytes(117, 1)).size() == 128u);
    BOOST_TEST(pki->sign_pkcs1("juki_sign", Bytes(118, 1)).empty());
    BOOST_TEST(pki->sign_pkcs1("sign", Bytes(245, 1)).size() == 256u);
    BOOST_TEST(pki->sign_pkcs1("sign", Bytes(246, 1)).empty());
    BOOST_CHECK_THROW(pki->sign_pkcs1("nope", Bytes(3, 1)), ConfigError);
    std::filesystem::remove_all(dir);
}
