#include "services/lab/lab_channel.hpp"

#include <fmt/core.h>
#include <thread>

namespace harness::lab {

io::TransportError transport_error(ifd::Code code, const std::string& call,
                                   const std::string& note) {
    using io::TransportFailure;
    TransportFailure failure = TransportFailure::Other;
    long raw = 0x80100001; // SCARD_F_INTERNAL_ERROR
    switch (code) {
    case ifd::Code::IccNotPresent:
        failure = TransportFailure::CardRemoved;
        raw = 0x8010000C; // pcscd 1.9: SCARD_E_NO_SMARTCARD, at connect and mid-transmit
        break;
    case ifd::Code::ResponseTimeout:
        failure = TransportFailure::Timeout;
        raw = 0x80100016; // pcscd 1.9 maps IFD_RESPONSE_TIMEOUT to SCARD_E_NOT_TRANSACTED
        break;
    case ifd::Code::CommunicationError:
        failure = TransportFailure::Communication;
        raw = 0x80100016; // SCARD_E_NOT_TRANSACTED
        break;
    case ifd::Code::ErrorPtsFailure:
        failure = TransportFailure::Unresponsive;
        raw = 0x80100066; // SCARD_W_UNRESPONSIVE_CARD: pcscd's SET_PROTOCOL_PPS_FAILED
        break;
    case ifd::Code::ProtocolNotSupported:
        failure = TransportFailure::ProtocolMismatch;
        raw = 0x8010000F; // SCARD_E_PROTO_MISMATCH
        break;
    case ifd::Code::NoSuchDevice:
        failure = TransportFailure::ReaderGone;
        raw = 0x80100017; // SCARD_E_READER_UNAVAILABLE
        break;
    default:
        break;
    }
    return io::TransportError(failure, call, raw,
                              fmt::format("{}: {} ({}){}", call, io::to_string(failure),
                                          ifd::to_string(code), note.empty() ? "" : ": " + note));
}

LabChannel::LabChannel(EmulatedReader& reader, Options options)
    : reader_(reader), options_(std::move(options)) {
    name_ = options_.reader_name.empty()
                ? fmt::format("{} (lab) 00 00", reader_.model().usb.product)
                : options_.reader_name;
    connect(true);
}

LabChannel::~LabChannel() {
    reader_.arbiter().release(this);
}

bool LabChannel::begin_transaction() {
    reader_.arbiter().begin_transaction(this);
    return true;
}

void LabChannel::end_transaction() {
    reader_.arbiter().end_transaction(this);
}

void LabChannel::spend(std::chrono::microseconds delay) {
    elapsed_ += delay;
    if (options_.real_time && delay.count() > 0)
        std::this_thread::sleep_for(delay);
}

void LabChannel::connect(bool cold) {
    const ReaderArbiter::Call call(reader_.arbiter(), this);
    if (cold)
        reader_.power(PowerAction::Down);
    Outcome power = reader_.power(cold ? PowerAction::Up : PowerAction::Reset);
    spend(power.delay);
    if (!power.ok())
        throw transport_error(power.code, "SCardConnect", power.note);
    atr_ = power.data;
    const AtrFacts facts = atr_facts(atr_);
    int protocol = options_.preferred_protocol;
    if (protocol == 1 && !facts.t1)
        protocol = 0;
    if (protocol == 0 && !facts.t0)
        protocol = 1;
    Outcome set = reader_.set_protocol(protocol);
    if (!set.ok())
        throw transport_error(set.code, "SCardConnect", set.note);
    protocol_ = protocol == 0 ? io::Protocol::T0 : io::Protocol::T1;
}

Bytes LabChannel::transmit(ByteView command) {
    Outcome out = [&] {
        const ReaderArbiter::Call call(reader_.arbiter(), this);
        return reader_.transmit(command);
    }();
    spend(out.delay);
    if (!out.ok())
        throw transport_error(out.code, "SCardTransmit", out.note);
    return out.data;
}

void LabChannel::reset(io::ResetKind kind) {
    connect(kind == io::ResetKind::Cold);
}

} // namespace harness::lab
