#include "services/emu/pki.hpp"

#include "pure/bytes.hpp"
#include "pure/error.hpp"
#include "pure/openssl.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <mutex>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::emu {
namespace {

using KeyPtr = openssl::PkeyPtr;
using CertPtr = openssl::X509Ptr;

// What each certificate is: key size, issuer, validity, role. Dates are fixed: reproducible bytes.
struct CertDef {
    const char* name;
    int bits;
    const char* issuer; // == name for the self-signed root
    bool ca;
    const char* not_before;
    const char* not_after;
    bool personal; // carries the persona in SubjectAltName
    long serial;
};

const CertDef cert_defs[] = {
    {"root", 2048, "root", true, "20200101000000Z", "20491231235959Z", false, 1},
    {"auth_ca", 2048, "root", true, "20200101000000Z", "20491231235959Z", false, 2},
    {"sign_ca", 2048, "root", true, "20200101000000Z", "20491231235959Z", false, 3},
    {"auth", 2048, "auth_ca", false, "20250401000000Z", "20451231235959Z", false, 0x1001},
    {"sign", 2048, "sign_ca", false, "20250401000000Z", "20451231235959Z", true, 0x1002},
    // Juki cards: certificates all expired by 2018-12 (domain.md §8).
    {"juki_ca", 2048, "root", true, "20100101000000Z", "20181231235959Z", false, 4},
    {"juki_sign", 1024, "juki_ca", false, "20120401000000Z", "20150331235959Z", true, 0x2001},
};

const CertDef& def_of(const std::string& name) {
    for (const auto& def : cert_defs)
        if (name == def.name)
            return def;
    throw ConfigError("unknown PKI certificate or key \"" + name + "\"");
}

// Distinguished names per style: {attribute, value} pairs.
std::vector<std::pair<const char*, std::string>> dn_of(PkiStyle style, const std::string& name) {
    if (style == PkiStyle::Test) {
        const std::string o = "cardharness test PKI";
        if (name == "root")
            return {{"C", "JP"}, {"O", o}, {"CN", "cardharness TEST Root CA"}};
        if (name == "auth_ca")
            return {{"C", "JP"}, {"O", o}, {"CN", "cardharness TEST JPKI user authentication CA"}};
        if (name == "sign_ca")
            return {{"C", "JP"}, {"O", o}, {"CN", "cardharness TEST JPKI digital signature CA"}};
        if (name == "juki_ca")
            return {{"C", "JP"}, {"O", o}, {"CN", "cardharness TEST Juki signature CA"}};
        if (name == "auth")
            return {{"C", "JP"}, {"O", o}, {"CN", "CARDHARNESS TEST CARD AUTH 0001"}};
        if (name == "sign")
            return {{"C", "JP"}, {"O", o}, {"CN", "CARDHARNESS TEST CARD SIGN 0001"}};
        return {{"C", "JP"}, {"O", o}, {"CN", "CARDHARNESS TEST JUKI CARD SIGN 0001"}};
    }
    const std::string lasdec = "Japan Agency for Local Authority Information Systems";
    if (name == "root")
        return {{"C", "JP"}, {"O", "JPKI"}, {"OU", "JPKI Root"}, {"OU", lasdec}};
    if (name == "auth_ca")
        return {{"C", "JP"}, {"O", "JPKI"}, {"OU", "JPKI for user authentication"}, {"OU", lasdec}};
    if (name == "sign_ca")
        return {{"C", "JP"}, {"O", "JPKI"}, {"OU", "JPKI for digital signature"}, {"OU", lasdec}};
    if (name == "juki_ca")
        return {{"C", "JP"}, {"O", "JPKI"}, {"OU", "JPKI"}, {"OU", lasdec}};
    if (name == "auth")
        return {{"C", "JP"}, {"CN", "20250401A7Q2X91K"}};
    if (name == "sign")
        return {{"C", "JP"}, {"L", "Tokyo"}, {"CN", "20250401S3M8P44W"}};
    return {{"C", "JP"}, {"L", "Tokyo"}, {"CN", "20120401J4K9W17Z"}};
}

[[noreturn]] void openssl_fail(const std::string& what) {
    throw EnvironmentError("OpenSSL: " + what + " failed");
}

Bytes read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Written with its final mode from the first byte (private keys 0600: no moment where another
// user could read them), then renamed into place.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       mode_t mode = 0644) {
    const auto tmp = path.string() + ".tmp" + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        throw EnvironmentError("cannot write " + tmp);
    ::fchmod(fd, mode); // the umask does not widen, but may narrow certificates: set exactly
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ::close(fd);
            ::unlink(tmp.c_str());
            throw EnvironmentError("cannot write " + tmp);
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    std::filesystem::rename(tmp, path);
}

// A private key (or its folder) of an older version readable by others: owner-only now.
void make_private(const std::filesystem::path& path, mode_t mode) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && st.st_uid == ::geteuid())
        ::chmod(path.c_str(), mode);
}

