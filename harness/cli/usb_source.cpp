#include "cli/usb_source.hpp"

#include "backends/usb/usb.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <cstdlib>
#include <filesystem>
#include <fmt/core.h>
#include <optional>

namespace harness::cli {
namespace {

std::optional<std::uint16_t> parse_hex16(std::string_view text) {
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text.remove_prefix(2);
    const auto value = hex::parse_number(text, 4);
    if (!value)
        return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

} // namespace

std::pair<std::uint16_t, std::uint16_t> parse_vid_pid(std::string_view text) {
    const auto colon = text.find(':');
    const auto vid =
        colon == std::string_view::npos ? std::nullopt : parse_hex16(text.substr(0, colon));
    const auto pid =
        colon == std::string_view::npos ? std::nullopt : parse_hex16(text.substr(colon + 1));
    if (!vid || !pid)
        throw UsageError(fmt::format("expected VID:PID in hex like 054C:0DC8, got \"{}\"", text));
    return {*vid, *pid};
}

std::vector<model::UsbDevice> discover_usb_readers() {
    usb::Options options;
    // The shipped catalogue lives in the source tree; an installed binary without it still
    // lists CCID readers. A catalogue named by $CARDHARNESS_CATALOGUE must exist.
    const auto catalogue = usb::default_catalogue_path();
    std::error_code ec;
    if (std::getenv("CARDHARNESS_CATALOGUE") || std::filesystem::exists(catalogue, ec))
        options.catalogue = usb::load_catalogue(catalogue);
    options.ccid_driver = usb::load_installed_ccid_driver_list();
    return usb::enumerate(options);
}

DescribeInput describe_usb(const std::string& vid_pid) {
    const auto [vid, pid] = parse_vid_pid(vid_pid);
    const auto devices = discover_usb_readers();
    for (const auto& device : devices) {
        if (device.vid != vid || device.pid != pid)
            continue;
        auto input = describe_usb_device(device);
        input.source =
            fmt::format("usb {} (bus {} address {}, port {})", model::vid_pid_string(vid, pid),
                        device.bus, device.address, device.port_path);
        if (device.catalogue)
            input.findings.push_back({Severity::Warning, "non_ccid_reader",
                                      device.catalogue->note_en, device.catalogue->note_ja});
        if (device.listed_by_ccid_driver && *device.listed_by_ccid_driver)
            input.findings.push_back(
                {Severity::Info, "listed_by_ccid_driver",
                 fmt::format("the installed CCID driver lists this reader as \"{}\"",
                             device.ccid_driver_name.value_or("")),
                 fmt::format("インストール済みの CCID ドライバーの対応リストに \"{}\" として掲載",
                             device.ccid_driver_name.value_or(""))});
        else if (device.listed_by_ccid_driver)
            input.findings.push_back(
                {Severity::Warning, "not_listed_by_ccid_driver",
                 "the installed CCID driver does not list this VID:PID: pcscd will not use it "
                 "unless another driver does",
                 "インストール済みの CCID ドライバーの対応リストにない VID:PID: 他のドライバーが"
                 "なければ pcscd は使わない"});
        return input;
    }
    throw EnvironmentError(
        fmt::format("no USB device {} found ({} smart-card reader(s) on the bus)",
                    model::vid_pid_string(vid, pid), devices.size()));
}

} // namespace harness::cli
