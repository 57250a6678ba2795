#include "pure/openssl.hpp"

#include "pure/error.hpp"

#include <array>
#include <openssl/hmac.h>

namespace harness::openssl {

X509Ptr parse_certificate(ByteView der) {
    const unsigned char* p = der.data();
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

Bytes digest(const EVP_MD* md, ByteView message) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (EVP_Digest(message.data(), message.size(), out.data(), &length, md, nullptr) != 1)
        throw Error("OpenSSL could not hash the message");
    out.resize(length);
    return out;
}

Bytes sha256(ByteView message) {
    return digest(EVP_sha256(), message);
}

std::string sha256_hex(std::string_view text) {
    static constexpr char hex_digits[] = "0123456789abcdef";
    const Bytes hash =
        sha256(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    std::string out;
    for (const std::uint8_t b : hash) {
        out.push_back(hex_digits[b >> 4]);
        out.push_back(hex_digits[b & 0x0F]);
    }
    return out;
}

std::optional<Bytes> hmac_sha256(ByteView key, ByteView message) {
    if (key.empty())
        return std::nullopt;
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(), message.size(),
             out.data(), &length) == nullptr)
        return std::nullopt;
    out.resize(length);
    return out;
}

} // namespace harness::openssl
