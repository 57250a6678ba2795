#include "pure/bytes.hpp"
#include "pure/openssl.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace harness;

BOOST_AUTO_TEST_CASE(sha256_of_known_texts) {
    // FIPS 180-2 appendix B.1 and the empty message.
    BOOST_TEST(openssl::sha256_hex("abc") ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_TEST(openssl::sha256_hex("") ==
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    BOOST_TEST(hex::format(openssl::sha256(bytes_of("abc")), hex::Style::Packed) ==
               "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    BOOST_TEST(openssl::digest(EVP_sha1(), bytes_of("abc")).size() == 20U);
}

BOOST_AUTO_TEST_CASE(hmac_sha256_of_rfc4231_case_2) {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    const auto mac =
        openssl::hmac_sha256(bytes_of("Jefe"), bytes_of("what do ya want for nothing?"));
    BOOST_TEST_REQUIRE(mac.has_value());
    BOOST_TEST(hex::format(*mac, hex::Style::Packed) ==
               "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843");
    // No key: no MAC (callers then fail closed: a length-only marker, or no card id).
    BOOST_TEST(!openssl::hmac_sha256(Bytes{}, bytes_of("x")).has_value());
}

BOOST_AUTO_TEST_CASE(certificates_parse_or_are_null) {
    BOOST_TEST(openssl::parse_certificate(bytes_of("not a certificate")) == nullptr);
    BOOST_TEST(openssl::parse_certificate(Bytes{}) == nullptr);
}
