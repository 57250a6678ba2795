#pragma once
// The lab's virtual USB bus. When PCSCLITE_CSOCK_NAME points at the private pcscd of a running
// lab, each lab reader also gets the USB identity its model declares (VID, PID, bcdDevice,
// strings and a CCID class descriptor consistent with its quirks), at the bus/address its
// driver reports as SCARD_ATTR_CHANNEL_ID. The inventory join and the My Number prediction then
// work on lab readers exactly as on hardware (no libusb device exists for them).
#include "model/usb_device.hpp"

#include <vector>

namespace harness::cli {

// Empty when no running lab serves the PC/SC socket in use.
std::vector<model::UsbDevice> lab_usb_devices();

} // namespace harness::cli
