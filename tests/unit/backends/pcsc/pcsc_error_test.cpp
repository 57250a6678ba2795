// The one PC/SC error helper: every named SCARD_* code maps to the expected typed error.
#include "backends/pcsc/context.hpp"
#include "backends/pcsc/pcsc_error.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <set>

using namespace harness;
using namespace harness::pcsc;
using io::TransportFailure;

namespace {

struct Expected {
    long code;
    const char* name;
    ErrorKind kind;
    TransportFailure failure;
};

// Raw values from PC/SC part 5 / pcsclite.h, written out so the test also pins the header.
constexpr Expected transport_table[] = {
    {0x80100069, "SCARD_W_REMOVED_CARD", ErrorKind::Transport, TransportFailure::CardRemoved},
    {0x8010000C, "SCARD_E_NO_SMARTCARD", ErrorKind::Transport, TransportFailure::CardRemoved},
    {0x80100068, "SCARD_W_RESET_CARD", ErrorKind::Transport, TransportFailure::CardReset},
    {0x80100017, "SCARD_E_READER_UNAVAILABLE", ErrorKind::Transport, TransportFailure::ReaderGone},
    {0x80100009, "SCARD_E_UNKNOWN_READER", ErrorKind::Transport, TransportFailure::ReaderGone},
    {0x8010001D, "SCARD_E_NO_SERVICE", ErrorKind::Transport, TransportFailure::ServiceGone},
    {0x8010001E, "SCARD_E_SERVICE_STOPPED", ErrorKind::Transport, TransportFailure::ServiceGone},
    {0x8010000A, "SCARD_E_TIMEOUT", ErrorKind::Transport, TransportFailure::Timeout},
    {0x80100007, "SCARD_F_WAITED_TOO_LONG", ErrorKind::Transport, TransportFailure::Timeout},
    {0x8010002F, "SCARD_E_COMM_DATA_LOST", ErrorKind::Transport, TransportFailure::Communication},
    {0x80100013, "SCARD_F_COMM_ERROR", ErrorKind::Transport, TransportFailure::Communication},
    {0x80100016, "SCARD_E_NOT_TRANSACTED", ErrorKind::Transport, TransportFailure::Communication},
    {0x8010000F, "SCARD_E_PROTO_MISMATCH", ErrorKind::Transport,
     TransportFailure::ProtocolMismatch},
    {0x80100015, "SCARD_E_INVALID_ATR", ErrorKind::Transport, TransportFailure::ProtocolMismatch},
    {0x80100066, "SCARD_W_UNRESPONSIVE_CARD", ErrorKind::Transport, TransportFailure::Unresponsive},
    {0x80100067, "SCARD_W_UNPOWERED_CARD", ErrorKind::Transport, TransportFailure::Unresponsive},
    {0x80100065, "SCARD_W_UNSUPPORTED_CARD", ErrorKind::Transport, TransportFailure::Unresponsive},
    {0x80100008, "SCARD_E_INSUFFICIENT_BUFFER", ErrorKind::Transport,
     TransportFailure::InsufficientBuffer},
    {0x80100019, "SCARD_E_PCI_TOO_SMALL", ErrorKind::Transport,
     TransportFailure::InsufficientBuffer},
    {0x8010002E, "SCARD_E_NO_READERS_AVAILABLE", ErrorKind::Environment,
     TransportFailure::ReaderGone},
};

constexpr Expected other_table[] = {
    {0x80100001, "SCARD_F_INTERNAL_ERROR", ErrorKind::Other, TransportFailure::Other},
    {0x80100002, "SCARD_E_CANCELLED", ErrorKind::Other, TransportFailure::Other},
    {0x80100003, "SCARD_E_INVALID_HANDLE", ErrorKind::Other, TransportFailure::Other},
    {0x80100004, "SCARD_E_INVALID_PARAMETER", ErrorKind::Other, TransportFailure::Other},
    {0x80100005, "SCARD_E_INVALID_TARGET", ErrorKind::Other, TransportFailure::Other},
    {0x80100006, "SCARD_E_NO_MEMORY", ErrorKind::Other, TransportFailure::Other},
    {0x8010000B, "SCARD_E_SHARING_VIOLATION", ErrorKind::Other, TransportFailure::Other},
    {0x8010000D, "SCARD_E_UNKNOWN_CARD", ErrorKind::Other, TransportFailure::Other},
    {0x8010000E, "SCARD_E_CANT_DISPOSE", ErrorKind::Other, TransportFailure::Other},
    {0x80100010, "SCARD_E_NOT_READY", ErrorKind::Other, TransportFailure::Other},
    {0x80100011, "SCARD_E_INVALID_VALUE", ErrorKind::Other, TransportFailure::Other},
    {0x80100012, "SCARD_E_SYSTEM_CANCELLED", ErrorKind::Other, TransportFailure::Other},
    {0x80100014, "SCARD_F_UNKNOWN_ERROR", ErrorKind::Other, TransportFailure::Other},
    {0x80100018, "SCARD_P_SHUTDOWN", ErrorKind::Other, TransportFailure::Other},
    {0x8010001A, "SCARD_E_READER_UNSUPPORTED", ErrorKind::Other, TransportFailure::Other},
    {0x8010001B, "SCARD_E_DUPLICATE_READER", ErrorKind::Other, TransportFailure::Other},
    {0x8010001C, "SCARD_E_CARD_UNSUPPORTED", ErrorKind::Other, TransportFailure::Other},
    {0x8010001F, "SCARD_E_UNSUPPORTED_FEATURE", ErrorKind::Other, TransportFailure::Other},
    {0x80100020, "SCARD_E_ICC_INSTALLATION", ErrorKind::Other, TransportFailure::Other},
    {0x80100021, "SCARD_E_ICC_CREATEORDER", ErrorKind::Other, TransportFailure::Other},
    {0x80100023, "SCARD_E_DIR_NOT_FOUND", ErrorKind::Other, TransportFailure::Other},
    {0x80100024, "SCARD_E_FILE_NOT_FOUND", ErrorKind::Other, TransportFailure::Other},
    {0x80100025, "SCARD_E_NO_DIR", ErrorKind::Other, TransportFailure::Other},
    {0x80100026, "SCARD_E_NO_FILE", ErrorKind::Other, TransportFailure::Other},
    {0x80100027, "SCARD_E_NO_ACCESS", ErrorKind::Other, TransportFailure::Other},
    {0x80100028, "SCARD_E_WRITE_TOO_MANY", ErrorKind::Other, TransportFailure::Other},
    {0x80100029, "SCARD_E_BAD_SEEK", ErrorKind::Other, TransportFailure::Other},
    {0x8010002A, "SCARD_E_INVALID_CHV", ErrorKind::Other, TransportFailure::Other},
    {0x8010002B, "SCARD_E_UNKNOWN_RES_MNG", ErrorKind::Other, TransportFailure::Other},
    {0x8010002C, "SCARD_E_NO_SUCH_CERTIFICATE", ErrorKind::Other, TransportFailure::Other},
    {0x8010002D, "SCARD_E_CERTIFICATE_UNAVAILABLE", ErrorKind::Other, TransportFailure::Other},
    {0x80100030, "SCARD_E_NO_KEY_CONTAINER", ErrorKind::Other, TransportFailure::Other},
    {0x80100031, "SCARD_E_SERVER_TOO_BUSY", ErrorKind::Other, TransportFailure::Other},
    {0x8010006A, "SCARD_W_SECURITY_VIOLATION", ErrorKind::Other, TransportFailure::Other},
    {0x8010006B, "SCARD_W_WRONG_CHV", ErrorKind::Other, TransportFailure::Other},
    {0x8010006C, "SCARD_W_CHV_BLOCKED", ErrorKind::Other, TransportFailure::Other},
    {0x8010006D, "SCARD_W_EOF", ErrorKind::Other, TransportFailure::Other},
    {0x8010006E, "SCARD_W_CANCELLED_BY_USER", ErrorKind::Other, TransportFailure::Other},
    {0x8010006F, "SCARD_W_CARD_NOT_AUTHENTICATED", ErrorKind::Other, TransportFailure::Other},
};

void check_thrown(const Expected& e, const char* call) {
    try {
        throw_error(call, e.code);
    } catch (const io::TransportError& t) {
        BOOST_TEST((e.kind == ErrorKind::Transport), e.name);
        BOOST_TEST((t.failure() == e.failure), e.name);
        BOOST_TEST(t.call() == call);
        BOOST_TEST(t.raw_code() == e.code);
        BOOST_TEST(std::string(t.what()).find(e.name) != std::string::npos);
        BOOST_TEST(std::string(t.what()).find(describe(e.code)) != std::string::npos);
        return;
    } catch (const EnvironmentFailure& f) {
        BOOST_TEST((e.kind == ErrorKind::Environment), e.name);
        BOOST_TEST(f.raw_code() == e.code);
        BOOST_TEST(f.call() == call);
        return;
    } catch (const PcscError& p) {
        BOOST_TEST((e.kind == ErrorKind::Other), e.name);
        BOOST_TEST(p.raw_code() == e.code);
        BOOST_TEST(p.call() == call);
        BOOST_TEST(std::string(p.what()).find(e.name) != std::string::npos);
        return;
    }
    BOOST_FAIL("throw_error did not throw");
}

} // namespace

