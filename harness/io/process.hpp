#pragma once
// Who runs a run, and whether that process still lives: the owner recorded with a run (and in a
// run lock) so that a later process can tell a live run from one whose process died (kill -9,
// power loss) without guessing.
#include "model/run.hpp"

#include <string>

namespace harness::io {

// This process: host name, pid, and "<boot id>/<start time in clock ticks>" from /proc, which
// tells this process apart from a later one that reuses its pid.
model::RunOwner current_process();

enum class Liveness { Alive, Gone, Unknown };

// Alive or Gone for a process of this host; Unknown for another host's (we cannot look) or an
// owner recorded without a pid. Gone when no process has the pid, or the process with that pid
// started at another time or before another boot (the pid was reused).
Liveness liveness(const model::RunOwner& owner);

// "host H, pid P" (+ ", started S" when `started_at` is given), for messages.
std::string describe(const model::RunOwner& owner, const std::string& started_at = {});

} // namespace harness::io
