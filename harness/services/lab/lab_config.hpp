#pragma once
// A lab file (profiles/labs/*.csv): which reader model sits in which slot, holding which card
// profile on which interface. See profiles/labs/README.md.
#include "services/lab/reader_model.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace harness::lab {

struct SlotConfig {
    std::string slot;                // short id, e.g. "r01"
    std::string reader_model;        // ReaderModel::id
    std::optional<std::string> card; // card profile (services/emu), nullopt = empty slot
    Interface interface = Interface::Contact;
    bool citizen = false; // the card stands for a citizen's card (PIN guard applies)
};

// Throws ConfigError "file:line:column: expected …" (unknown model, duplicate slot, ...).
std::vector<SlotConfig> load_lab(const std::filesystem::path& file,
                                 const std::vector<ReaderModel>& models);

} // namespace harness::lab
