#pragma once
// OpenSSL under RAII, and the digests the harness computes: the one place that frees an OpenSSL
// object (every other file holds them in these unique_ptr aliases) and the one SHA-256 and
// HMAC-SHA-256. Pure: libcrypto computes in memory, no I/O.
#include "pure/bytes.hpp"

#include <memory>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace harness::openssl {

// A unique_ptr deleter calling OpenSSL's own free function.
template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* object) const {
        if constexpr (std::is_void_v<decltype(Free(object))>)
            Free(object);
        else
            static_cast<void>(Free(object)); // BIO_free's int says nothing we could act on
    }
};

using BioPtr = std::unique_ptr<BIO, Deleter<&BIO_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<&EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<&EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<&X509_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<&X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<&GENERAL_NAMES_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<&X509_NAME_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<&EVP_MD_CTX_free>>;

// A DER certificate; null when the bytes are not one.
X509Ptr parse_certificate(ByteView der);

// The digest of `message` under `md` (EVP_sha256(), …). Throws harness::Error when OpenSSL fails.
Bytes digest(const EVP_MD* md, ByteView message);
Bytes sha256(ByteView message);
// SHA-256 as 64 lower-case hex digits (suite and dump content hashes).
std::string sha256_hex(std::string_view text);

// HMAC-SHA-256 of `message` under `key` (card ids, redaction markers); nullopt when the key is
// empty or OpenSSL fails. The caller cleanses its own secret inputs.
std::optional<Bytes> hmac_sha256(ByteView key, ByteView message);

} // namespace harness::openssl
