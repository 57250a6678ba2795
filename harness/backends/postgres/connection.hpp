#pragma once
// How this folder connects to a central server and words its failures (shared by the push in
// central.cpp and the reading in central_runs.cpp). Internal to backends/postgres: the only
// includers of pqxx.
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

namespace harness::central::detail {

// libpq's and the server's messages span lines: one line, so a log line or a grep sees all of it.
std::string one_line(std::string_view message);

// Connects (libpq: the URI or key=value words, then the PG* environment variables) as
// `application` (PGAPPNAME unless the caller set one). `option` names the command-line option
// the connection string came from, for the messages. Throws UsageError when it does not parse
// or carries a password (refuse_passwords), EnvironmentError when the server cannot be reached
// or refuses the login.
std::unique_ptr<pqxx::connection> connect(const std::string& conninfo, const char* application,
                                          std::string_view option);

// role@host:port/dbname (never a password); host may be a socket folder.
std::string label(pqxx::connection& conn);

} // namespace harness::central::detail
