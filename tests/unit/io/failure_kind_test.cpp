// The one mapping from a backend's transport failure to the typed kind: pcscd gone is the
// environment, never the reader; every transport failure maps to a kind of its class.
#include "io/failure_kind.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;
using io::TransportFailure;
using model::FailureKind;

BOOST_AUTO_TEST_CASE(transport_failures_map_to_typed_kinds) {
    BOOST_TEST((io::failure_kind(TransportFailure::ServiceGone) == FailureKind::NoService));
    BOOST_TEST(model::is_environment(io::failure_kind(TransportFailure::ServiceGone)));
    BOOST_TEST((io::failure_kind(TransportFailure::CardRemoved) == FailureKind::CardRemoved));
    BOOST_TEST((io::failure_kind(TransportFailure::ReaderGone) == FailureKind::ReaderGone));
    BOOST_TEST((io::failure_kind(TransportFailure::Timeout) == FailureKind::Timeout));
    BOOST_TEST((io::failure_kind(TransportFailure::InsufficientBuffer) == FailureKind::TooLong));
    BOOST_TEST((io::failure_kind(TransportFailure::Communication) == FailureKind::Communication));
    for (const auto f :
         {TransportFailure::CardRemoved, TransportFailure::CardReset, TransportFailure::ReaderGone,
          TransportFailure::Timeout, TransportFailure::Communication,
          TransportFailure::ProtocolMismatch, TransportFailure::Unresponsive,
          TransportFailure::InsufficientBuffer, TransportFailure::Other})
        BOOST_TEST(model::is_transport(io::failure_kind(f)), io::to_string(f));
    const io::TransportError e(TransportFailure::ServiceGone, "SCardTransmit", 0x8010001D, "x");
    BOOST_TEST((io::kind_of(e) == FailureKind::NoService));
}
