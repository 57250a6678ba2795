#pragma once
// What `readers`, `describe --reader` and `doctor` join: every PC/SC reader pcscd lists, every
// USB smart-card reader libusb enumerates, and a running lab's virtual USB identities.
#include "model/usb_device.hpp"
#include "services/inventory/inventory.hpp"

#include <vector>

namespace harness::cli {

// Never throws for an unreachable pcscd or libusb: the sources say why they are unavailable.
// `hardware`, when given, receives the devices libusb enumerated (not the lab's virtual ones).
inventory::Sources gather_inventory_sources(std::vector<model::UsbDevice>* hardware = nullptr);

} // namespace harness::cli
