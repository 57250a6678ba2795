// pcsc-lite reader driver (ifdhandler.h API v3) for the virtual lab: every IFDH call is forwarded
// to the lab process over its Unix socket (pure/lab_wire.hpp) on a persistent connection per
// reader; card changes reach pcscd through IFDHPolling (TAG_IFD_POLLING_THREAD_WITH_TIMEOUT) on
// a second one, so an idle lab exchanges nothing. Nothing throws across the C ABI; a lab that is
// gone looks like a reader whose card is absent.
#include "backends/fd_io.hpp"
#include "pure/lab_wire.hpp"

#pragma GCC visibility push(default)
extern "C" {
#include <ifdhandler.h>
}
#pragma GCC visibility pop

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

using harness::Bytes;
using harness::ifd::Code;
namespace wire = harness::labwire;
using harness::fdio::receive_all;

static_assert(static_cast<RESPONSECODE>(Code::Success) == IFD_SUCCESS);
static_assert(static_cast<RESPONSECODE>(Code::ErrorTag) == IFD_ERROR_TAG);
static_assert(static_cast<RESPONSECODE>(Code::ErrorPtsFailure) == IFD_ERROR_PTS_FAILURE);
static_assert(static_cast<RESPONSECODE>(Code::ErrorNotSupported) == IFD_ERROR_NOT_SUPPORTED);
static_assert(static_cast<RESPONSECODE>(Code::ProtocolNotSupported) == IFD_PROTOCOL_NOT_SUPPORTED);
static_assert(static_cast<RESPONSECODE>(Code::CommunicationError) == IFD_COMMUNICATION_ERROR);
static_assert(static_cast<RESPONSECODE>(Code::ResponseTimeout) == IFD_RESPONSE_TIMEOUT);
static_assert(static_cast<RESPONSECODE>(Code::IccPresent) == IFD_ICC_PRESENT);
static_assert(static_cast<RESPONSECODE>(Code::IccNotPresent) == IFD_ICC_NOT_PRESENT);
static_assert(static_cast<RESPONSECODE>(Code::NoSuchDevice) == IFD_NO_SUCH_DEVICE);
static_assert(static_cast<RESPONSECODE>(Code::InsufficientBuffer) == IFD_ERROR_INSUFFICIENT_BUFFER);

// One lab reader (a pcscd Lun). Two persistent connections to the lab: `calls` carries every
// IFDH call in turn (pcscd serialises a reader's calls; the mutex makes sure), `events` carries
// IFDHPolling's wait for a card change, which blocks while calls go on. Either is (re)opened when
// needed, so a lab that restarts is found again.
struct Channel {
    wire::DeviceName name;
    std::mutex calls_mutex;
    int calls = -1;
    std::mutex events_mutex;
    int events = -1;
    bool waiting = false; // a WaitChange was sent on `events` and its reply not read yet
    int stop = -1;        // eventfd: pcscd's "stop polling" wakes a waiting IFDHPolling
    ~Channel() {
        for (const int fd : {calls, events, stop})
            if (fd >= 0)
                ::close(fd);
    }
};

std::mutex channels_mutex;
std::map<DWORD, std::shared_ptr<Channel>> channels;

std::shared_ptr<Channel> channel_of(DWORD lun) {
    std::lock_guard lock(channels_mutex);
    const auto it = channels.find(lun);
    if (it == channels.end())
        return nullptr;
    return it->second;
}

void log_line(const char* what, const std::string& detail) {
    std::fprintf(stderr, "ifdcardharness: %s %s\n", what, detail.c_str());
}

int connect_to(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path))
        return -1;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    // Guards pcscd against a lab that stops reading; replies are awaited with poll().
    timeval send_timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void drop(int& fd) {
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

// Waits until fd is readable (true), or `stop` is signalled, the time runs out or poll fails
// (false). timeout_ms < 0 waits without limit.
bool wait_readable(int fd, int stop, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int left = -1;
        if (timeout_ms >= 0) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count();
            left = static_cast<int>(std::max<long long>(ms, 0));
        }
        pollfd p[2] = {{fd, POLLIN, 0}, {stop, POLLIN, 0}};
        const int r = ::poll(p, stop >= 0 ? 2 : 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (stop >= 0 && p[1].revents != 0))
            return false;
        return true;
    }
}

