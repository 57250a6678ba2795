#pragma once
// Reading the central store back (`report --db postgresql://…`, `diff`): the runs stations pushed,
// as the report's model::ResultQuery (run headers and verdicts first, then the evidence of the
// sessions a report shows), the interface the station's SQLite store implements too
// (store::Store::query). A report over the server goes through the one report code path
// (report::build) and equals the report over the stations' files together.
//
// Any role that may connect to the database reads every station's rows (each central table's
// read policy is open; writing stays per station, tables.cpp). All rows come from one read-only
// REPEATABLE READ snapshot held while the query lives: a push landing meanwhile is either wholly
// in the report or not. A run still `running` on the server is shown so: whether its station
// process lives is not known here (the station's next push completes it).
#include "model/result_query.hpp"

#include <memory>
#include <string>

namespace harness::central {

// True for a connection string `report`/`diff` take as a server rather than a file:
// postgresql://… or postgres://….
bool is_server_uri(const std::string& text);

struct RunQuery {
    std::string station;         // empty: every station
    std::string run_id;          // empty: every run; else a run UUID or a unique prefix
    bool include_survey = false; // also driver-level survey runs (`cardharness survey`)
};

struct CentralSource {
    std::string label; // role@host:port/dbname (never a password)
    // Holds the server connection and its snapshot; its errors are EnvironmentError (exit 3).
    std::unique_ptr<model::ResultQuery> query;
};

// Throws UsageError when the connection string does not parse or carries a password, the
// database has no cardharness schema, the station is not on the server, or the run id is
// unknown, ambiguous or a survey run without include_survey; EnvironmentError (exit 3) when the
// server cannot be reached, refuses the login or fails, or its schema is older or newer than
// this cardharness reads.
CentralSource open_runs(const std::string& conninfo, const RunQuery& query);

} // namespace harness::central
