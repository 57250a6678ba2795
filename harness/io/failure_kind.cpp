#include "io/failure_kind.hpp"

namespace harness::io {

model::FailureKind failure_kind(TransportFailure failure) {
    using model::FailureKind;
    switch (failure) {
    case TransportFailure::CardRemoved:
        return FailureKind::CardRemoved;
    case TransportFailure::CardReset:
        return FailureKind::CardReset;
    case TransportFailure::ReaderGone:
        return FailureKind::ReaderGone;
    case TransportFailure::ServiceGone:
        return FailureKind::NoService;
    case TransportFailure::Timeout:
        return FailureKind::Timeout;
    case TransportFailure::Communication:
        return FailureKind::Communication;
    case TransportFailure::ProtocolMismatch:
        return FailureKind::ProtocolMismatch;
    case TransportFailure::Unresponsive:
        return FailureKind::Unresponsive;
    case TransportFailure::InsufficientBuffer:
        return FailureKind::TooLong;
    case TransportFailure::Other:
        return FailureKind::TransportOther;
    }
    return FailureKind::TransportOther;
}

} // namespace harness::io
