#pragma once
// In-process io::CardChannel over an EmulatedReader: what a PC/SC application would see through
// pcscd and the lab driver, without either (unit tests, benchmarks). Failures are
// io::TransportError with the PC/SC code pcscd returns for the driver's IFD code. Several channels
// may share one reader (threads): the reader's ReaderArbiter serialises them and holds
// transactions, as pcscd does.
#include "io/card_channel.hpp"
#include "services/lab/emulated_reader.hpp"

#include <chrono>
#include <string>

namespace harness::lab {

// The SCardConnect / SCardTransmit outcome pcscd 1.9 gives for a driver's IFD code.
io::TransportError transport_error(ifd::Code code, const std::string& call,
                                   const std::string& note);

class LabChannel : public io::CardChannel {
public:
    struct Options {
        bool real_time = false;     // sleep the exchange delays (else only add them up)
        int preferred_protocol = 1; // T=1 when the card offers it, else T=0
        std::string reader_name;    // defaults to "<product> (lab) 00 00"
    };
    // Powers the card and negotiates the protocol, as SCardConnect does; throws TransportError.
    LabChannel(EmulatedReader& reader, Options options);
    explicit LabChannel(EmulatedReader& reader) : LabChannel(reader, Options{}) {}
    ~LabChannel() override;
    LabChannel(const LabChannel&) = delete;
    LabChannel& operator=(const LabChannel&) = delete;

    Bytes transmit(ByteView command) override;
    Bytes atr() const override { return atr_; }
    io::Protocol protocol() const override { return protocol_; }
    void reset(io::ResetKind kind) override;
    std::string reader_name() const override { return name_; }
    // Other LabChannels of the same reader wait while this one holds a transaction.
    bool begin_transaction() override;
    void end_transaction() override;

    // Sum of the exchange delays so far (virtual time when not real_time).
    std::chrono::microseconds elapsed() const { return elapsed_; }

private:
    void connect(bool cold);
    void spend(std::chrono::microseconds delay);

    EmulatedReader& reader_;
    Options options_;
    std::string name_;
    Bytes atr_;
    io::Protocol protocol_ = io::Protocol::Undefined;
    std::chrono::microseconds elapsed_{0};
};

} // namespace harness::lab
