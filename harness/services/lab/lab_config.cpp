#include "services/lab/lab_config.hpp"

#include "io/csv.hpp"

#include <set>

namespace harness::lab {

std::vector<SlotConfig> load_lab(const std::filesystem::path& file,
                                 const std::vector<ReaderModel>& models) {
    constexpr std::string_view columns[] = {"slot", "reader_model", "card", "interface", "citizen"};
    const auto table = io::csv::read(file, columns, {.what = "lab file"});
    std::vector<SlotConfig> slots;
    std::set<std::string> seen;
    for (const auto& row : table.rows()) {
        SlotConfig slot;
        slot.slot = row.cells[0];
        if (slot.slot.empty() || slot.slot.size() > 16 ||
            slot.slot.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") !=
                std::string::npos)
            table.fail(row, 0, "a slot id of 1-16 characters a-z, 0-9, '-' or '_'");
        if (!seen.insert(slot.slot).second)
            table.fail(row, 0, "a slot id not used before in this lab");
        slot.reader_model = row.cells[1];
        if (!find_model(models, slot.reader_model))
            table.fail(row, 1, "a reader model id from profiles/readers");
        if (!row.cells[2].empty())
            slot.card = row.cells[2];
        const auto interface = interface_from_string(row.cells[3]);
        if (!interface)
            table.fail(row, 3, "contact, type_a or type_b");
        slot.interface = *interface;
        if (row.cells[4] == "yes")
            slot.citizen = true;
        else if (row.cells[4] != "no" && !row.cells[4].empty())
            table.fail(row, 4, "yes or no");
        slots.push_back(std::move(slot));
    }
    if (slots.empty())
        throw ConfigError(file.string() + ":1:1: expected at least one slot row");
    return slots;
}

} // namespace harness::lab
