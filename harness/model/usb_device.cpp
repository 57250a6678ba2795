#include "model/usb_device.hpp"

#include <algorithm>
#include <fmt/core.h>

namespace harness::model {

const CatalogueEntry* ReaderCatalogue::find(std::uint16_t vid, std::uint16_t pid) const {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const CatalogueEntry& e) { return e.vid == vid && e.pid == pid; });
    return it == entries.end() ? nullptr : &*it;
}

const CcidDriverEntry* CcidDriverList::find(std::uint16_t vid, std::uint16_t pid) const {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const CcidDriverEntry& e) { return e.vid == vid && e.pid == pid; });
    return it == entries.end() ? nullptr : &*it;
}

std::string vid_pid_string(std::uint16_t vid, std::uint16_t pid) {
    return fmt::format("{:04X}:{:04X}", vid, pid);
}

} // namespace harness::model
