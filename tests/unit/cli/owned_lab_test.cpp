// cli::OwnedLab, the lab `run --lab` starts: it belongs to this process (the lab watches our pid)
// and stops when the object goes. Starts the default lab on a real private pcscd: needs root and
// the built reader driver (found next to this test's build tree); exits 77 otherwise.
#include "backends/lab/lab_process.hpp"
#include "cli/lab_spec.hpp"
#include "pure/error.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(an_owned_lab_records_its_owner_and_stops_with_the_object) {
    if (::geteuid() != 0)
        test::skip("needs root (a private pcscd in a mount namespace)");
    if (!labd::find_executable("pcscd") || !labd::unshare_permitted())
        test::skip("pcscd or unshare(CLONE_NEWNS) not available");
    char templ[] = "/tmp/chowned.XXXXXX";
    BOOST_REQUIRE(::mkdtemp(templ));
    const fs::path dir = templ;
    cli::LabSpecRequest request;
    request.dir = dir.string();
    labd::LabState state;
    {
        cli::OwnedLab lab(request);
        BOOST_TEST(lab.pcsc_socket() == (dir / "run" / "pcscd.comm").string());
        const auto running = lab.client().running();
        BOOST_REQUIRE(running.has_value());
        state = *running;
        BOOST_TEST(state.owner_pid.value_or(-1) == ::getpid());
        BOOST_TEST(lab.client().status().slots.size() >= 8U);
        // A second lab for the same folder is refused while this one runs.
        BOOST_CHECK_THROW(cli::OwnedLab{request}, EnvironmentError);
    }
    BOOST_TEST(!labd::process_alive(state.pid));
    BOOST_TEST(!labd::process_alive(state.pcscd_pid));
    BOOST_TEST(!fs::exists(dir / "state.json"));
    fs::remove_all(dir);
}
