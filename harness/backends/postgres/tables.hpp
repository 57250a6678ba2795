#pragma once
// What `cardharness push` copies to the central PostgreSQL store, declared once per table: its
// columns (with the SQL that reads each from the station's SQLite database) and its local key.
// The central schema's migrations, the staging tables, the COPY column lists and the
// INSERT … ON CONFLICT statements are all generated from these declarations.
//
// Adding a column the station database gained is one line in tables.cpp, with `since` set to
// the next central schema version: that version's migration then adds it (ALTER TABLE … ADD
// COLUMN) and every station pushing with this client needs the server migrated to it.
// Shipped migrations never change (tables_test pins them).
//
// Every central row is keyed by (station, run_uuid) + the table's local key, so a push that is
// repeated, or resumed after a crash, adds nothing twice. No pqxx here: this is plain data.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace harness::central {

inline constexpr std::string_view schema_name = "cardharness";

enum class ColumnType { Text, Integer, BigInt, Boolean, Bytea };

struct Column {
    std::string_view name;  // central column name
    ColumnType type;        // central type (the value travels as text)
    std::string_view local; // SQL expression over the station database (aliases in `local_from`)
    int since = 1;          // central schema version that added the column
};

struct Table {
    std::string_view name;       // central table (in schema `cardharness`)
    std::string_view local_from; // "<tables> WHERE …" over the station database; ?1 = runs.id
    std::vector<Column> columns; // the first `key` columns are the local key
    std::size_t key = 0;
    // Columns a later push may change while the central row is still unfinished (status
    // running or interrupted): a run or session that completed after an earlier push.
    std::vector<std::string_view> merge = {};
    int since = 1;
};

// The most columns a copied table may have (central.cpp instantiates a COPY row writer per count).
inline constexpr std::size_t max_copy_columns = 48;

// Every copied table, parents before children (the order of a push).
const std::vector<Table>& tables();

// The newest central schema version this cardharness knows.
int schema_version();

// The SQL statements that bring the central schema from version - 1 to `version` (1-based).
std::vector<std::string> migration(int version);

// The same for other declarations than tables() (tests of how a later version is generated).
int schema_version(const std::vector<Table>& declarations);
std::vector<std::string> migration(const std::vector<Table>& declarations, int version);

// Column names of a table at the latest version, in declaration order.
std::vector<std::string> column_names(const Table& table);

// SELECT over the station database giving a table's columns as COPY text (bytea as \x hex).
std::string local_select(const Table& table);

// The temporary staging table a push COPYs a run's rows of every table into (one per
// connection; emptied after each run): column tbl = the table's index in tables(), c1…cN its
// columns as text in declaration order (cast to their types by the INSERTs).
inline constexpr std::string_view staging_table = "ch_stage";
std::size_t staging_width(); // N: the most columns of any table
std::string create_staging_table();
std::vector<std::string> staging_columns(); // tbl, c1 … cN

// How a run's staged rows reach the central tables, with $1 = station and $2 = run UUID:
// INSERT … SELECT … ON CONFLICT on each table's key (nothing for rows the server has; the
// `merge` columns of rows still unfinished there, status running or interrupted, are updated).
// The run row first: its statement returns one row `inserted` (true: the run was not on the
// server) unless the server had it and nothing changed.
std::string insert_run_from_staging();
// Then every other table in one statement that also empties the staging table and returns the
// number of rows added (Merge; NULL for FreshRun, where every staged row is added). FreshRun, for a
// run the same transaction has just inserted, leaves out the conflict clauses: every other table's
// rows need their run row (a foreign key), so none of them can exist yet, and ON CONFLICT doubles
// the cost of an insert in PostgreSQL.
enum class InsertMode { Merge, FreshRun };
std::string insert_rows_from_staging(InsertMode mode);

const char* pg_type(ColumnType type);

} // namespace harness::central
