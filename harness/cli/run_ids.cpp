#include "cli/run_ids.hpp"

#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <cctype>
#include <ctime>
#include <openssl/rand.h>

namespace harness::cli {

std::string now_iso() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string new_uuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        throw EnvironmentError("no randomness for the run UUID (OpenSSL RAND_bytes failed)");
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40); // RFC 4122 §4.4 version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    std::string hex = hex::format(ByteView(b, sizeof b), hex::Style::Packed);
    for (char& c : hex)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20);
}

} // namespace harness::cli
