#pragma once
// USB discovery of smart-card readers through libusb (the only includer of libusb.h is usb.cpp).
// Reads descriptors only: never claims an interface (pcscd may hold it), so it works next to a
// running pcscd and without root.
#include "model/usb_device.hpp"

#include <filesystem>
#include <optional>
#include <vector>

namespace harness::usb {

struct Options {
    // Known non-CCID readers to list too (load_catalogue()); empty: CCID devices only.
    model::ReaderCatalogue catalogue;
    // The installed CCID driver's reader list (load_ccid_driver_list()); unset: not checked.
    std::optional<model::CcidDriverList> ccid_driver;
    // Read manufacturer/product/serial (sysfs, else GET_DESCRIPTOR through libusb_open).
    bool read_strings = true;
};

// Every device with a CCID interface (class 0x0B; or any class whose extra descriptors, or whose
// last endpoint's, hold a 54-byte type-0x21 descriptor) plus devices the catalogue lists.
// Sorted by bus, then address. Throws EnvironmentError when libusb cannot start.
std::vector<model::UsbDevice> enumerate(const Options& options);

// profiles/readers/catalogue.csv of the source tree (or $CARDHARNESS_CATALOGUE).
std::filesystem::path default_catalogue_path();
// CSV with the header vid,pid,maker,product,interface_class,note_en,note_ja (hex ids without
// "0x"). Throws ConfigError "file:line:column: expected ..." on bad data.
model::ReaderCatalogue load_catalogue(const std::filesystem::path& path);

// /usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist (or $CARDHARNESS_CCID_INFO_PLIST).
std::filesystem::path default_ccid_info_plist_path();
// Throws ConfigError on a malformed plist, EnvironmentError when the file cannot be read.
model::CcidDriverList load_ccid_driver_list(const std::filesystem::path& path);
// Like load_ccid_driver_list(default path) but returns nullopt when the file is absent.
std::optional<model::CcidDriverList> load_installed_ccid_driver_list();

} // namespace harness::usb
