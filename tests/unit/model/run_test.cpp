// The typed failure kind and the run status names are stored and exported: they round-trip, and
// every kind has its class (transport, environment, guard, consequence).
#include "model/run.hpp"

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>

using namespace harness;
using model::FailureClass;
using model::FailureKind;

BOOST_AUTO_TEST_CASE(failure_kinds_round_trip_and_are_classed) {
    const FailureKind all[] = {
        FailureKind::None,           FailureKind::CardRemoved,      FailureKind::CardReset,
        FailureKind::ReaderGone,     FailureKind::Timeout,          FailureKind::TooLong,
        FailureKind::Communication,  FailureKind::ProtocolMismatch, FailureKind::Unresponsive,
        FailureKind::TransportOther, FailureKind::NoService,        FailureKind::LabStopped,
        FailureKind::Disk,           FailureKind::RefusedByGuard,   FailureKind::MissingInput};
    std::set<std::string> names;
    for (const auto kind : all) {
        const std::string name = model::to_string(kind);
        BOOST_TEST((model::failure_kind_from(name) == kind), name);
        BOOST_TEST(names.insert(name).second, name);
    }
    BOOST_TEST(std::string(model::to_string(FailureKind::None)).empty());
    BOOST_TEST(!model::failure_kind_from("SCARD_E_NO_SERVICE").has_value());
    for (const auto kind : {FailureKind::NoService, FailureKind::LabStopped, FailureKind::Disk})
        BOOST_TEST(model::is_environment(kind));
    for (const auto kind : {FailureKind::CardRemoved, FailureKind::ReaderGone, FailureKind::Timeout,
                            FailureKind::TooLong, FailureKind::Communication})
        BOOST_TEST((model::class_of(kind) == FailureClass::Transport));
    BOOST_TEST((model::class_of(FailureKind::RefusedByGuard) == FailureClass::Guard));
    BOOST_TEST((model::class_of(FailureKind::MissingInput) == FailureClass::Consequence));
    BOOST_TEST((model::class_of(FailureKind::None) == FailureClass::None));
}

BOOST_AUTO_TEST_CASE(run_statuses_round_trip_including_interrupted) {
    for (const auto s : {model::RunStatus::Running, model::RunStatus::Complete,
                         model::RunStatus::Incomplete, model::RunStatus::Interrupted})
        BOOST_TEST((model::run_status_from(model::to_string(s)) == s));
    BOOST_TEST(std::string(model::to_string(model::RunStatus::Interrupted)) == "interrupted");
}