BOOST_AUTO_TEST_CASE(every_named_code_is_in_a_table) {
    std::set<long> tabled;
    for (const auto& e : transport_table)
        tabled.insert(e.code);
    for (const auto& e : other_table)
        tabled.insert(e.code);
    for (long code : named_codes())
        BOOST_TEST(tabled.count(code) == 1u, code_name(code));
    BOOST_TEST(named_codes().size() == tabled.size());
}

BOOST_AUTO_TEST_CASE(maps_every_code_to_its_typed_error) {
    for (const auto& e : transport_table) {
        BOOST_TEST(code_name(e.code) == e.name);
        const Classification c = classify("SCardTransmit", e.code);
        BOOST_TEST((c.kind == e.kind), e.name);
        BOOST_TEST((c.failure == e.failure), e.name);
        check_thrown(e, "SCardTransmit");
    }
    for (const auto& e : other_table) {
        BOOST_TEST(code_name(e.code) == e.name);
        BOOST_TEST((classify("SCardTransmit", e.code).kind == ErrorKind::Other), e.name);
        check_thrown(e, "SCardConnect");
    }
}

BOOST_AUTO_TEST_CASE(no_service_at_setup_is_an_environment_error) {
    for (const char* call : {"SCardEstablishContext", "SCardListReaders"}) {
        for (long code : {0x8010001DL, 0x8010001EL}) {
            BOOST_TEST((classify(call, code).kind == ErrorKind::Environment));
            BOOST_CHECK_THROW(throw_error(call, code), EnvironmentError);
        }
    }
    BOOST_CHECK_THROW(throw_error("SCardTransmit", 0x8010001D), io::TransportError);
}

