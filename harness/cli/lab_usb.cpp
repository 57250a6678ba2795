#include "cli/lab_usb.hpp"

#include "backends/lab/lab_socket.hpp"
#include "io/paths.hpp"
#include "pure/ccid.hpp"
#include "services/lab/reader_model.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;

} // namespace

std::vector<model::UsbDevice> lab_usb_devices() {
    // A private lab's pcscd socket is <lab dir>/run/pcscd.comm; a system-pcscd lab is found in
    // $CARDHARNESS_LAB_DIR or results/lab.
    const char* socket_env = std::getenv("PCSCLITE_CSOCK_NAME");
    fs::path dir = io::paths::default_lab_dir();
    if (socket_env && *socket_env) {
        const fs::path candidate = fs::path(socket_env).parent_path().parent_path();
        if (fs::exists(candidate / "state.json"))
            dir = candidate;
    }
    std::ifstream in(dir / "state.json");
    if (!in)
        return {};
    nlohmann::json state;
    try {
        state = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
        return {};
    }
    // [usblab hook] a --usb lab has real (emulated) USB devices: libusb sees them in its
    // environment.
    if (state.value("driver", "cardharness") == "ccid")
        return {};
    // Only the lab whose pcscd is the one this process talks to.
    const bool system_lab = state.value("system_pcscd", false);
    if (socket_env && *socket_env) {
        // Not fs::equivalent(): libstdc++ answers not_supported for two sockets.
        std::error_code ec;
        const auto ours = fs::weakly_canonical(fs::path(socket_env), ec);
        const auto labs = fs::weakly_canonical(fs::path(state.value("socket", "")), ec);
        if (ec || ours != labs)
            return {};
    } else if (!system_lab) {
        return {};
    }
    nlohmann::json slots;
    try {
        const auto reply =
            labd::call(dir / "lab.sock", labwire::Request{labwire::Op::Status, "", 0, {}});
        slots = nlohmann::json::parse(std::string(reply.data.begin(), reply.data.end()))["slots"];
    } catch (const std::exception&) {
        return {};
    }
    const fs::path profiles = io::paths::profiles_dir();
    std::map<std::string, lab::ReaderModel> models;
    for (auto& m : lab::load_reader_model_dir(profiles / "readers"))
        models.emplace(m.id, m);

    std::vector<model::UsbDevice> devices;
    std::uint8_t index = 0;
    for (const auto& slot : slots) {
        const auto it = models.find(slot.value("reader_model", ""));
        const std::uint8_t address = static_cast<std::uint8_t>(0x10 + index++);
        if (it == models.end())
            continue;
        const lab::ReaderModel& m = it->second;
        model::UsbDevice d;
        d.bus = 1; // as the lab driver's SCARD_ATTR_CHANNEL_ID says: bus 1, address 0x10 + index
        d.address = address;
        d.port_path = "lab-" + slot.value("slot", "");
        d.vid = m.usb.vendor_id;
        d.pid = m.usb.product_id;
        d.bcd_device = m.usb.bcd_device;
        d.manufacturer = m.usb.manufacturer;
        d.product = m.usb.product;
        d.serial = m.usb.serial;
        model::UsbInterface interface;
        interface.interface_class = 0x0B;
        interface.endpoint_count = 3;
        interface.placement = ccid::Placement::InterfaceExtra;
        interface.ccid_descriptor = ccid::encode(m.ccid_descriptor());
        d.interfaces.push_back(std::move(interface));
        d.listed_because = "virtual USB device of the cardharness lab (reader model " + m.id + ")";
        devices.push_back(std::move(d));
    }
    return devices;
}

} // namespace harness::cli
