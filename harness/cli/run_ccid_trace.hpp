#pragma once
// `run` on a lab started with --usb: for each failing step, the CCID messages the slot's
// emulated reader firmware saw and sent during that step (redacted by the lab), stored with the
// step (model::StepResult::ccid_trace) so the technical report shows the firmware's side.
#include "model/run.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace harness::cli {

class StepTraces {
public:
    // Inactive (does nothing) without a lab socket or slot: hardware, or a lab on our driver.
    StepTraces(std::filesystem::path lab_socket, std::string slot);
    // The suite runner's progress callback: a step starts now.
    void step_started(const std::string& suite_id, const std::string& step_id);
    // Fills ccid_trace of every failing step of the session (one request to the lab).
    void attach(model::Session& session) const;

private:
    std::filesystem::path socket_;
    std::string slot_;
    std::chrono::steady_clock::time_point session_start_;
    std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> starts_;
};

} // namespace harness::cli
