#pragma once
// The lab's test PKI: a root CA, the JPKI-like authentication and signature CAs, end-entity
// certificates for the emulated cards (RSA-2048; RSA-1024 with an expired validity for the Juki
// card). Keys are generated once and cached in a directory (results/pki/ by default); certificates
// are deterministic (fixed serials and dates, PKCS#1 v1.5 signatures), so runs are reproducible.
#include "pure/bytes.hpp"
#include "services/emu/persona.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace harness::emu {

// Test certificates say so in their names (O=cardharness test PKI, CN=... TEST ...); citizen-style
// ones look like real JPKI certificates (O=JPKI), for testing the runner's PIN guard.
enum class PkiStyle { Test, Citizen };

// One SubjectAltName otherName of the signature certificate: OID -> persona field.
struct SanField {
    std::string oid;
    std::string persona_field;
};

class Pki {
public:
    // Loads the PKI from `dir`, generating missing keys and (re)issuing certificates whose inputs
    // changed. Safe against concurrent processes (a lock file in `dir`). Results are memoised per
    // directory within a process.
    static std::shared_ptr<const Pki> load_or_create(const std::filesystem::path& dir,
                                                     const Persona& persona,
                                                     const std::vector<SanField>& san);

    ~Pki();
    Pki(const Pki&) = delete;
    Pki& operator=(const Pki&) = delete;

    // Names: root, auth_ca, sign_ca, auth, sign, juki_ca, juki_sign. Throws ConfigError if unknown.
    const Bytes& certificate(PkiStyle style, const std::string& name) const;
    bool has_key(const std::string& name) const;
    std::size_t key_bytes(const std::string& name) const; // modulus size in bytes
    // The card's signing operation: PKCS#1 v1.5 type-1 padding of `input` (a DigestInfo) and the
    // RSA private-key operation. Empty when the input is too long for the key (> k - 11).
    Bytes sign_pkcs1(const std::string& name, ByteView input) const;
    const std::filesystem::path& directory() const;

    static const std::vector<std::string>& names();
    static const char* style_name(PkiStyle style);

private:
    struct Impl;
    explicit Pki(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace harness::emu
