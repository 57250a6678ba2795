#include "model/result_query.hpp"

#include <stdexcept>

namespace harness::model {
namespace {

constexpr int session_bits = 24; // key = run index << 24 | session index

} // namespace

std::vector<RunHeader> RunsQuery::runs() const {
    std::vector<RunHeader> out;
    out.reserve(runs_.size());
    for (std::size_t r = 0; r < runs_.size(); ++r) {
        const Run& run = runs_[r];
        RunHeader h;
        h.run = run;
        h.run.sessions.clear();
        for (std::size_t s = 0; s < run.sessions.size(); ++s) {
            const Session& session = run.sessions[s];
            h.sessions.push_back(
                SessionHeader{static_cast<std::int64_t>((r << session_bits) | s),
                              std::make_shared<const ReaderIdentity>(session.reader), session.card,
                              session.status, session.cause, session.failure});
        }
        out.push_back(std::move(h));
    }
    return out;
}

std::vector<SuiteResult> RunsQuery::evidence(std::int64_t session_key) const {
    const auto key = static_cast<std::size_t>(session_key);
    const std::size_t r = key >> session_bits;
    const std::size_t s = key & ((std::size_t{1} << session_bits) - 1);
    if (session_key < 0 || r >= runs_.size() || s >= runs_[r].sessions.size())
        throw std::out_of_range("no session with key " + std::to_string(session_key));
    return runs_[r].sessions[s].suites;
}

} // namespace harness::model
