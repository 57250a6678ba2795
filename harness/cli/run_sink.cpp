#include "cli/run_sink.hpp"

#include <exception>

namespace harness::cli {

void RunStop::request(Why why, model::FailureKind kind, std::string message) {
    {
        std::lock_guard lock(mutex_);
        if (why_ == Why::None) {
            why_ = why;
            kind_ = kind;
            message_ = std::move(message);
        }
    }
    cancel_ = true; // the runner aborts the remaining steps of every session
}

RunStop::Why RunStop::why() const {
    std::lock_guard lock(mutex_);
    return why_;
}

model::FailureKind RunStop::kind() const {
    std::lock_guard lock(mutex_);
    return kind_;
}

std::string RunStop::message() const {
    std::lock_guard lock(mutex_);
    return message_;
}

bool ResultSink::write(const model::Session& session, const model::Verdict& verdict) {
    std::lock_guard lock(mutex_);
    if (!error_.empty())
        return false;
    try {
        db_.add_session(uuid_, session, verdict);
        ++stored_;
        return true;
    } catch (const std::exception& e) {
        error_ = e.what();
        stop_.request(RunStop::Why::Store, model::FailureKind::Disk, error_);
        return false;
    }
}

std::string ResultSink::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

std::size_t ResultSink::stored() const {
    std::lock_guard lock(mutex_);
    return stored_;
}

} // namespace harness::cli