KeyPtr generate_key(int bits) {
    openssl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) <= 0)
        openssl_fail("RSA key generation setup");
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &key) <= 0)
        openssl_fail("RSA key generation");
    return KeyPtr(key);
}

std::string key_to_pem(EVP_PKEY* key) {
    openssl::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
        openssl_fail("PEM_write_bio_PrivateKey");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

KeyPtr key_from_pem(const Bytes& pem) {
    openssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string cert_to_pem(X509* cert) {
    openssl::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(bio.get(), cert))
        openssl_fail("PEM_write_bio_X509");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

Bytes cert_to_der(X509* cert) {
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0)
        openssl_fail("i2d_X509");
    Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_X509(cert, &p);
    return der;
}

void set_name(X509_NAME* name, const std::vector<std::pair<const char*, std::string>>& dn) {
    for (const auto& [attr, value] : dn)
        if (!X509_NAME_add_entry_by_txt(name, attr, MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(value.data()),
                                        static_cast<int>(value.size()), -1, 0))
            openssl_fail("X509_NAME_add_entry_by_txt");
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    const openssl::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext)
        openssl_fail(std::string("extension ") + value);
    X509_add_ext(cert, ext.get(), -1);
}

void add_persona_san(X509* cert, const std::vector<std::pair<std::string, std::string>>& san) {
    const openssl::GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    for (const auto& [oid, value] : san) {
        if (value.empty())
            continue;
        ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 1);
        if (!obj)
            throw ConfigError("SubjectAltName: \"" + oid + "\" is not a dotted OID");
        ASN1_STRING* text = ASN1_STRING_type_new(V_ASN1_UTF8STRING);
        ASN1_STRING_set(text, value.data(), static_cast<int>(value.size()));
        ASN1_TYPE* type = ASN1_TYPE_new();
        ASN1_TYPE_set(type, V_ASN1_UTF8STRING, text);
        GENERAL_NAME* name = GENERAL_NAME_new();
        GENERAL_NAME_set0_othername(name, obj, type);
        sk_GENERAL_NAME_push(names.get(), name);
    }
    X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT);
}

CertPtr issue(const CertDef& def, PkiStyle style, EVP_PKEY* key, EVP_PKEY* issuer_key,
              X509* issuer_cert, const std::vector<std::pair<std::string, std::string>>& san) {
    CertPtr cert(X509_new());
    X509* x = cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), def.serial);
    set_name(X509_get_subject_name(x), dn_of(style, def.name));
    if (issuer_cert)
        X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
    else
        X509_set_issuer_name(x, X509_get_subject_name(x));
    if (!ASN1_TIME_set_string_X509(X509_getm_notBefore(x), def.not_before) ||
        !ASN1_TIME_set_string_X509(X509_getm_notAfter(x), def.not_after))
        openssl_fail("certificate validity");
    X509_set_pubkey(x, key);
    X509* ext_issuer = issuer_cert ? issuer_cert : x;
    if (def.ca) {
        add_ext(x, ext_issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, ext_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, ext_issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, ext_issuer, NID_key_usage,
                def.personal ? "critical,digitalSignature,nonRepudiation"
                             : "critical,digitalSignature");
    }
    add_ext(x, ext_issuer, NID_subject_key_identifier, "hash");
    if (issuer_cert)
        add_ext(x, ext_issuer, NID_authority_key_identifier, "keyid:always");
    if (def.personal)
        add_persona_san(x, san);
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
        openssl_fail("X509_sign");
    return cert;
}

std::string fingerprint(PkiStyle style,
                        const std::vector<std::pair<std::string, std::string>>& san) {
    std::ostringstream text;
    text << "v1 " << Pki::style_name(style) << "\n";
    for (const auto& [oid, value] : san)
        text << oid << "=" << value << "\n";
    const std::string s = text.str();
    return hex::format(openssl::sha256(bytes_of(s)), hex::Style::Packed);
}

class DirLock {
public:
    explicit DirLock(const std::filesystem::path& dir) {
        fd_ = ::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        if (fd_ >= 0)
            ::flock(fd_, LOCK_EX);
    }
    ~DirLock() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;

private:
    int fd_ = -1;
};

} // namespace

struct Pki::Impl {
    std::filesystem::path dir;
    std::map<std::string, KeyPtr> keys;
    std::map<std::pair<PkiStyle, std::string>, Bytes> certs;
};

Pki::Pki(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pki::~Pki() = default;

const std::vector<std::string>& Pki::names() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> v;
        for (const auto& def : cert_defs)
            v.emplace_back(def.name);
        return v;
    }();
    return all;
}

const char* Pki::style_name(PkiStyle style) {
    return style == PkiStyle::Test ? "test" : "citizen";
}

