// profiles/readers/ccid_firmware_minimums.csv against the CCID driver installed here: libccid's
// Bogus_firmwares[] table is an array of {int vendor, product, firmware} in libccid.so's data.
// Found by its first entry (SCR 331, unchanged for 15 years), read until a zero vendor. A libccid
// with another table fails this test: the CSV must then be updated (doctor reads the CSV).
#include "services/doctor/doctor.hpp"
#include "support/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

using namespace harness;

namespace {

const char* libccid = "/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so";

std::uint32_t le32(const std::string& bytes, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    return v;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_shipped_list_is_the_installed_drivers_table) {
    const auto list = doctor::load_firmware_minimums(test::source_dir() / "profiles" / "readers" /
                                                     "ccid_firmware_minimums.csv");
    BOOST_TEST(list.size() >= 10U);

    std::ifstream in(libccid, std::ios::binary);
    if (!in)
        test::skip(std::string("libccid not installed at ") + libccid);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string binary = text.str();
    // {0x04e6, 0xe001, 0x0516} as three little-endian ints (x86-64).
    const std::string first("\xe6\x04\x00\x00\x01\xe0\x00\x00\x16\x05\x00\x00", 12);
    const auto at = binary.find(first);
    if (at == std::string::npos)
        test::skip("libccid.so has no table starting with SCR 331 5.16 (another architecture?)");
    std::set<std::tuple<unsigned, unsigned, unsigned>> driver;
    for (std::size_t p = at; p + 12 <= binary.size(); p += 12) {
        const auto vendor = le32(binary, p);
        if (vendor == 0 || vendor > 0xFFFF)
            break;
        driver.insert({vendor, le32(binary, p + 4), le32(binary, p + 8)});
    }
    std::set<std::tuple<unsigned, unsigned, unsigned>> shipped;
    for (const auto& m : list)
        shipped.insert({m.vid, m.pid, m.min_bcd_device});
    BOOST_TEST(driver.size() == shipped.size());
    for (const auto& [v, p, f] : driver)
        BOOST_TEST(shipped.count({v, p, f}) == 1U, "libccid refuses "
                                                       << std::hex << v << ":" << p << " below "
                                                       << f << " but the CSV does not say so");
}
