#pragma once
// `run` on the hardware path: the libusb side of a PC/SC reader (its USB device and CCID class
// descriptor), joined as `readers` joins them (TLV VID/PID + channel id, services/inventory), so a
// hardware reader's diagnosis uses its real descriptor as a lab reader's uses its model's. USB is
// enumerated once per process; without libusb access nothing changes.
#include "model/pcsc_reader.hpp"
#include "model/run.hpp"
#include "services/plan/plan.hpp"

namespace harness::cli {

// The reader's CCID descriptor from its USB device, when facts has none yet.
void add_usb_descriptor(const model::PcscReader& info, plan::ReaderFacts& facts);
// VID, PID, bcdDevice and the strings PC/SC did not give (libccid answers no
// SCARD_ATTR_VENDOR_IFD_TYPE), from the same USB device.
void add_usb_identity(const model::PcscReader& info, model::ReaderIdentity& identity);

} // namespace harness::cli