const std::filesystem::path& Pki::directory() const {
    return impl_->dir;
}

std::shared_ptr<const Pki> Pki::load_or_create(const std::filesystem::path& dir,
                                               const Persona& persona,
                                               const std::vector<SanField>& san_fields) {
    std::vector<std::pair<std::string, std::string>> san;
    for (const auto& field : san_fields)
        san.emplace_back(field.oid, persona.has(field.persona_field)
                                        ? persona.get(field.persona_field)
                                        : std::string());

    static std::mutex mutex;
    static std::map<std::string, std::pair<std::string, std::shared_ptr<const Pki>>> memo;
    const std::string memo_key = std::filesystem::absolute(dir).lexically_normal().string();
    const std::string print =
        fingerprint(PkiStyle::Test, san) + fingerprint(PkiStyle::Citizen, san);
    std::lock_guard guard(mutex);
    if (auto it = memo.find(memo_key); it != memo.end() && it->second.first == print)
        return it->second.second;

    std::error_code ec;
    std::filesystem::create_directories(dir / "keys", ec);
    if (ec)
        throw EnvironmentError("cannot create PKI directory " + (dir / "keys").string() + ": " +
                               ec.message());
    make_private(dir / "keys", 0700);
    DirLock lock(dir);

    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    bool new_keys = false;
    for (const auto& def : cert_defs) {
        const auto path = dir / "keys" / (std::string(def.name) + ".pem");
        KeyPtr key;
        if (std::filesystem::exists(path)) {
            make_private(path, 0600);
            key = key_from_pem(read_file(path));
        }
        if (!key || EVP_PKEY_get_bits(key.get()) != def.bits) {
            key = generate_key(def.bits);
            write_file_atomic(path, key_to_pem(key.get()), 0600);
            new_keys = true;
        }
        impl->keys.emplace(def.name, std::move(key));
    }

    for (PkiStyle style : {PkiStyle::Test, PkiStyle::Citizen}) {
        const auto style_dir = dir / style_name(style);
        std::filesystem::create_directories(style_dir);
        const std::string want = fingerprint(style, san);
        bool fresh = !new_keys;
        if (fresh) {
            const Bytes have = read_file(style_dir / "inputs.sha256");
            fresh = std::string(have.begin(), have.end()) == want;
        }
        for (const auto& def : cert_defs)
            fresh = fresh && std::filesystem::exists(style_dir / (std::string(def.name) + ".der"));
        if (!fresh) {
            std::map<std::string, CertPtr> issued;
            for (const auto& def : cert_defs) { // issuers come before subjects in cert_defs
                const bool self = std::string(def.issuer) == def.name;
                X509* issuer_cert = self ? nullptr : issued.at(def.issuer).get();
                auto cert = issue(def, style, impl->keys.at(def.name).get(),
                                  impl->keys.at(def.issuer).get(), issuer_cert, san);
                const Bytes der = cert_to_der(cert.get());
                write_file_atomic(style_dir / (std::string(def.name) + ".der"),
                                  std::string(der.begin(), der.end()));
                write_file_atomic(style_dir / (std::string(def.name) + ".pem"),
                                  cert_to_pem(cert.get()));
                issued.emplace(def.name, std::move(cert));
            }
            write_file_atomic(style_dir / "inputs.sha256", want);
        }
        for (const auto& def : cert_defs)
            impl->certs[{style, def.name}] =
                read_file(style_dir / (std::string(def.name) + ".der"));
    }

    std::shared_ptr<const Pki> pki(new Pki(std::move(impl)));
    memo[memo_key] = {print, pki};
    return pki;
}

const Bytes& Pki::certificate(PkiStyle style, const std::string& name) const {
    auto it = impl_->certs.find({style, name});
    if (it == impl_->certs.end())
        throw ConfigError("unknown PKI certificate \"" + name + "\"");
    return it->second;
}

bool Pki::has_key(const std::string& name) const {
    return impl_->keys.count(name) != 0;
}

std::size_t Pki::key_bytes(const std::string& name) const {
    def_of(name);
    return static_cast<std::size_t>(EVP_PKEY_get_size(impl_->keys.at(name).get()));
}

Bytes Pki::sign_pkcs1(const std::string& name, ByteView input) const {
    def_of(name);
    EVP_PKEY* key = impl_->keys.at(name).get();
    const std::size_t k = static_cast<std::size_t>(EVP_PKEY_get_size(key));
    if (input.size() + 11 > k)
        return {};
    // No digest set: the input is padded as-is (PKCS#1 v1.5 type 1), as the card does.
    openssl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0)
        openssl_fail("EVP_PKEY_sign_init");
    std::size_t len = k;
    Bytes out(k);
    if (EVP_PKEY_sign(ctx.get(), out.data(), &len, input.data(), input.size()) <= 0)
        return {};
    out.resize(len);
    return out;
}

} // namespace harness::emu
