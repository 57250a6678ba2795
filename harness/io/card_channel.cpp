#include "io/card_channel.hpp"

namespace harness::io {

const char* to_string(TransportFailure failure) {
    switch (failure) {
    case TransportFailure::CardRemoved:
        return "card_removed";
    case TransportFailure::CardReset:
        return "card_reset";
    case TransportFailure::ReaderGone:
        return "reader_gone";
    case TransportFailure::ServiceGone:
        return "service_gone";
    case TransportFailure::Timeout:
        return "timeout";
    case TransportFailure::Communication:
        return "communication_error";
    case TransportFailure::ProtocolMismatch:
        return "protocol_mismatch";
    case TransportFailure::Unresponsive:
        return "unresponsive";
    case TransportFailure::InsufficientBuffer:
        return "insufficient_buffer";
    case TransportFailure::Other:
        return "other";
    }
    return "other";
}

} // namespace harness::io
