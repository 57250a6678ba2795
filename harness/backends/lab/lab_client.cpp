#include "backends/lab/lab_client.hpp"

#include "backends/fd_io.hpp"
#include "backends/lab/lab_socket.hpp"
#include "pure/error.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/file.h>
#include <unistd.h>

namespace harness::labd {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using fdio::Fd;

std::string text_of(const labwire::Reply& reply) {
    return std::string(reply.data.begin(), reply.data.end());
}

std::uint16_t hex16(const Json& j, const char* key) {
    const std::string text = j.value(key, "0");
    return static_cast<std::uint16_t>(std::strtoul(text.c_str(), nullptr, 16));
}

SlotInfo slot_from_json(const Json& s) {
    SlotInfo info;
    lab::SlotStatus& st = info.status;
    st.slot = s.value("slot", "");
    st.pcsc_reader = s.value("pcsc_reader", "");
    st.reader_model = s.value("reader_model", "");
    st.interface = lab::interface_from_string(s.value("interface", "contact"))
                       .value_or(lab::Interface::Contact);
    if (s.contains("card") && s["card"].is_string())
        st.card = s["card"].get<std::string>();
    st.citizen = s.value("citizen", false);
    if (s.contains("pins") && s["pins"].is_object())
        for (const auto& [name, left] : s["pins"].items())
            if (left.is_number_integer())
                st.pins[name] = left.get<int>();
    st.opened = s.value("opened", false);
    if (s.contains("generation") && s["generation"].is_number_unsigned())
        st.generation = s["generation"].get<std::uint64_t>();
    if (s.contains("pcsc_reader_prefix") && s["pcsc_reader_prefix"].is_string())
        info.pcsc_reader_prefix = s["pcsc_reader_prefix"].get<std::string>();
    for (const char* key : {"usb_device", "ccid_status", "firmware"})
        if (s.contains(key))
            info.device[key] = s[key];
    if (s.contains("usb") && s["usb"].is_object()) {
        const Json& u = s["usb"];
        info.usb.vendor_id = hex16(u, "vendor_id");
        info.usb.product_id = hex16(u, "product_id");
        info.usb.bcd_device = hex16(u, "bcd_device");
        info.usb.manufacturer = u.value("manufacturer", "");
        info.usb.product = u.value("product", "");
        info.usb.serial = u.value("serial", "");
    }
    return info;
}

// Ends a lab process: a Stop request, else SIGTERM, else SIGKILL; returns once it has ended
// (its pidfd, not a sleep loop), then makes sure its pcscd is gone too.
void stop_lab(const LabFolder& folder, const LabState& state) {
    Fd pidfd(open_pidfd(state.pid));
    try {
        call(folder.socket(), labwire::Request{labwire::Op::Stop, "", 0, {}},
             std::chrono::seconds(5));
    } catch (const EnvironmentError&) {
        ::kill(state.pid, SIGTERM); // a lab that no longer answers is ended by signal
    }
    if (pidfd.get() >= 0) {
        if (!wait_pidfd(pidfd.get(), std::chrono::seconds(15))) {
            ::kill(state.pid, SIGKILL);
            wait_pidfd(pidfd.get(), std::chrono::seconds(5));
        }
    } else {
        terminate(state.pid);
    }
    if (state.pcscd_pid > 0 && is_running({state.pcscd_pid, state.pcscd_start}))
        terminate(state.pcscd_pid);
}

// Holds the lab folder's lock file: one start at a time, and the lab process keeps it.
Fd lock_folder(const LabFolder& folder, bool wait) {
    Fd fd(::open((folder.dir / "lab.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd.get() < 0)
        throw EnvironmentError(fmt::format("cannot open {}: {}", (folder.dir / "lab.lock").string(),
                                           std::strerror(errno)));
    if (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0)
        return Fd(-1);
    return fd;
}

// Why there is no lab to talk to: none runs, or its folder is not ours to enter.
EnvironmentError no_lab(const LabFolder& folder) {
    if (::access(folder.dir.c_str(), X_OK) != 0 && errno == EACCES)
        return EnvironmentError(fmt::format(
            "the lab in {} is not yours: its folder is owner-only (run this as its owner)",
            folder.dir.string()));
    return EnvironmentError(fmt::format(
        "no lab is running in {} (start one with `cardharness lab start`)", folder.dir.string()));
}

} // namespace

const SlotInfo* LabStatus::slot_of(const std::string& pcsc_reader) const {
    for (const auto& s : slots)
        if (s.status.pcsc_reader == pcsc_reader)
            return &s;
    return nullptr;
}

Client::Client(fs::path dir) : folder_{fs::absolute(std::move(dir)).lexically_normal()} {
    // "a/b/" normalises to "a/b/": drop the empty last element so file names join cleanly.
    if (folder_.dir.filename().empty() && folder_.dir.has_parent_path())
        folder_.dir = folder_.dir.parent_path();
}

std::optional<LabState> Client::running() const {
    auto state = read_state(folder_.state());
    if (!state || !is_running({state->pid, state->pid_start}))
        return std::nullopt;
    return state;
}

bool Client::clean_stale() const {
    bool cleaned = false;
    if (auto state = read_state(folder_.state())) {
        if (is_running({state->pid, state->pid_start})) {
            if (!state->owner_pid || is_running({*state->owner_pid, state->owner_start}))
                return false;          // a live lab: nothing is stale
            stop_lab(folder_, *state); // a lab whose owner ended (it should have noticed)
        } else if (state->pcscd_pid > 0 && is_running({state->pcscd_pid, state->pcscd_start}) &&
                   process_name(state->pcscd_pid) == "pcscd") {
            terminate(state->pcscd_pid);
        }
        if (state->system_pcscd) {
            std::error_code ec;
            fs::remove(system_reader_conf, ec);
        }
        cleaned = true;
    }
    for (const fs::path& leftover :
         {folder_.state(), folder_.socket(), pcscd_socket(folder_.run_dir()),
          folder_.run_dir() / "pcscd.pid"}) {
        std::error_code ec;
        cleaned = fs::remove(leftover, ec) || cleaned;
    }
    return cleaned;
}

StartResult Client::start(LabSpec spec, const StartOptions& options) const {
    spec.folder = folder_;
    if (folder_.socket().string().size() >= 100)
        throw UsageError(
            fmt::format("lab dir path too long for a Unix socket: {} (use a shorter --dir)",
                        folder_.dir.string()));
    if (spec.system_pcscd && !spec.extra_reader_confs.empty())
        throw UsageError("extra reader.conf files are for the lab's private pcscd, not with the "
                         "system pcscd");
    for (auto& conf : spec.extra_reader_confs) {
        conf = fs::absolute(conf);
        if (!fs::is_regular_file(conf))
            throw UsageError(fmt::format("reader.conf file not found: {}", conf.string()));
    }
    if (spec.system_pcscd)
        for (const auto& slot : spec.slots)
            if (slot.citizen)
                throw UsageError(
                    fmt::format("slot {}: {}", slot.slot, citizen_needs_private_pcscd));
    make_private_dir(folder_.dir);
    StartResult result;
    Fd lock = lock_folder(folder_, false);
    if (lock.get() < 0) {
        // Held by a running (or starting) lab. One whose owner ended is stopped first.
        const auto state = read_state(folder_.state());
        if (!state || !state->owner_pid || is_running({*state->owner_pid, state->owner_start}))
            throw EnvironmentError(fmt::format(
                "a lab is already running in {}{}; stop it with `cardharness lab stop --dir {}`",
                folder_.dir.string(), state ? fmt::format(" (pid {})", state->pid) : "",
                folder_.dir.string()));
        stop_lab(folder_, *state);
        lock = lock_folder(folder_, true);
        result.cleaned_stale = true;
    } else if (running()) {
        // A lab of an older version (no lock file) runs here.
        throw EnvironmentError(fmt::format(
            "a lab is already running in {} (pid {}); stop it with `cardharness lab stop --dir {}`",
            folder_.dir.string(), running()->pid, folder_.dir.string()));
    }
    result.cleaned_stale = clean_stale() || result.cleaned_stale;
    result.readers = spec.slots.size();

    LabHooks hooks;
    Fd owner;
    if (options.owner_pid) {
        owner = Fd(open_pidfd(*options.owner_pid));
        if (owner.get() < 0)
            throw UsageError(fmt::format("owner pid {}: no such process", *options.owner_pid));
        hooks.owner = process_id(*options.owner_pid);
        hooks.owner_pidfd = owner.get();
    }

    if (options.foreground) {
        hooks.on_ready = [&](const std::string& error) {
            if (error.empty()) {
                if (const auto state = read_state(folder_.state())) {
                    result.pcsc_socket = state->socket;
                    result.extra = state->extra;
                }
                if (options.on_ready)
                    options.on_ready(result.pcsc_socket);
            }
        };
        result.exit_code = run_lab(spec, hooks);
        return result;
    }

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw EnvironmentError(fmt::format("lab: pipe2(): {}", std::strerror(errno)));
    Fd ready_read(pipe_fds[0]);
    Fd ready_write(pipe_fds[1]);
    std::vector<int> keep{pipe_fds[1], lock.get()};
    keep.insert(keep.end(), options.keep_fds.begin(), options.keep_fds.end());
    if (owner.get() >= 0)
        keep.push_back(owner.get());
    if (become_daemon(folder_.log(), keep)) {
        // The lab process: it keeps the folder lock for its life and says "R" (ready) or
        // "E<why>" on the pipe.
        const int fd = pipe_fds[1];
        hooks.on_ready = [fd](const std::string& error) {
            const std::string message = error.empty() ? "R" : "E" + error;
            [[maybe_unused]] const auto n = ::write(fd, message.data(), message.size());
            ::close(fd);
        };
        std::_Exit(run_lab(spec, hooks));
    }
    ready_write = Fd(-1); // closes our copy: the pipe ends when the lab closes its own

    // Wait for the lab's word (an event), not for a file to change.
    std::string message;
    const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        pollfd p{ready_read.get(), POLLIN, 0};
        const int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (const auto state = read_state(folder_.state()))
                stop_lab(folder_, *state);
            throw EnvironmentError(fmt::format("the lab did not come up within {} s (log: {})",
                                               options.ready_timeout.count(),
                                               folder_.log().string()));
        }
        char buffer[1024];
        const ssize_t n = ::read(ready_read.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        message.append(buffer, static_cast<std::size_t>(n));
    }
    if (message == "R") {
        const auto state = read_state(folder_.state());
        if (!state)
            throw EnvironmentError("the lab reported ready but left no state file (log: " +
                                   folder_.log().string() + ")");
        result.extra = state->extra;
        result.pcsc_socket = state->socket;
        return result;
    }
    if (!message.empty() && message[0] == 'E')
        throw EnvironmentError(fmt::format("the lab failed to start: {} (log: {})",
                                           message.substr(1), folder_.log().string()));
    throw EnvironmentError("the lab process ended during start-up (log: " + folder_.log().string() +
                           ")");
}

labwire::Reply Client::control(labwire::Op op, const std::string& slot, std::uint32_t arg,
                               Bytes data) const {
    if (!running())
        throw no_lab(folder_);
    auto reply = call(folder_.socket(), labwire::Request{op, slot, arg, std::move(data)});
    if (reply.code == ifd::Code::BadRequest)
        throw UsageError(text_of(reply));
    if (reply.code != ifd::Code::Success)
        throw EnvironmentError(
            fmt::format("lab: {} failed ({})", labwire::to_string(op), ifd::to_string(reply.code)));
    return reply;
}

LabStatus Client::status() const {
    const auto state = running();
    const auto reply = control(labwire::Op::Status);
    LabStatus out;
    out.dir = folder_.dir;
    if (state) {
        out.pcsc_socket = state->socket;
        out.lab_socket = state->lab_socket.empty() ? folder_.socket().string() : state->lab_socket;
        out.pid = state->pid;
        out.pcscd_pid = state->pcscd_pid;
        out.system_pcscd = state->system_pcscd;
        out.owner_pid = state->owner_pid;
        out.extra = state->extra;
    }
    try {
        const Json j = Json::parse(text_of(reply));
        for (const auto& s : j.at("slots"))
            out.slots.push_back(slot_from_json(s));
    } catch (const nlohmann::json::exception& e) {
        throw EnvironmentError(fmt::format("lab: malformed status: {}", e.what()));
    }
    return out;
}

void Client::insert(const std::string& slot, const std::optional<std::string>& profile,
                    bool citizen, std::optional<lab::Interface> presented) const {
    std::uint32_t arg = citizen ? 1U : 0U;
    if (presented)
        arg |= (*presented == lab::Interface::Contact ? 1U
                : *presented == lab::Interface::TypeA ? 2U
                                                      : 3U)
               << 1;
    control(labwire::Op::Insert, slot, arg, profile ? bytes_of(*profile) : Bytes{});
}

void Client::remove(const std::string& slot) const {
    control(labwire::Op::Remove, slot);
}

void Client::reset() const {
    control(labwire::Op::Reset);
}

void Client::unplug(const std::string& slot) const {
    control(labwire::Op::Unplug, slot);
}

void Client::plug(const std::string& slot) const {
    control(labwire::Op::Plug, slot);
}

StopResult Client::stop() const {
    const auto state = read_state(folder_.state());
    if (!state || !is_running({state->pid, state->pid_start})) {
        if (clean_stale())
            return StopResult{false, true};
        throw no_lab(folder_);
    }
    stop_lab(folder_, *state);
    clean_stale(); // what the lab could not remove itself (killed)
    return StopResult{true, false};
}

} // namespace harness::labd