BOOST_AUTO_TEST_CASE(success_does_not_throw_and_unknown_codes_keep_their_value) {
    BOOST_CHECK_NO_THROW(check("SCardTransmit", 0));
    BOOST_TEST(code_name(0x8010ABCD) == "0x8010ABCD");
    BOOST_CHECK_THROW(throw_error("SCardTransmit", 0x8010ABCD), PcscError);
    BOOST_TEST(message("SCardTransmit", 0x80100069).find("SCardTransmit: ") == 0u);
    BOOST_TEST(message("SCardTransmit", 0x80100069).find("0x80100069") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(decodes_reader_state_bits) {
    const auto s = decode_state(0x00030122); // event counter 3, INUSE|PRESENT|CHANGED
    BOOST_TEST(s.present);
    BOOST_TEST(s.in_use);
    BOOST_TEST(!s.empty);
    BOOST_TEST(!s.exclusive);
    BOOST_TEST(s.event_count == 3u);
    BOOST_TEST(s.raw == 0x00030122u);
    const auto e = decode_state(0x0010);
    BOOST_TEST(e.empty);
    BOOST_TEST(!e.present);
    const auto m = decode_state(0x0200 | 0x0400 | 0x0080 | 0x0008 | 0x0004);
    BOOST_TEST(m.mute);
    BOOST_TEST(m.unpowered);
    BOOST_TEST(m.exclusive);
    BOOST_TEST(m.unavailable);
    BOOST_TEST(m.unknown);
}

BOOST_AUTO_TEST_CASE(no_pcscd_at_the_socket_is_an_environment_error) {
    // libpcsclite honours PCSCLITE_CSOCK_NAME by itself; point it at a socket that is not there.
    ::setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/cardharness/pcscd.comm", 1);
    BOOST_CHECK_THROW(Context{}, EnvironmentError);
    try {
        Context c;
    } catch (const EnvironmentFailure& e) {
        BOOST_TEST(e.call() == "SCardEstablishContext");
        BOOST_TEST(e.raw_code() == 0x8010001D);
    }
}
