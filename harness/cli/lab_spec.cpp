#include "cli/lab_spec.hpp"

#include "cli/lab_ccid.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "services/emu/card.hpp"
#include "services/lab/lab_config.hpp"
#include "services/lab/reader_model.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <unistd.h>

namespace harness::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_pcscd_readers = 16; // pcsc-lite PCSCLITE_MAX_READERS_CONTEXTS

fs::path driver_path(const std::string& option) {
    if (!option.empty())
        return fs::absolute(option);
    return io::paths::lab_driver();
}

std::shared_ptr<io::VirtualCard> make_card(const std::string& profile, bool citizen) {
    emu::Options options;
    options.citizen = citizen;
    try {
        return std::shared_ptr<io::VirtualCard>(emu::make_card(profile, options));
    } catch (const ConfigError& e) {
        throw UsageError(fmt::format("card profile \"{}\": {}", profile, e.what()));
    }
}

std::map<std::string, int> pins_of(io::VirtualCard& card) {
    if (auto* emulated = dynamic_cast<emu::Card*>(&card))
        return emulated->state().tries_left;
    return {};
}

} // namespace

labd::Client lab_client(const std::string& dir) {
    return labd::Client(dir.empty() ? io::paths::default_lab_dir() : fs::path(dir));
}

labd::LabSpec make_lab_spec(const LabSpecRequest& request) {
    if (request.usb && request.system_pcscd)
        throw UsageError(
            "lab start: --usb runs its own pcscd under umockdev; it cannot be combined "
            "with --system-pcscd");
    const fs::path profiles = io::paths::profiles_dir();
    const fs::path lab_file =
        request.lab_file.empty() ? profiles / "labs" / "default.csv" : fs::path(request.lab_file);
    labd::LabSpec spec;
    spec.folder = lab_client(request.dir).folder();
    spec.models = lab::load_reader_model_dir(profiles / "readers");
    spec.slots = lab::load_lab(lab_file, spec.models);
    if (spec.slots.size() > max_pcscd_readers)
        throw ConfigError(fmt::format("{}:1:1: expected at most {} slots (pcscd's reader limit)",
                                      lab_file.string(), max_pcscd_readers));
    const auto known = emu::profile_names();
    for (const auto& slot : spec.slots)
        if (slot.card && std::find(known.begin(), known.end(), *slot.card) == known.end())
            throw UsageError(fmt::format("{}: slot {}: unknown card profile \"{}\" (known: {})",
                                         lab_file.string(), slot.slot, *slot.card,
                                         fmt::join(known, ", ")));
    if (::geteuid() != 0)
        throw EnvironmentError(
            request.system_pcscd ? "lab start --system-pcscd needs root (writes "
                                   "/etc/reader.conf.d and restarts pcscd)"
                                 : "lab start needs root: the private pcscd runs in its own mount "
                                   "namespace (unshare) with a bind mount over /run/pcscd");
    const auto pcscd = labd::find_executable("pcscd");
    if (!pcscd)
        throw EnvironmentError("pcscd not found (apt-get install pcscd)");
    if (!request.system_pcscd && !labd::unshare_permitted())
        throw EnvironmentError("unshare(CLONE_NEWNS) is not permitted here (a container without "
                               "CAP_SYS_ADMIN?); try --system-pcscd");
    spec.driver = driver_path(request.driver);
    if (!request.usb && !fs::exists(spec.driver))
        throw EnvironmentError(fmt::format("reader driver not found at {} (build the "
                                           "ifdcardharness target, or pass --driver / "
                                           "$CARDHARNESS_IFD_DRIVER)",
                                           spec.driver.string()));
    spec.pcscd = *pcscd;
    spec.factory = make_card;
    spec.probe = pins_of;
    spec.system_pcscd = request.system_pcscd;
    spec.pcscd_debug = request.pcscd_debug;
    if (request.usb)
        spec.extension = labccid::usb_extension(); // needs reexec_under_preload() first
    for (const auto& conf : request.extra_reader_confs)
        spec.extra_reader_confs.emplace_back(conf);
    return spec;
}

OwnedLab::OwnedLab(const LabSpecRequest& request) : client_(lab_client(request.dir)) {
    labd::StartOptions options;
    options.owner_pid = ::getpid();
    if (request.usb)
        options.keep_fds = labccid::preload_fds();
    pcsc_socket_ = client_.start(make_lab_spec(request), options).pcsc_socket;
    running_ = true;
}

void OwnedLab::stop() noexcept {
    if (!running_)
        return;
    running_ = false;
    try {
        client_.stop();
    } catch (...) {
        // Already gone (it ends with us anyway); nothing to do.
    }
}

} // namespace harness::cli
