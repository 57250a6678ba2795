#include "pure/lab_wire.hpp"

#include <stdexcept>

namespace harness::ifd {

const char* to_string(Code code) {
    switch (code) {
    case Code::Success:
        return "IFD_SUCCESS";
    case Code::ErrorTag:
        return "IFD_ERROR_TAG";
    case Code::ErrorSetFailure:
        return "IFD_ERROR_SET_FAILURE";
    case Code::ErrorPtsFailure:
        return "IFD_ERROR_PTS_FAILURE";
    case Code::ErrorNotSupported:
        return "IFD_ERROR_NOT_SUPPORTED";
    case Code::ProtocolNotSupported:
        return "IFD_PROTOCOL_NOT_SUPPORTED";
    case Code::ErrorPowerAction:
        return "IFD_ERROR_POWER_ACTION";
    case Code::CommunicationError:
        return "IFD_COMMUNICATION_ERROR";
    case Code::ResponseTimeout:
        return "IFD_RESPONSE_TIMEOUT";
    case Code::NotSupported:
        return "IFD_NOT_SUPPORTED";
    case Code::IccPresent:
        return "IFD_ICC_PRESENT";
    case Code::IccNotPresent:
        return "IFD_ICC_NOT_PRESENT";
    case Code::NoSuchDevice:
        return "IFD_NO_SUCH_DEVICE";
    case Code::InsufficientBuffer:
        return "IFD_ERROR_INSUFFICIENT_BUFFER";
    case Code::BadRequest:
        return "LAB_BAD_REQUEST";
    }
    return "IFD_UNKNOWN";
}

} // namespace harness::ifd

namespace harness::labwire {
namespace {

void put_u32(Bytes& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(value >> shift));
}

std::uint32_t get_u32(ByteView in, std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i)
        value = (value << 8) | in[at + i];
    return value;
}

bool fail(std::string* why, const char* message) {
    if (why)
        *why = message;
    return false;
}

} // namespace

const char* to_string(Op op) {
    switch (op) {
    case Op::Hello:
        return "hello";
    case Op::Capability:
        return "capability";
    case Op::SetProtocol:
        return "set_protocol";
    case Op::Power:
        return "power";
    case Op::Transmit:
        return "transmit";
    case Op::Control:
        return "control";
    case Op::Presence:
        return "presence";
    case Op::Close:
        return "close";
    case Op::WaitChange:
        return "wait_change";
    case Op::Status:
        return "status";
    case Op::Insert:
        return "insert";
    case Op::Remove:
        return "remove";
    case Op::Reset:
        return "reset";
    case Op::Stop:
        return "stop";
    case Op::Unplug:
        return "unplug";
    case Op::Plug:
        return "plug";
    case Op::Trace:
        return "trace";
    }
    return "unknown";
}

bool is_known(std::uint8_t op) {
    return (op >= 1 && op <= 9) || (op >= 0x40 && op <= 0x47);
}

Bytes encode_body(const Request& request) {
    if (request.slot.size() > max_slot_length)
        throw std::length_error("lab wire: slot name longer than 64 bytes");
    Bytes out;
    out.reserve(7 + request.slot.size() + request.data.size());
    out.push_back(version);
    out.push_back(static_cast<std::uint8_t>(request.op));
    out.push_back(static_cast<std::uint8_t>(request.slot.size()));
    out.insert(out.end(), request.slot.begin(), request.slot.end());
    put_u32(out, request.arg);
    out.insert(out.end(), request.data.begin(), request.data.end());
    return out;
}

Bytes encode_body(const Reply& reply) {
    Bytes out;
    out.reserve(5 + reply.data.size());
    out.push_back(version);
    put_u32(out, static_cast<std::uint32_t>(reply.code));
    out.insert(out.end(), reply.data.begin(), reply.data.end());
    return out;
}

std::optional<Request> decode_request(ByteView body, std::string* why) {
    if (body.size() < 7)
        return fail(why, "request shorter than 7 bytes"), std::nullopt;
    if (body[0] != version)
        return fail(why, "unsupported protocol version"), std::nullopt;
    if (!is_known(body[1]))
        return fail(why, "unknown operation"), std::nullopt;
    const std::size_t slot_length = body[2];
    if (slot_length > max_slot_length)
        return fail(why, "slot name longer than 64 bytes"), std::nullopt;
    if (body.size() < 7 + slot_length)
        return fail(why, "request shorter than its slot name"), std::nullopt;
    Request request;
    request.op = static_cast<Op>(body[1]);
    request.slot.assign(body.begin() + 3,
                        body.begin() + 3 + static_cast<std::ptrdiff_t>(slot_length));
    request.arg = get_u32(body, 3 + slot_length);
    request.data.assign(body.begin() + 7 + static_cast<std::ptrdiff_t>(slot_length), body.end());
    return request;
}

std::optional<Reply> decode_reply(ByteView body, std::string* why) {
    if (body.size() < 5)
        return fail(why, "reply shorter than 5 bytes"), std::nullopt;
    if (body[0] != version)
        return fail(why, "unsupported protocol version"), std::nullopt;
    Reply reply;
    reply.code = static_cast<ifd::Code>(get_u32(body, 1));
    reply.data.assign(body.begin() + 5, body.end());
    return reply;
}

Bytes frame(ByteView body) {
    Bytes out;
    out.reserve(header_length + body.size());
    put_u32(out, static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

std::optional<std::uint32_t> body_length(ByteView header) {
    if (header.size() < header_length)
        return std::nullopt;
    const std::uint32_t length = get_u32(header, 0);
    if (length > max_body_length)
        return std::nullopt;
    return length;
}

std::optional<DeviceName> parse_device_name(std::string_view device_name) {
    const auto colon = device_name.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == device_name.size())
        return std::nullopt;
    DeviceName name{std::string(device_name.substr(0, colon)),
                    std::string(device_name.substr(colon + 1))};
    if (name.slot.size() > max_slot_length)
        return std::nullopt;
    return name;
}

std::string format_device_name(const DeviceName& name) {
    return name.socket_path + ":" + name.slot;
}

} // namespace harness::labwire
