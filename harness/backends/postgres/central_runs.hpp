#pragma once
// Reading the central store back (`report --db postgresql://…`, `diff`): the runs stations
// pushed, as the same model::Run values the station's SQLite store gives (Store::load_run), so
// a report over the server goes through the one report code path (report::build) and equals the
// report over the stations' files together.
//
// Any role that may connect to the database reads every station's rows (each central table's
// read policy is open; writing stays per station, tables.cpp). All rows come from one read-only
// REPEATABLE READ snapshot: a push landing meanwhile is either wholly in the report or not.
// A run still `running` on the server is shown so: whether its station process lives is not
// known here (the station's next push completes it).
#include "model/run.hpp"

#include <string>
#include <vector>

namespace harness::central {

// True for a connection string `report`/`diff` take as a server rather than a file:
// postgresql://… or postgres://….
bool is_server_uri(const std::string& text);

struct RunQuery {
    std::string station;         // empty: every station
    std::string run_id;          // empty: every run; else a run UUID or a unique prefix
    bool include_survey = false; // also driver-level survey runs (`cardharness survey`)
};

struct CentralRuns {
    std::string label;                 // role@host:port/dbname (never a password)
    std::vector<std::string> stations; // the stations the runs came from, sorted
    std::vector<model::Run> runs;
};

// Throws UsageError when the connection string does not parse or carries a password, the
// database has no cardharness schema, the station is not on the server, or the run id is
// unknown, ambiguous or a survey run without include_survey; EnvironmentError (exit 3) when the
// server cannot be reached, refuses the login or fails, or its schema is older or newer than
// this cardharness reads.
CentralRuns read_runs(const std::string& conninfo, const RunQuery& query);

} // namespace harness::central
