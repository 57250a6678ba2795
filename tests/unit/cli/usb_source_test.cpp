#include "cli/usb_source.hpp"
#include "pure/error.hpp"

#include <boost/test/unit_test.hpp>

using namespace harness;

BOOST_AUTO_TEST_CASE(vid_pid_accepts_hex_in_either_case_and_0x_prefixes) {
    struct Case {
        const char* text;
        std::uint16_t vid;
        std::uint16_t pid;
    };
    for (const auto& c : {Case{"054C:0DC8", 0x054C, 0x0DC8}, Case{"54c:dc8", 0x054C, 0x0DC8},
                          Case{"0x072F:0xB100", 0x072F, 0xB100}, Case{"FFFF:0", 0xFFFF, 0}}) {
        const auto [vid, pid] = cli::parse_vid_pid(c.text);
        BOOST_TEST(vid == c.vid, c.text);
        BOOST_TEST(pid == c.pid, c.text);
    }
}

BOOST_AUTO_TEST_CASE(vid_pid_rejects_anything_else_as_usage_error) {
    for (const char* text :
         {"", "054C", "054C:", ":0DC8", "054C-0DC8", "10000:1", "054C:0DCG", "054C:0DC8:1"})
        BOOST_CHECK_THROW(cli::parse_vid_pid(text), UsageError);
}
