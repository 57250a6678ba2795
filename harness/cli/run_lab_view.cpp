#include "cli/run_lab_view.hpp"

#include "cli/lab_ccid.hpp"
#include "cli/lab_spec.hpp"
#include "io/paths.hpp"

#include <cstdlib>
#include <exception>

namespace harness::cli {

// The lab's slots as its lab socket reports them now (labd::Client: no child process, no text
// parsed back). nullopt when no lab runs in `dir`.
std::optional<std::vector<LabSlot>> read_lab_slots(const std::string& dir, std::string* socket,
                                                   std::string* driver_name) {
    try {
        labd::LabStatus st = lab_client(dir).status();
        // A --usb lab: pcscd names libccid's readers in order of appearance; ask the lab's pcscd,
        // but only when it is the one this process talks to (libpcsclite reads the variable once).
        const char* ours = std::getenv("PCSCLITE_CSOCK_NAME");
        if (st.extra.value("driver", "cardharness") == "ccid" && ours && st.pcsc_socket == ours)
            labccid::resolve_reader_names(st.slots, st.pcsc_socket);
        if (socket)
            *socket = st.pcsc_socket;
        if (driver_name)
            *driver_name = st.extra.value("driver_name", "cardharness lab driver");
        std::vector<LabSlot> slots;
        for (const auto& info : st.slots) {
            const lab::SlotStatus& s = info.status;
            slots.push_back(LabSlot{s.slot, s.pcsc_reader, s.reader_model,
                                    std::string(lab::to_string(s.interface)), s.card, s.citizen,
                                    s.generation});
        }
        return slots;
    } catch (const std::exception&) {
        return std::nullopt; // no lab there, or it went away
    }
}

std::optional<LabView> read_lab(const std::string& dir) {
    LabView view;
    view.dir = lab_client(dir).folder().dir.string();
    auto slots = read_lab_slots(dir, &view.socket, &view.driver_name);
    if (!slots)
        return std::nullopt;
    view.slots = std::move(*slots);
    view.models = lab::load_reader_model_dir(io::paths::profiles_dir() / "readers");
    return view;
}

} // namespace harness::cli
