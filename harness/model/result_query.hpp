#pragma once
// What a report reads from a results store: the runs (headers, verdicts, and their sessions
// without steps) and, for the few sessions a report shows, their evidence (suites, steps,
// exchanges). A report over years of runs touches the steps of one session per matrix cell only,
// so its time and memory grow with what it shows, not with the database.
//
// Implemented by the SQLite store (store::Store::query), by runs already in memory
// (model::RunsQuery, for tests and JSON imports), and by any other store a report should read
// (the central PostgreSQL store). The report's rules (which session decides a cell) live in one
// place, services/report/build.cpp, above this interface.
#include "model/run.hpp"

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace harness::model {

// A session without its suites: who, which card, how it ended, and the key of its evidence.
struct SessionHeader {
    std::int64_t key = 0; // opaque to the report: ResultQuery::evidence(key)
    std::shared_ptr<const ReaderIdentity> reader; // shared: many sessions, few readers
    CardRecord card;
    RunStatus status = RunStatus::Complete;
    std::string cause;
    FailureKind failure = FailureKind::None;
};

// A run without its sessions' steps: `run` has its environment, suites and verdicts, and no
// sessions; `sessions` are its sessions in their stored order.
struct RunHeader {
    Run run;
    std::vector<SessionHeader> sessions;
};

class ResultQuery {
public:
    virtual ~ResultQuery() = default;
    // Every run the query covers (in any order), with verdicts and session headers.
    virtual std::vector<RunHeader> runs() const = 0;
    // The suites and steps (with exchanges and CCID traces) of one session of runs().
    virtual std::vector<SuiteResult> evidence(std::int64_t session_key) const = 0;
};

// Runs already in memory as a ResultQuery (the runs must outlive it).
class RunsQuery final : public ResultQuery {
public:
    explicit RunsQuery(const std::vector<Run>& runs) : runs_(runs) {}
    std::vector<RunHeader> runs() const override;
    std::vector<SuiteResult> evidence(std::int64_t session_key) const override;

private:
    const std::vector<Run>& runs_;
};

// Several stores read as one (`report --db A --db postgresql://…`): a run found in several stores
// (a station's file and the server it pushed to) counts once, as the first store that has it
// holds it; within one store every run counts (two stations on a server may share a UUID, each is
// its own run). The parts are not owned and must outlive the union.
class UnionQuery final : public ResultQuery {
public:
    explicit UnionQuery(std::vector<const ResultQuery*> parts) : parts_(std::move(parts)) {}
    std::vector<RunHeader> runs() const override;
    std::vector<SuiteResult> evidence(std::int64_t session_key) const override;

private:
    std::vector<const ResultQuery*> parts_;
    // The union's session key is an index here: which part, and the part's own key.
    mutable std::vector<std::pair<std::size_t, std::int64_t>> keys_;
};

} // namespace harness::model