std::optional<wire::Reply> receive_reply(int fd, int stop, int timeout_ms) {
    if (!wait_readable(fd, stop, timeout_ms))
        return std::nullopt;
    std::uint8_t header[wire::header_length];
    if (!receive_all(fd, header, sizeof header))
        return std::nullopt;
    const auto length = wire::body_length(harness::ByteView(header, sizeof header));
    if (!length)
        return std::nullopt;
    Bytes body(*length);
    if (!receive_all(fd, body.data(), body.size()))
        return std::nullopt;
    return wire::decode_reply(body);
}

// One request and its reply on the connection `fd` (opened when -1). A request that could not
// be sent (the lab restarted: the old connection is dead) is sent once more on a new connection;
// one that was sent is never repeated, the lab may have acted on it. On any failure the
// connection is dropped (a late reply must not answer the next request). nullopt when the lab
// cannot be reached or does not answer in time.
std::optional<wire::Reply> exchange(Channel& channel, int& fd, int stop,
                                    const wire::Request& request, int timeout_ms) {
    const Bytes frame = wire::frame(wire::encode_body(request));
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool fresh = fd < 0;
        if (fresh)
            fd = connect_to(channel.name.socket_path);
        if (fd < 0)
            return std::nullopt;
        if (!harness::fdio::send_all(fd, frame.data(), frame.size())) {
            drop(fd);
            if (fresh)
                return std::nullopt;
            continue;
        }
        auto reply = receive_reply(fd, stop, timeout_ms);
        if (!reply)
            drop(fd);
        return reply;
    }
    return std::nullopt;
}

std::optional<wire::Reply> call(DWORD lun, wire::Op op, std::uint32_t arg = 0, Bytes data = {},
                                int timeout_seconds = 10) {
    const auto channel = channel_of(lun);
    if (!channel)
        return std::nullopt;
    std::lock_guard lock(channel->calls_mutex);
    return exchange(*channel, channel->calls, -1,
                    wire::Request{op, channel->name.slot, arg, std::move(data)},
                    timeout_seconds * 1000);
}

RESPONSECODE code_of(const wire::Reply& reply) {
    // Lab-only codes never reach pcscd.
    return reply.code == Code::BadRequest ? IFD_COMMUNICATION_ERROR
                                          : static_cast<RESPONSECODE>(reply.code);
}

// TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: pcscd's event thread calls this instead of sleeping
// 400 ms between presence queries. Returns when the lab reports a card change, the timeout (ms)
// passes, or pcscd asks to stop (it does so at every SCardDisconnect, to wait again with another
// timeout); IFD_SUCCESS in all three cases (pcscd then asks for presence). A WaitChange the lab
// has not answered yet stays outstanding across calls, so the connection is never dropped for
// that. An unreachable lab answers IFD_COMMUNICATION_ERROR: pcscd sleeps 400 ms and asks again.
RESPONSECODE poll_for_change(DWORD lun, int timeout_ms) {
    try {
        const auto channel = channel_of(lun);
        if (!channel)
            return IFD_COMMUNICATION_ERROR;
        std::lock_guard lock(channel->events_mutex);
        std::uint64_t stops = 0;
        if (::read(channel->stop, &stops, sizeof stops) > 0) // asked before we got here
            return IFD_SUCCESS;
        const int wait = std::max(timeout_ms, 0);
        if (!channel->waiting) {
            const wire::Request request{
                wire::Op::WaitChange, channel->name.slot, static_cast<std::uint32_t>(wait), {}};
            const Bytes frame = wire::frame(wire::encode_body(request));
            for (int attempt = 0; attempt < 2 && !channel->waiting; ++attempt) {
                if (channel->events < 0)
                    channel->events = connect_to(channel->name.socket_path);
                if (channel->events < 0)
                    return IFD_COMMUNICATION_ERROR;
                if (harness::fdio::send_all(channel->events, frame.data(), frame.size()))
                    channel->waiting = true;
                else
                    drop(channel->events); // a dead connection (the lab restarted): once more
            }
            if (!channel->waiting)
                return IFD_COMMUNICATION_ERROR;
        }
        if (!wait_readable(channel->events, channel->stop, wait)) {
            ::read(channel->stop, &stops, sizeof stops);
            return IFD_SUCCESS; // time is up or pcscd asked to stop; the wait stays outstanding
        }
        channel->waiting = false;
        const auto reply = receive_reply(channel->events, -1, 0);
        if (!reply) {
            drop(channel->events); // the lab went away
            return IFD_COMMUNICATION_ERROR;
        }
        // A lab without WaitChange (BadRequest) would make this a busy loop: let pcscd poll.
        return reply->code == Code::BadRequest ? IFD_COMMUNICATION_ERROR : IFD_SUCCESS;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

// TAG_IFD_STOP_POLLING_THREAD: wakes a poll_for_change() that is waiting (pcscd removes the
// reader, or a card goes into its power-off grace period).
RESPONSECODE stop_polling(DWORD lun) {
    const auto channel = channel_of(lun);
    if (!channel)
        return IFD_SUCCESS;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(channel->stop, &one, sizeof one);
    return IFD_SUCCESS;
}

RESPONSECODE create_channel(DWORD lun, const std::string& device_name) {
    const auto name = wire::parse_device_name(device_name);
    if (!name) {
        log_line("DEVICENAME must be <lab socket>:<slot>, got", device_name);
        return IFD_COMMUNICATION_ERROR;
    }
    auto channel = std::make_shared<Channel>();
    channel->name = *name;
    channel->stop = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (channel->stop < 0)
        return IFD_COMMUNICATION_ERROR;
    {
        std::lock_guard lock(channels_mutex);
        channels[lun] = std::move(channel);
    }
    // A lab that is not up yet is not fatal: the reader exists, its card is absent.
    if (!call(lun, wire::Op::Hello))
        log_line("lab not reachable at", name->socket_path);
    return IFD_SUCCESS;
}

} // namespace

extern "C" {

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName) {
    try {
        return DeviceName ? create_channel(Lun, DeviceName) : IFD_COMMUNICATION_ERROR;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel) {
    try {
        // Without DEVICENAME: the socket comes from $CARDHARNESS_LAB_SOCKET, the slot is the
        // channel number (reader.conf CHANNELID).
        const char* socket = std::getenv("CARDHARNESS_LAB_SOCKET");
        if (!socket)
            return IFD_COMMUNICATION_ERROR;
        return create_channel(Lun, std::string(socket) + ":" + std::to_string(Channel));
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHCloseChannel(DWORD Lun) {
    try {
        call(Lun, wire::Op::Close, 0, {}, 2);
        std::lock_guard lock(channels_mutex);
        channels.erase(Lun); // its connections close with the last reference
        return IFD_SUCCESS;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value) {
    try {
        if (!Length || !Value)
            return IFD_COMMUNICATION_ERROR;
        const auto put = [&](const Bytes& bytes) -> RESPONSECODE {
            if (bytes.size() > *Length)
                return IFD_ERROR_INSUFFICIENT_BUFFER;
            std::memcpy(Value, bytes.data(), bytes.size());
            *Length = static_cast<DWORD>(bytes.size());
            return IFD_SUCCESS;
        };
        switch (Tag) {
        case TAG_IFD_SLOTS_NUMBER:
            return put(Bytes{1});
        case TAG_IFD_SIMULTANEOUS_ACCESS:
            return put(Bytes{16}); // readers this driver can serve at once
        case TAG_IFD_THREAD_SAFE:
            return put(
                Bytes{1}); // each reader has its own connections; the channel table is locked
        case TAG_IFD_SLOT_THREAD_SAFE:
            return put(Bytes{0});
        case TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: {
            RESPONSECODE (*function)(DWORD, int) = &poll_for_change;
            if (*Length < sizeof function)
                return IFD_ERROR_INSUFFICIENT_BUFFER;
            std::memcpy(Value, &function, sizeof function);
            *Length = sizeof function;
            return IFD_SUCCESS;
        }
        case TAG_IFD_STOP_POLLING_THREAD: {
            RESPONSECODE (*function)(DWORD) = &stop_polling;
            if (*Length < sizeof function)
                return IFD_ERROR_INSUFFICIENT_BUFFER;
            std::memcpy(Value, &function, sizeof function);
            *Length = sizeof function;
            return IFD_SUCCESS;
        }
        case TAG_IFD_POLLING_THREAD_KILLABLE:
            return IFD_ERROR_TAG; // never pthread_cancel() C++ code: stop_polling() wakes it
        default:
            break;
        }
        const auto reply = call(Lun, wire::Op::Capability, static_cast<std::uint32_t>(Tag));
        if (!reply)
            return IFD_ERROR_TAG;
        if (reply->code != Code::Success)
            return reply->code == Code::ErrorTag ? IFD_ERROR_TAG : code_of(*reply);
        return put(reply->data);
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHSetCapabilities(DWORD, DWORD, DWORD, PUCHAR) {
    return IFD_NOT_SUPPORTED;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                                       UCHAR PTS2, UCHAR PTS3) {
    try {
        const auto reply = call(Lun, wire::Op::SetProtocol,
                                static_cast<std::uint32_t>(Protocol & 0xFF) |
                                    static_cast<std::uint32_t>(Flags) << 8,
                                Bytes{PTS1, PTS2, PTS3});
        return reply ? code_of(*reply) : IFD_COMMUNICATION_ERROR;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength) {
    try {
        const DWORD capacity = AtrLength ? *AtrLength : 0;
        if (AtrLength)
            *AtrLength = 0;
        const auto reply = call(Lun, wire::Op::Power, static_cast<std::uint32_t>(Action));
        if (!reply)
            return Action == IFD_POWER_DOWN ? IFD_SUCCESS : IFD_COMMUNICATION_ERROR;
        if (reply->code != Code::Success)
            return code_of(*reply);
        if (Action == IFD_POWER_DOWN)
            return IFD_SUCCESS;
        if (!Atr || !AtrLength || reply->data.size() > capacity ||
            reply->data.size() > MAX_ATR_SIZE)
            return IFD_COMMUNICATION_ERROR;
        std::memcpy(Atr, reply->data.data(), reply->data.size());
        *AtrLength = static_cast<DWORD>(reply->data.size());
        return IFD_SUCCESS;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength,
                               PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci) {
    try {
        const DWORD capacity = RxLength ? *RxLength : 0;
        if (RxLength)
            *RxLength = 0;
        if (!TxBuffer || !RxBuffer || !RxLength)
            return IFD_COMMUNICATION_ERROR;
        // The lab applies the reader's own timeout; this one only guards pcscd against a hung lab.
        const auto reply =
            call(Lun, wire::Op::Transmit, static_cast<std::uint32_t>(SendPci.Protocol),
                 Bytes(TxBuffer, TxBuffer + TxLength), 120);
        if (!reply)
            return IFD_COMMUNICATION_ERROR;
        if (reply->code != Code::Success)
            return code_of(*reply);
        if (reply->data.size() > capacity)
            return IFD_ERROR_INSUFFICIENT_BUFFER;
        std::memcpy(RxBuffer, reply->data.data(), reply->data.size());
        *RxLength = static_cast<DWORD>(reply->data.size());
        if (RecvPci)
            RecvPci->Protocol = SendPci.Protocol;
        return IFD_SUCCESS;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
                         PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned) {
    try {
        if (pdwBytesReturned)
            *pdwBytesReturned = 0;
        Bytes input;
        if (TxBuffer)
            input.assign(TxBuffer, TxBuffer + TxLength);
        const auto reply = call(Lun, wire::Op::Control, static_cast<std::uint32_t>(dwControlCode),
                                std::move(input));
        if (!reply)
            return IFD_COMMUNICATION_ERROR;
        if (reply->code != Code::Success)
            return code_of(*reply);
        if (!RxBuffer || reply->data.size() > RxLength)
            return IFD_ERROR_INSUFFICIENT_BUFFER;
        std::memcpy(RxBuffer, reply->data.data(), reply->data.size());
        if (pdwBytesReturned)
            *pdwBytesReturned = static_cast<DWORD>(reply->data.size());
        return IFD_SUCCESS;
    } catch (...) {
        return IFD_COMMUNICATION_ERROR;
    }
}

RESPONSECODE IFDHICCPresence(DWORD Lun) {
    try {
        const auto reply = call(Lun, wire::Op::Presence, 0, {}, 3);
        if (!reply)
            return IFD_ICC_NOT_PRESENT;
        return reply->code == Code::IccPresent ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
    } catch (...) {
        return IFD_ICC_NOT_PRESENT;
    }
}

} // extern "C"
