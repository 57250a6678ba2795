#pragma once
// `run`'s view of a lab: started for the run (--lab), or already running (its status names the
// slots), as the lab socket reports it (labd::Client: no child process, no text parsed back).
#include "services/lab/reader_model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::cli {

struct LabSlot {
    std::string slot;
    std::string pcsc_reader;
    std::string reader_model;
    std::string interface; // contact / type_a / type_b
    std::optional<std::string> card;
    bool citizen = false;
    std::optional<std::uint64_t> generation;
};

struct LabView {
    std::string dir;
    std::string socket;
    std::string driver_name; // [usblab hook] "cardharness lab driver" or "libccid 1.5.2"
    std::vector<LabSlot> slots;
    std::vector<lab::ReaderModel> models;
    const LabSlot* slot_of(const std::string& pcsc_reader) const {
        for (const auto& s : slots)
            if (s.pcsc_reader == pcsc_reader)
                return &s;
        return nullptr;
    }
};

// The lab's slots as its lab socket reports them now. nullopt when no lab runs in `dir`.
std::optional<std::vector<LabSlot>> read_lab_slots(const std::string& dir,
                                                   std::string* socket = nullptr,
                                                   std::string* driver_name = nullptr);

// The lab in `dir` with its reader models (profiles/readers); nullopt when none runs there.
std::optional<LabView> read_lab(const std::string& dir);

} // namespace harness::cli
