#include "backends/postgres/connection.hpp"

#include "backends/postgres/central.hpp"
#include "pure/error.hpp"

#include <cstdlib>

namespace harness::central::detail {
namespace {

std::string or_empty(const char* s) {
    return s ? s : "";
}

} // namespace

// libpq's and the server's messages span lines ("ERROR:  …\nHINT:  …", "\n\tIs the server
// running…").
std::string one_line(std::string_view message) {
    std::string out;
    bool space = false;
    for (const char ch : message) {
        if (ch == '\n' || ch == '\t' || ch == '\r' || ch == ' ') {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += ch;
    }
    return out;
}

std::unique_ptr<pqxx::connection> connect(const std::string& conninfo, const char* application,
                                          std::string_view option) {
    refuse_passwords(conninfo, option);
    // Defaults the caller's environment may override.
    setenv("PGAPPNAME", application, 0);
    setenv("PGCONNECT_TIMEOUT", "10", 0);
    try {
        return std::make_unique<pqxx::connection>(conninfo);
    } catch (const pqxx::failure& e) {
        const std::string message = one_line(e.what());
        std::string hint;
        if (message.find("no password supplied") != std::string::npos)
            hint = " (the password for this role comes from ~/.pgpass or PGPASSFILE)";
        throw EnvironmentError("cannot reach the central server" +
                               (conninfo.empty() ? std::string() : " " + conninfo) + ": " +
                               message + hint);
    }
}

std::string label(pqxx::connection& conn) {
    const std::string host = or_empty(conn.hostname());
    return or_empty(conn.username()) + "@" + (host.empty() ? "localhost" : host) + ":" +
           or_empty(conn.port()) + "/" + or_empty(conn.dbname());
}

} // namespace harness::central::detail
