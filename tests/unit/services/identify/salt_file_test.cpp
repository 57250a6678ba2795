#include "pure/error.hpp"
#include "services/identify/salt_file.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace harness;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "salt_test.XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

} // namespace

BOOST_AUTO_TEST_CASE(creates_a_private_32_byte_salt_beside_the_database) {
    TempDir dir;
    identify::FileSaltStore store(dir.path / "results" / "harness.db");
    BOOST_TEST(store.file() == dir.path / "results" / "harness.db.salt");
    const io::Salt salt = store.salt();
    BOOST_TEST(salt.bytes.size() == identify::salt_size);
    BOOST_TEST(fs::file_size(store.file()) == identify::salt_size);
    struct stat st {};
    BOOST_REQUIRE(::stat(store.file().c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    // No temporary file is left behind.
    BOOST_TEST(std::distance(fs::directory_iterator(dir.path / "results"), {}) == 1);
}

BOOST_AUTO_TEST_CASE(is_stable_per_database_and_differs_between_databases) {
    TempDir dir;
    const io::Salt first = identify::FileSaltStore(dir.path / "a.db").salt();
    const io::Salt again = identify::FileSaltStore(dir.path / "a.db").salt();
    const io::Salt other = identify::FileSaltStore(dir.path / "b.db").salt();
    BOOST_TEST(first.bytes == again.bytes);
    BOOST_TEST(first.bytes != other.bytes);
}

BOOST_AUTO_TEST_CASE(a_salt_file_of_the_wrong_size_is_a_config_error_with_its_place) {
    TempDir dir;
    std::ofstream(dir.path / "x.db.salt") << "too short";
    identify::FileSaltStore store(dir.path / "x.db");
    try {
        (void)store.salt();
        BOOST_FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("x.db.salt:1:1: expected exactly 32 bytes") != std::string::npos,
                   what);
    }
}

BOOST_AUTO_TEST_CASE(an_unusable_folder_is_an_environment_error) {
    TempDir dir;
    std::ofstream(dir.path / "file") << "not a folder";
    identify::FileSaltStore store(dir.path / "file" / "harness.db");
    BOOST_CHECK_THROW((void)store.salt(), EnvironmentError);
}
