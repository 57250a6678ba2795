#include "cli/inventory_source.hpp"

#include "backends/pcsc/context.hpp"
#include "backends/pcsc/reader_info.hpp"
#include "cli/lab_usb.hpp"
#include "cli/usb_source.hpp"
#include "pure/error.hpp"

namespace harness::cli {

inventory::Sources gather_inventory_sources(std::vector<model::UsbDevice>* hardware) {
    inventory::Sources sources;
    try {
        pcsc::Context context;
        sources.pcsc = pcsc::read_all_readers(context);
        sources.pcsc_available = true;
    } catch (const EnvironmentError& e) {
        sources.pcsc_error = e.what();
    } catch (const Error& e) {
        sources.pcsc_error = e.what();
    }
    try {
        sources.usb = discover_usb_readers();
        sources.usb_available = true;
    } catch (const EnvironmentError& e) {
        sources.usb_error = e.what();
    }
    if (hardware)
        *hardware = sources.usb;
    // A running lab behind PCSCLITE_CSOCK_NAME adds its readers' virtual USB identities.
    for (auto& device : lab_usb_devices())
        sources.usb.push_back(std::move(device));
    return sources;
}

} // namespace harness::cli
