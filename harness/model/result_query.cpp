#include "model/result_query.hpp"

#include <set>
#include <stdexcept>
#include <string>

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

std::vector<RunHeader> UnionQuery::runs() const {
    std::vector<RunHeader> out;
    keys_.clear();
    std::set<std::string> earlier; // the runs of the parts before this one
    for (std::size_t p = 0; p < parts_.size(); ++p) {
        std::vector<std::string> added;
        for (auto& header : parts_[p]->runs()) {
            if (earlier.contains(header.run.uuid))
                continue;
            added.push_back(header.run.uuid);
            for (auto& session : header.sessions) {
                keys_.emplace_back(p, session.key);
                session.key = static_cast<std::int64_t>(keys_.size() - 1);
            }
            out.push_back(std::move(header));
        }
        earlier.insert(added.begin(), added.end());
    }
    return out;
}

std::vector<SuiteResult> UnionQuery::evidence(std::int64_t session_key) const {
    if (session_key < 0 || static_cast<std::size_t>(session_key) >= keys_.size())
        throw std::out_of_range("no session with key " + std::to_string(session_key));
    const auto& [part, key] = keys_[static_cast<std::size_t>(session_key)];
    return parts_[part]->evidence(key);
}

} // namespace harness::model
