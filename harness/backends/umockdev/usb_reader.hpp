#pragma once
// One emulated USB CCID reader inside the lab's umockdev testbed: the usbdevfs ioctls a libusb
// client (pcscd's libccid, `cardharness readers`) sends to its device node, answered from the
// reader's firmware (services/lab CcidFirmware). Bulk OUT is one PC_to_RDR message; bulk IN and
// interrupt IN URBs wait until the firmware has a reply (the handler never blocks: a reap with
// nothing ready answers EAGAIN and libusb reaps again); control transfers on endpoint 0 answer
// GET_DESCRIPTOR and the CCID class requests.
//
// libusb waits for completions with poll(POLLOUT) on the device node, which umockdev makes a
// regular file (always "ready": libusb would reap in a loop, and pcscd's one libusb event
// thread serves every reader). The testbed makes the node a FIFO instead, kept full while
// nothing can be reaped and given one free page (POLLOUT) when something can: a completed URB,
// a firmware reply whose time has come (a timer on the testbed's worker thread), or a
// NotifySlotChange (wake()).
#include "pure/usb_descriptors.hpp"
#include "services/lab/ccid_firmware.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace harness::umock {

using ReaderFirmware = std::shared_ptr<lab::CcidFirmware>;

// What the handler did, for `lab status`, the benchmark and tests.
struct UsbCounters {
    std::uint64_t ioctls = 0;      // every usbdevfs request
    std::uint64_t submits = 0;     // SUBMITURB
    std::uint64_t reaps = 0;       // REAPURB(NDELAY) answered with a URB
    std::uint64_t reaps_empty = 0; // REAPURB(NDELAY) answered EAGAIN (libusb retrying)
    std::uint64_t discards = 0;    // DISCARDURB
    std::uint64_t control = 0;     // control transfers on endpoint 0
    std::uint64_t claims = 0;      // CLAIMINTERFACE
    std::uint64_t clients = 0;     // connections (opens of the device node)
    std::uint64_t other = 0;       // requests answered ENOTTY
    std::uint64_t interrupts = 0;  // interrupt URBs handed back with a NotifySlotChange
    std::uint64_t bulk_out_since_interrupt = 0; // PC_to_RDR messages since the last of them
    std::chrono::nanoseconds handler_time{0};   // time spent inside the handler
};

class UsbReader {
public:
    UsbReader(usbdesc::Device description, usbdesc::Location location, ReaderFirmware firmware);
    ~UsbReader();
    UsbReader(const UsbReader&) = delete;
    UsbReader& operator=(const UsbReader&) = delete;

    const usbdesc::Device& description() const { return description_; }
    const usbdesc::Location& location() const { return location_; }
    lab::CcidFirmware& firmware() const { return *firmware_; }
    // 0x0020BBAA, the SCARD_ATTR_CHANNEL_ID libccid reports for this device.
    std::uint32_t channel_id() const;

    // A client claimed the CCID interface (libccid opened the reader) and it is still plugged.
    bool claimed() const { return claimed_.load(); }
    bool plugged() const { return plugged_.load(); }
    UsbCounters counters() const;

    // The GLib ioctl handler object (a UMockdevIoctlBase*), for the testbed.
    void* handler() const;
    // The FIFO at the device node (testbed side, non-blocking): filled now, drained when ready.
    void set_wakeup_fifo(int fd);
    // Ends every pending transfer with ESHUTDOWN; every later request answers ENODEV.
    void disconnect();
    // Re-evaluates readiness (the firmware queued a NotifySlotChange).
    void wake();

private:
    struct Impl;
    usbdesc::Device description_;
    usbdesc::Location location_;
    ReaderFirmware firmware_;
    std::unique_ptr<Impl> impl_;
    std::atomic<bool> claimed_{false};
    std::atomic<bool> plugged_{true};
    friend struct Handler;
};

} // namespace harness::umock
