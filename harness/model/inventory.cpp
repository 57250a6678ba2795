#include "model/inventory.hpp"

#include <ostream>

namespace harness::model {

const char* to_string(JoinMethod method) {
    switch (method) {
    case JoinMethod::TlvAndChannel:
        return "tlv_and_channel_id";
    case JoinMethod::Channel:
        return "channel_id";
    case JoinMethod::Tlv:
        return "tlv_vid_pid";
    case JoinMethod::Name:
        return "name";
    case JoinMethod::None:
        return "none";
    }
    return "none";
}

std::ostream& operator<<(std::ostream& out, JoinMethod method) {
    return out << to_string(method);
}

} // namespace harness::model
