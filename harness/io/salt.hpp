#pragma once
// Salt for anonymous card ids: stable per results database, so the same card gets the same id in
// one database and unlinkable ids across databases. The SQLite store keeps it in its meta table
// (services/store); callers only see this interface.
#include "pure/bytes.hpp"

namespace harness::io {

struct Salt {
    Bytes bytes; // 32 random bytes
};

class SaltStore {
public:
    virtual ~SaltStore() = default;
    // The database's salt, created on first use.
    virtual Salt salt() = 0;
};

} // namespace harness::io
