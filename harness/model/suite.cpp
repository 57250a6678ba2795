#include "model/suite.hpp"

namespace harness::model {

const char* to_string(OnFail on_fail) {
    switch (on_fail) {
    case OnFail::Stop:
        return "stop";
    case OnFail::Continue:
        return "continue";
    case OnFail::SkipGroup:
        return "skip_group";
    }
    return "continue";
}

} // namespace harness::model
