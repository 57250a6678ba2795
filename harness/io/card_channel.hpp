#pragma once
// CardChannel: the one way APDUs reach a card (a PC/SC card handle, or an emulated card behind an
// emulated reader in process). It sends bytes as given and returns bytes as received: no 61xx /
// 6Cxx handling, no throwing on status words. Every status word is data for the caller to record.
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace harness::io {

enum class Protocol { T0 = 0, T1 = 1, Raw = 2, Undefined = -1 };
enum class ResetKind { Warm, Cold };

// Why a transmit or control call failed at the transport (not the card's status word).
enum class TransportFailure {
    CardRemoved, // card vanished (SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD, IFD_ICC_NOT_PRESENT)
    CardReset,   // another application reset the card (SCARD_W_RESET_CARD)
    ReaderGone,  // reader unplugged (SCARD_E_READER_UNAVAILABLE, SCARD_E_UNKNOWN_READER)
    ServiceGone, // pcscd died (SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED)
    Timeout,     // reader timed out waiting for the card (SCARD_E_TIMEOUT, IFD_RESPONSE_TIMEOUT)
    Communication,    // SCARD_E_COMM_DATA_LOST / SCARD_F_COMM_ERROR / IFD_COMMUNICATION_ERROR
    ProtocolMismatch, // SCARD_E_PROTO_MISMATCH, failed PPS
    Unresponsive,     // SCARD_W_UNRESPONSIVE_CARD / UNPOWERED
    InsufficientBuffer,
    Other,
};

const char* to_string(TransportFailure failure);

class TransportError : public Error {
public:
    TransportError(TransportFailure failure, std::string call, long raw_code,
                   const std::string& what)
        : Error(what), failure_(failure), call_(std::move(call)), raw_code_(raw_code) {}
    TransportFailure failure() const { return failure_; }
    const std::string& call() const { return call_; } // e.g. "SCardTransmit"
    long raw_code() const { return raw_code_; }       // e.g. 0x80100069

private:
    TransportFailure failure_;
    std::string call_;
    long raw_code_;
};

class CardChannel {
public:
    virtual ~CardChannel() = default;
    // Sends the command APDU bytes exactly as given; returns the response APDU (data + SW1 SW2).
    virtual Bytes transmit(ByteView command) = 0;
    virtual Bytes atr() const = 0;
    virtual Protocol protocol() const = 0;
    // Warm or cold reset; afterwards atr() is the new ATR.
    virtual void reset(ResetKind kind) = 0;
    virtual std::string reader_name() const = 0;

    // Holds every other client of the card off until the matching end_transaction() (PC/SC
    // SCardBeginTransaction on a shared connection; the lab's in-process channel locks its
    // reader). Nested calls count. Blocks while another client holds the card. Returns false
    // when this channel cannot keep other clients out: callers that need atomicity (the PIN
    // guard's counter read + VERIFY) must then not proceed. Throws TransportError like transmit.
    virtual bool begin_transaction() { return false; }
    virtual void end_transaction() {}
};

// RAII scope of one transaction: held() says whether other clients are kept out.
class Transaction {
public:
    explicit Transaction(CardChannel& channel)
        : channel_(channel), held_(channel.begin_transaction()) {}
    ~Transaction() {
        if (held_)
            try {
                channel_.end_transaction();
            } catch (...) { // the card or reader went away: nothing is held any more
            }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    bool held() const { return held_; }

private:
    CardChannel& channel_;
    bool held_;
};

} // namespace harness::io
