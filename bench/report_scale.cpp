// Benchmark: `cardharness report` over a results database of ~1M steps (every format, both views
// of the HTML), against the raw SQL that computes the same cells and their evidence (`sqlite3`
// running one script: the newest verdict per reader identity × card type × interface, its causes,
// and the steps and exchanges of the sessions those cells show), in the same run. Also the peak
// memory (max RSS) of each child.
//
// The big database is built here, in a temporary folder (never in the source tree): a source run,
// copied by SQL (INSERT … SELECT with shifted ids, each copy older than the last) until it holds
// the steps asked for. The source run is a real lab run (`cardharness run --lab --all`, root) or,
// with --tiny / without the lab, the report fixture (tests/tools/report_fixture); --source DB uses
// a results database of your own.
//
//   bench_report_scale [--tiny] [--steps N] [--rounds R] [--source DB]
// Goals (issue 11): every report within 3× of the SQL, peak RSS < 100 MB.
#include "bench_support.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/resource.h>

namespace {

namespace fs = std::filesystem;

struct Measured {
    double ms = 0;
    double peak_mb = 0;
};

// Runs argv with stdout to /dev/null; the wall time and the child's own peak RSS.
Measured measure(const std::vector<std::string>& argv) {
    const auto start = bench::Clock::now();
    const bench::Spawned child =
        bench::spawn(argv, {}, false, true); // stderr: the warnings of every incomplete run
    int status = 0;
    rusage usage{};
    while (::wait4(child.pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    Measured m;
    m.ms = bench::milliseconds_since(start);
    m.peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0; // KiB on Linux
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1))
        bench::fail(fmt::format("{} exited {}", fmt::join(argv, " "),
                                WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    return m;
}

std::int64_t scalar(SQLite::Database& db, const std::string& sql) {
    return db.execAndGet(sql).getInt64();
}

// Copies runs 1..k (row ids) of the database once more, with every id shifted past the current
// maximum, fresh UUIDs, and start times before every run already there (older copies: the newest
// cells stay those of the source run). Schema-agnostic except for the key columns.
void copy_runs(SQLite::Database& db, std::int64_t k, int round) {
    struct Table {
        const char* name;
        std::vector<std::pair<const char*, const char*>>
            shifts;         // column, table whose max shifts it
        const char* filter; // rows of runs 1..k
    };
    const std::vector<Table> tables = {
        {"runs", {{"id", "runs"}}, "id <= :k"},
        {"run_suites", {{"run_id", "runs"}}, "run_id <= :k"},
        {"run_sources", {{"run_id", "runs"}}, "run_id <= :k"},
        {"sessions", {{"id", "sessions"}, {"run_id", "runs"}}, "run_id <= :k"},
        {"steps",
         {{"id", "steps"}, {"session_id", "sessions"}},
         "session_id IN (SELECT id FROM sessions WHERE run_id <= :k)"},
        {"exchanges",
         {{"id", "exchanges"}, {"step_row", "steps"}},
         "step_row IN (SELECT s.id FROM steps s JOIN sessions e ON e.id = s.session_id WHERE "
         "e.run_id <= :k)"},
        {"ccid_trace",
         {{"id", "ccid_trace"}, {"step_row", "steps"}},
         "step_row IN (SELECT s.id FROM steps s JOIN sessions e ON e.id = s.session_id WHERE "
         "e.run_id <= :k)"},
        {"verdicts",
         {{"id", "verdicts"}, {"run_id", "runs"}, {"session_id", "sessions"}},
         "run_id <= :k"},
        {"verdict_causes",
         {{"verdict_id", "verdicts"}},
         "verdict_id IN (SELECT id FROM verdicts WHERE run_id <= :k)"},
    };
    std::map<std::string, std::int64_t> offset;
    for (const char* t : {"runs", "sessions", "steps", "exchanges", "ccid_trace", "verdicts"})
        offset[t] = scalar(db, fmt::format("SELECT COALESCE(MAX(id), 0) FROM {}", t));
    const std::int64_t all = offset["runs"];
    SQLite::Transaction txn(db);
    for (const auto& t : tables) {
        std::string filter = t.filter;
        filter.replace(filter.find(":k"), 2, std::to_string(k));
        db.exec(fmt::format("CREATE TEMP TABLE copy AS SELECT * FROM {} WHERE {}", t.name,
                            k >= all ? "1" : filter));
        std::string set;
        for (const auto& [column, by] : t.shifts)
            set +=
                fmt::format("{}{} = {} + {}", set.empty() ? "" : ", ", column, column, offset[by]);
        if (std::string_view(t.name) == "runs")
            set += fmt::format(
                ", uuid = printf('%08x-0000-4000-8000-%012x', {}, id + {}), "
                "started_at = strftime('%Y-%m-%dT%H:%M:%SZ', started_at, printf('-%d minutes', "
                "id + {})), ended_at = strftime('%Y-%m-%dT%H:%M:%SZ', ended_at, "
                "printf('-%d minutes', id + {}))",
                round, offset["runs"], offset["runs"], offset["runs"]);
        db.exec(fmt::format("UPDATE copy SET {}", set));
        db.exec(fmt::format("INSERT INTO {} SELECT * FROM copy", t.name));
        db.exec("DROP TABLE copy");
    }
    txn.commit();
}

// Grows the database by copies until it holds about `steps` steps; returns the step count.
std::int64_t grow(const fs::path& path, std::int64_t steps) {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA foreign_keys = OFF");
    db.exec("PRAGMA secure_delete = OFF");
    for (int round = 1;; ++round) {
        const std::int64_t have = scalar(db, "SELECT COUNT(*) FROM steps");
        if (have == 0)
            bench::fail(path.string() + " holds no step");
        if (have >= steps)
            break;
        const std::int64_t runs = scalar(db, "SELECT MAX(id) FROM runs");
        const std::int64_t need = steps - have;
        const std::int64_t k = need >= have ? runs : std::max<std::int64_t>(1, runs * need / have);
        copy_runs(db, k, round);
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.exec("ANALYZE");
    return scalar(db, "SELECT COUNT(*) FROM steps");
}

// The same cells and evidence as `report` (newest selection), in one SQL script.
const char* baseline_sql = R"sql(
CREATE TEMP TABLE cell AS
WITH v AS (
    SELECT v.id AS verdict_id, v.session_id, v.card_type, v.interface, v.verdict,
           v.diagnosis_en, v.diagnosis_ja, r.uuid, r.started_at,
           CASE WHEN d.vid IS NULL OR d.pid IS NULL THEN 'pcsc:' || v.reader
                ELSE printf('%04X:%04X/%s/%s/%s', d.vid, d.pid,
                            COALESCE(printf('%04X', d.bcd_device), '-'), d.manufacturer,
                            d.product) END AS reader_key,
           CASE v.verdict WHEN 'incompatible' THEN 3 WHEN 'partial' THEN 2
                          WHEN 'compatible' THEN 1 ELSE 0 END AS severity
    FROM verdicts v JOIN runs r ON r.id = v.run_id
    LEFT JOIN sessions s ON s.id = v.session_id LEFT JOIN readers d ON d.id = s.reader_id
    WHERE r.id NOT IN (SELECT run_id FROM run_sources))
SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY reader_key, card_type, interface
                                 ORDER BY started_at DESC, uuid DESC, severity DESC) AS n
    FROM v) WHERE n = 1;
SELECT c.reader_key, c.card_type, c.interface, c.verdict, c.diagnosis_en, c.diagnosis_ja,
       c.uuid, c.started_at, d.*, (SELECT group_concat(code, ' ') FROM verdict_causes
                                   WHERE verdict_id = c.verdict_id)
FROM cell c LEFT JOIN sessions s ON s.id = c.session_id LEFT JOIN readers d ON d.id = s.reader_id
ORDER BY c.reader_key, c.card_type, c.interface;
SELECT r.* FROM runs r WHERE r.status != 'complete' OR r.uuid IN (SELECT uuid FROM cell);
SELECT c.reader_key, st.*, ex.* FROM cell c JOIN steps st ON st.session_id = c.session_id
LEFT JOIN exchanges ex ON ex.step_row = st.id ORDER BY c.reader_key, st.seq, ex.seq;
)sql";

fs::path source_database(const fs::path& work, bool tiny, const std::string& given) {
    if (!given.empty())
        return given;
    const fs::path db = work / "source.db";
    const fs::path cardharness = bench::cardharness_binary();
    if (!fs::exists(cardharness))
        bench::skip(cardharness.string() + " not found");
    if (!tiny && ::geteuid() == 0) {
        // A real lab run of the default lab (what a station stores), when the lab can run here.
        const auto [rc, out] = bench::run({cardharness.string(), "run", "--lab", "--lab-dir",
                                           (work / "lab").string(), "--all", "--db", db.string()},
                                          {}, true);
        if ((rc == 0 || rc == 1) && fs::exists(db)) {
            fmt::print("source: a real lab run (cardharness run --lab --all)\n");
            return db;
        }
        fmt::print("source: the lab could not run here (exit {}); using the report fixture\n", rc);
        fs::remove(db);
    }
    const fs::path fixture = bench::build_dir() / "tools" / "report_fixture";
    if (!fs::exists(fixture))
        bench::skip(fixture.string() + " not found (build the tools)");
    const auto [rc, out] = bench::run({fixture.string(), db.string()}, {}, true);
    if (rc != 0)
        bench::fail("report_fixture failed");
    fmt::print("source: the report fixture (tests/tools/report_fixture)\n");
    return db;
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded([&] {
        bool tiny = false;
        std::int64_t steps = 1000000;
        int rounds = 3;
        std::string source;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--tiny")
                tiny = true;
            else if (a == "--steps" && i + 1 < argc)
                steps = std::atoll(argv[++i]);
            else if (a == "--rounds" && i + 1 < argc)
                rounds = std::atoi(argv[++i]);
            else if (a == "--source" && i + 1 < argc)
                source = argv[++i];
            else {
                fmt::print(stderr, "usage: bench_report_scale [--tiny] [--steps N] [--rounds R] "
                                   "[--source DB]\n");
                return 2;
            }
        }
        if (tiny) {
            steps = std::min<std::int64_t>(steps, 5000);
            rounds = 1;
        }
        if (!fs::exists("/usr/bin/sqlite3"))
            bench::skip("/usr/bin/sqlite3 not found (apt-get install sqlite3)");
        bench::TempDir work;
        const fs::path src = source_database(work.path(), tiny, source);
        const fs::path db = work.path() / "big.db";
        fs::copy_file(src, db);
        const auto grow_start = bench::Clock::now();
        const std::int64_t have = grow(db, steps);
        fmt::print("database: {} steps, {:.0f} MB, built in {:.1f} s\n", have,
                   static_cast<double>(fs::file_size(db)) / 1e6,
                   bench::milliseconds_since(grow_start) / 1000);
        const fs::path script = work.path() / "baseline.sql";
        std::ofstream(script) << baseline_sql;

        const std::string ch = bench::cardharness_binary().string();
        struct Variant {
            std::string name;
            std::vector<std::string> args;
        };
        const std::vector<Variant> variants = {
            {"report html public", {"--format", "html", "--view", "public"}},
            {"report html technical", {"--format", "html", "--view", "technical"}},
            {"report json", {"--format", "json"}},
            {"report csv", {"--format", "csv"}},
            {"report md", {"--format", "md"}},
            {"report junit", {"--format", "junit"}},
        };
        std::vector<double> sql_ms, sql_mb;
        std::vector<std::vector<double>> ms(variants.size()), mb(variants.size());
        for (int r = 0; r < rounds; ++r) {
            const Measured base =
                measure({"/usr/bin/sqlite3", "-readonly", db.string(), ".read " + script.string()});
            sql_ms.push_back(base.ms);
            sql_mb.push_back(base.peak_mb);
            for (std::size_t v = 0; v < variants.size(); ++v) {
                std::vector<std::string> command = {ch,          "report", "--db",
                                                    db.string(), "--out",  "-"};
                command.insert(command.end(), variants[v].args.begin(), variants[v].args.end());
                const Measured m = measure(command);
                ms[v].push_back(m.ms);
                mb[v].push_back(m.peak_mb);
            }
        }
        const double base_ms = bench::median(sql_ms);
        const double base_mb = bench::median(sql_mb);
        double worst_mb = 0;
        for (std::size_t v = 0; v < variants.size(); ++v) {
            const double t = bench::median(ms[v]);
            bench::result(fmt::format("{} ({}k steps)", variants[v].name, have / 1000), t, base_ms,
                          "ms", "<= 3x SQL", t <= 3 * base_ms);
            worst_mb = std::max(worst_mb, *std::max_element(mb[v].begin(), mb[v].end()));
        }
        bench::result(fmt::format("report peak RSS ({}k steps)", have / 1000), worst_mb, base_mb,
                      "MB", "< 100 MB", worst_mb < 100);
        return 0;
    });
}
