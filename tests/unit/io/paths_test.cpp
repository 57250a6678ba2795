// io::paths: where data, state, profiles and the lab driver are found, from a checkout and as an
// installed program ($CARDHARNESS_LAYOUT=installed stands in for a binary below /usr/bin).
#include "io/paths.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
namespace paths = harness::io::paths;

namespace {

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value)
            ::setenv(name, value->c_str(), 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

struct CleanEnv {
    ScopedEnv layout{"CARDHARNESS_LAYOUT", std::nullopt};
    ScopedEnv profiles{"CARDHARNESS_PROFILES_DIR", std::nullopt};
    ScopedEnv lab{"CARDHARNESS_LAB_DIR", std::nullopt};
    ScopedEnv pki{"CARDHARNESS_PKI_DIR", std::nullopt};
    ScopedEnv state{"CARDHARNESS_STATE_DIR", std::nullopt};
    ScopedEnv driver{"CARDHARNESS_IFD_DRIVER", std::nullopt};
    ScopedEnv xdg_data{"XDG_DATA_HOME", std::string("/tmp/xdg-data")};
    ScopedEnv xdg_state{"XDG_STATE_HOME", std::string("/tmp/xdg-state")};
};

const fs::path source = CARDHARNESS_SOURCE_DIR;

} // namespace

BOOST_FIXTURE_TEST_CASE(a_test_binary_runs_from_the_checkout, CleanEnv) {
    BOOST_TEST(paths::running_from_checkout());
    BOOST_TEST(paths::profiles_dir() == source / "profiles");
    BOOST_TEST(fs::exists(paths::profiles_dir() / "labs" / "default.csv"));
    BOOST_TEST(paths::data_dir() == source / "results");
    BOOST_TEST(paths::default_database() == source / "results" / "harness.db");
    BOOST_TEST(paths::default_lab_dir() == source / "results" / "lab");
    BOOST_TEST(paths::default_pki_dir() == source / "results" / "pki");
}

BOOST_FIXTURE_TEST_CASE(installed_data_goes_where_a_system_program_writes, CleanEnv) {
    ScopedEnv installed("CARDHARNESS_LAYOUT", std::string("installed"));
    BOOST_TEST(!paths::running_from_checkout());
    const fs::path prefix = paths::install_prefix();
    BOOST_TEST(paths::profiles_dir() == prefix / "share" / "cardharness" / "profiles");
    BOOST_TEST(paths::install_lib_dir() == prefix / "lib" / "cardharness");
    if (::geteuid() == 0) {
        BOOST_TEST(paths::data_dir() == fs::path("/var/lib/cardharness"));
        BOOST_TEST(paths::default_database() == fs::path("/var/lib/cardharness/harness.db"));
        BOOST_TEST(paths::default_lab_dir() == fs::path("/var/lib/cardharness/lab"));
        BOOST_TEST(paths::state_dir() == fs::path("/var/lib/cardharness/state"));
    } else {
        BOOST_TEST(paths::data_dir() == fs::path("/tmp/xdg-data/cardharness"));
        BOOST_TEST(paths::default_lab_dir() == fs::path("/tmp/xdg-data/cardharness/lab"));
        BOOST_TEST(paths::state_dir() == fs::path("/tmp/xdg-state/cardharness"));
    }
    // Nothing of the source tree leaks into an installed program's paths.
    for (const auto& p : {paths::profiles_dir(), paths::data_dir(), paths::state_dir(),
                          paths::default_lab_dir(), paths::lab_driver()})
        BOOST_TEST(p.string().find(source.string()) == std::string::npos, p);
}

BOOST_FIXTURE_TEST_CASE(the_lab_driver_is_never_in_the_system_pcscd_driver_folder, CleanEnv) {
    {
        ScopedEnv installed("CARDHARNESS_LAYOUT", std::string("installed"));
        BOOST_TEST(paths::lab_driver() == paths::install_lib_dir() / "libifdcardharness.so");
        BOOST_TEST(paths::lab_driver().string().find("/pcsc/drivers") == std::string::npos);
    }
    // From the checkout: the build tree's driver (built before the tests run).
    BOOST_TEST(paths::lab_driver().filename() == "libifdcardharness.so");
    BOOST_TEST(fs::exists(paths::lab_driver()), paths::lab_driver());
    ScopedEnv chosen("CARDHARNESS_IFD_DRIVER", std::string("/opt/x/libifd.so"));
    BOOST_TEST(paths::lab_driver() == fs::path("/opt/x/libifd.so"));
}

BOOST_FIXTURE_TEST_CASE(overrides_win_in_both_layouts, CleanEnv) {
    for (const char* which : {"checkout", "installed"}) {
        ScopedEnv l("CARDHARNESS_LAYOUT", std::string(which));
        ScopedEnv p("CARDHARNESS_PROFILES_DIR", std::string("/srv/profiles"));
        ScopedEnv d("CARDHARNESS_LAB_DIR", std::string("/srv/lab"));
        ScopedEnv s("CARDHARNESS_STATE_DIR", std::string("/srv/state"));
        BOOST_TEST(paths::profiles_dir() == fs::path("/srv/profiles"));
        BOOST_TEST(paths::default_lab_dir() == fs::path("/srv/lab"));
        BOOST_TEST(paths::state_dir() == fs::path("/srv/state"));
    }
}

BOOST_FIXTURE_TEST_CASE(an_unknown_layout_value_is_ignored, CleanEnv) {
    ScopedEnv l("CARDHARNESS_LAYOUT", std::string("somewhere"));
    BOOST_TEST(paths::running_from_checkout());
}
