#pragma once
// Why a run stops early (RunStop), and the one place its sessions are written (ResultSink).
// Both are shared by `run`'s reader threads.
#include "model/run.hpp"
#include "services/store/store.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

namespace harness::cli {

// The first reason the run stopped early; later ones do not replace it. A request also raises
// the run's cancel flag: the runner aborts the remaining steps of every session.
class RunStop {
public:
    enum class Why { None, Signal, Environment, Store };
    explicit RunStop(std::atomic<bool>& cancel) : cancel_(cancel) {}

    void request(Why why, model::FailureKind kind, std::string message);
    Why why() const;
    model::FailureKind kind() const;
    std::string message() const;

private:
    std::atomic<bool>& cancel_;
    mutable std::mutex mutex_;
    Why why_ = Why::None;
    model::FailureKind kind_ = model::FailureKind::None;
    std::string message_;
};

// Writes each session with its verdict in one transaction (store::Store::add_session), one
// writer at a time. The first write failure (disk full, I/O, corrupt) stops the run: nothing is
// written after it, so the database never holds a verdict without its steps or a run that claims
// more than it holds.
class ResultSink {
public:
    ResultSink(store::Store& db, std::string run_uuid, RunStop& stop)
        : db_(db), uuid_(std::move(run_uuid)), stop_(stop) {}

    bool write(const model::Session& session, const model::Verdict& verdict);
    std::string error() const;
    std::size_t stored() const;

private:
    store::Store& db_;
    std::string uuid_;
    RunStop& stop_;
    mutable std::mutex mutex_;
    std::string error_;
    std::size_t stored_ = 0;
};

} // namespace harness::cli
