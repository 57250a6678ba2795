// pcsc-lite reader driver (ifdhandler.h API v3) for the virtual lab: every IFDH call is forwarded
// to the lab process over its Unix socket (pure/lab_wire.hpp), one connection per call. Nothing
// throws across the C ABI; a lab that is gone looks like a reader whose card is absent.
#include "backends/fd_io.hpp"
#include "pure/lab_wire.hpp"

#pragma GCC visibility push(default)
extern "C" {
#include <ifdhandler.h>
}
#pragma GCC visibility pop

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

using harness::Bytes;
using harness::ifd::Code;
namespace wire = harness::labwire;

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

std::mutex channels_mutex;
std::map<DWORD, wire::DeviceName> channels;

std::optional<wire::DeviceName> channel_of(DWORD lun) {
    std::lock_guard lock(channels_mutex);
    const auto it = channels.find(lun);
    if (it == channels.end())
        return std::nullopt;
    return it->second;
}

void log_line(const char* what, const std::string& detail) {
    std::fprintf(stderr, "ifdcardharness: %s %s\n", what, detail.c_str());
}

using harness::fdio::Fd;

bool send_all(int fd, const Bytes& bytes) {
    return harness::fdio::send_all(fd, bytes.data(), bytes.size());
}

using harness::fdio::receive_all;

// One request, one reply; nullopt when the lab cannot be reached or does not answer in time.
std::optional<wire::Reply> call(DWORD lun, wire::Op op, std::uint32_t arg = 0, Bytes data = {},
                                int timeout_seconds = 10) {
    const auto channel = channel_of(lun);
    if (!channel)
        return std::nullopt;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (channel->socket_path.size() >= sizeof(address.sun_path))
        return std::nullopt;
    std::memcpy(address.sun_path, channel->socket_path.c_str(), channel->socket_path.size() + 1);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        return std::nullopt;
    timeval timeout{timeout_seconds, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return std::nullopt;
    const wire::Request request{op, channel->slot, arg, std::move(data)};
    if (!send_all(fd.get(), wire::frame(wire::encode_body(request))))
        return std::nullopt;
    std::uint8_t header[wire::header_length];
    if (!receive_all(fd.get(), header, sizeof header))
        return std::nullopt;
    const auto length = wire::body_length(harness::ByteView(header, sizeof header));
    if (!length)
        return std::nullopt;
    Bytes body(*length);
    if (!receive_all(fd.get(), body.data(), body.size()))
        return std::nullopt;
    return wire::decode_reply(body);
}

RESPONSECODE code_of(const wire::Reply& reply) {
    // Lab-only codes never reach pcscd.
    return reply.code == Code::BadRequest ? IFD_COMMUNICATION_ERROR
                                          : static_cast<RESPONSECODE>(reply.code);
}

RESPONSECODE create_channel(DWORD lun, const std::string& device_name) {
    const auto name = wire::parse_device_name(device_name);
    if (!name) {
        log_line("DEVICENAME must be <lab socket>:<slot>, got", device_name);
        return IFD_COMMUNICATION_ERROR;
    }
    {
        std::lock_guard lock(channels_mutex);
        channels[lun] = *name;
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
        channels.erase(Lun);
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
            return put(Bytes{1}); // one connection per call; the channel table is locked
        case TAG_IFD_SLOT_THREAD_SAFE:
            return put(Bytes{0});
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
