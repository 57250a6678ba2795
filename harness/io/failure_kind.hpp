#pragma once
// The one mapping from a transport failure (io::TransportError, as a backend classified it) to the
// typed failure kind a step, the verdict rules and the store carry (model::FailureKind). A dead
// pcscd (ServiceGone) is the environment (NoService), never the reader; an insufficient buffer
// is a message that did not fit (TooLong). Kept apart from card_channel.hpp so that channel users
// need not see the model types.
#include "io/card_channel.hpp"
#include "model/run.hpp"

namespace harness::io {

model::FailureKind failure_kind(TransportFailure failure);

inline model::FailureKind kind_of(const TransportError& error) {
    return failure_kind(error.failure());
}

} // namespace harness::io
