#pragma once
// RAII card connection (SCardConnect / SCardDisconnect) and the calls made on it: transmit,
// control, get_attrib, reconnect (warm/cold reset), status, transactions. Bytes go out exactly
// as given: no 61xx / 6Cxx handling, no throwing on status words.
#include "backends/pcsc/context.hpp"
#include "io/card_channel.hpp"
#include "pure/bytes.hpp"

#include <cstdint>
#include <string>

namespace harness::pcsc {

enum class ShareMode { Shared, Exclusive, Direct };
enum class Disposition { Leave, Reset, Unpower, Eject };

// Protocol masks for connect (pcsclite.h SCARD_PROTOCOL_T0/T1/RAW values).
inline constexpr std::uint32_t protocol_t0 = 0x0001;
inline constexpr std::uint32_t protocol_t1 = 0x0002;
inline constexpr std::uint32_t protocol_raw = 0x0004;
inline constexpr std::uint32_t protocol_any = protocol_t0 | protocol_t1;

// SCARD_ATTR_* values used by read_reader_info (reader.h); passed to Card::get_attrib.
namespace attr {
inline constexpr std::uint32_t vendor_name = 0x00010100;
inline constexpr std::uint32_t vendor_ifd_type = 0x00010101;
inline constexpr std::uint32_t vendor_ifd_version = 0x00010102;
inline constexpr std::uint32_t vendor_ifd_serial_no = 0x00010103;
inline constexpr std::uint32_t channel_id = 0x00020110;
inline constexpr std::uint32_t atr_string = 0x00090303;
inline constexpr std::uint32_t maxinput = 0x0007A007;
} // namespace attr

const char* to_string(ShareMode mode);
const char* to_string(io::Protocol protocol); // "T=0", "T=1", "raw", "undefined"

struct CardStatus {
    std::string reader;
    std::uint32_t state = 0; // SCardStatus dwState (pcsc-lite: SCARD_* card states)
    io::Protocol protocol = io::Protocol::Undefined;
    Bytes atr;
};

class Card {
public:
    // Throws io::TransportError (no card, reader gone...) or PcscError (sharing violation...).
    Card(const Context& context, std::string reader, ShareMode mode = ShareMode::Shared,
         std::uint32_t protocols = protocol_any);
    ~Card(); // SCardDisconnect with the disposition set (default: leave the card as it is)
    Card(const Card&) = delete;
    Card& operator=(const Card&) = delete;

    const std::string& reader() const { return reader_; }
    ShareMode mode() const { return mode_; }
    io::Protocol protocol() const { return protocol_; }

    // Sends the command APDU bytes as given, returns the response APDU (data + SW1 SW2).
    Bytes transmit(ByteView command);
    // SCardControl with an output buffer of up to `max_out` bytes.
    Bytes control(std::uint32_t code, ByteView in = {}, std::size_t max_out = 65548);
    // SCardGetAttrib (attribute values are in the driver's byte order: host order for DWORDs).
    Bytes get_attrib(std::uint32_t attribute);

    // SCardReconnect: Reset = warm reset, Unpower = cold reset; updates protocol().
    void reconnect(Disposition initialization, std::uint32_t protocols = protocol_any);
    CardStatus status();

    void begin_transaction();
    void end_transaction(Disposition disposition = Disposition::Leave);

    // What the destructor does with the card.
    void set_disposition(Disposition disposition) { disposition_ = disposition; }
    // Disconnects now (throws on failure); the destructor then does nothing.
    void disconnect(Disposition disposition);

private:
    // check() for a call on the card handle: a handle whose reader pcscd dropped (unplugged)
    // fails as a lost reader, not as an unexplained error.
    void check_handle(const char* call, long code) const;

    long context_ = 0; // the SCARDCONTEXT the card was connected through
    std::string reader_;
    ShareMode mode_;
    long handle_ = 0;
    bool connected_ = false;
    io::Protocol protocol_ = io::Protocol::Undefined;
    Disposition disposition_ = Disposition::Leave;
};

} // namespace harness::pcsc
