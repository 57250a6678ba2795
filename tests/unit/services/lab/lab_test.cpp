#include "pure/error.hpp"
#include "services/lab/lab.hpp"
#include "support/test_support.hpp"
#include "unit/services/lab/test_card.hpp"

#include <boost/test/unit_test.hpp>
#include <thread>

using namespace harness;
using namespace harness::lab;
using labwire::Op;
using labwire::Request;

namespace {

struct Fixture {
    Fixture() : lab(make()) {}

    static Lab make() {
        auto models = load_reader_model_dir(test::source_dir() / "profiles" / "readers");
        std::vector<SlotConfig> slots{
            {"r01", "lab-tpdu-contact", "mynumber", Interface::Contact, false},
            {"r02", "lab-nfc-a", "mynumber-contactless", Interface::TypeB, false},
            {"r03", "lab-no-pps", std::nullopt, Interface::Contact, false},
        };
        CardFactory factory = [](const std::string& profile,
                                 bool) -> std::shared_ptr<io::VirtualCard> {
            if (profile == "mynumber")
                return lab_test::my_number();
            if (profile == "mynumber-contactless")
                return lab_test::my_number_contactless();
            if (profile == "juki")
                return lab_test::juki();
            throw UsageError("unknown card profile " + profile);
        };
        PinProbe probe = [](io::VirtualCard& card) {
            return std::map<std::string, int>{
                {"auth", dynamic_cast<lab_test::TestCard&>(card).tries}};
        };
        return Lab(std::move(models), std::move(slots), factory, probe);
    }

    labwire::Reply call(Op op, const std::string& slot, std::uint32_t arg = 0, Bytes data = {}) {
        return lab.handle(Request{op, slot, arg, std::move(data)});
    }

    Lab lab;
};

std::uint32_t le32(const Bytes& b) {
    return std::uint32_t{b.at(0)} | std::uint32_t{b.at(1)} << 8 | std::uint32_t{b.at(2)} << 16 |
           std::uint32_t{b.at(3)} << 24;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(driver_operations_follow_an_scardconnect, Fixture) {
    BOOST_TEST((call(Op::Hello, "r01").code == ifd::Code::Success));
    BOOST_TEST((call(Op::Hello, "nope").code == ifd::Code::NoSuchDevice));
    BOOST_TEST((call(Op::Presence, "r01").code == ifd::Code::IccPresent));
    const auto atr = call(Op::Power, "r01", 500);
    BOOST_TEST((atr.code == ifd::Code::Success));
    BOOST_TEST(atr.data == lab_test::my_number_atr);
    BOOST_TEST((call(Op::SetProtocol, "r01", 2).code == ifd::Code::Success));
    BOOST_TEST((call(Op::SetProtocol, "r01", 1).code == ifd::Code::ProtocolNotSupported));
    const auto response = call(Op::Transmit, "r01", 2, Bytes{0x00, 0xA4, 0x04, 0x0C});
    BOOST_TEST(response.data == (Bytes{0x90, 0x00}));
    BOOST_TEST(call(Op::Capability, "r01", attr::atr_string).data == lab_test::my_number_atr);
    BOOST_TEST((call(Op::Power, "r01", 501).code == ifd::Code::Success));
    // The Type A-only reader never sees its Type B card; the empty slot has none.
    BOOST_TEST((call(Op::Presence, "r02").code == ifd::Code::IccNotPresent));
    BOOST_TEST((call(Op::Power, "r02", 500).code == ifd::Code::IccNotPresent));
    BOOST_TEST((call(Op::Presence, "r03").code == ifd::Code::IccNotPresent));
}

BOOST_FIXTURE_TEST_CASE(identity_attributes_come_from_the_model, Fixture) {
    const ReaderModel& m = lab.model_of("r01");
    const auto name = call(Op::Capability, "r01", attr::vendor_name).data;
    BOOST_TEST(std::string(name.begin(), name.end() - 1) == m.usb.manufacturer);
    BOOST_TEST(name.back() == 0);
    BOOST_TEST(le32(call(Op::Capability, "r01", attr::vendor_ifd_version).data) ==
               std::uint32_t{m.usb.bcd_device} << 16);
    const auto serial = call(Op::Capability, "r01", attr::vendor_ifd_serial).data;
    BOOST_TEST(std::string(serial.begin(), serial.end() - 1) == m.usb.serial);
    BOOST_TEST((le32(call(Op::Capability, "r01", attr::channel_id).data) >> 16) == 0x0020U);
    BOOST_TEST(le32(call(Op::Capability, "r01", attr::max_input).data) ==
               m.max_message_length - 10);
    BOOST_TEST((call(Op::Capability, "r01", 0x12345678).code == ifd::Code::ErrorTag));
}

BOOST_FIXTURE_TEST_CASE(feature_request_and_tlv_properties, Fixture) {
    const auto features = call(Op::Control, "r01", control::get_feature_request).data;
    BOOST_TEST(features == (Bytes{0x12, 0x04, 0x42, 0x33, 0x00, 0x12}));
    const auto tlv = call(Op::Control, "r01", control::get_tlv_properties).data;
    const ReaderModel& m = lab.model_of("r01");
    std::map<std::uint8_t, Bytes> tags;
    for (std::size_t i = 0; i + 2 <= tlv.size();) {
        const std::uint8_t tag = tlv[i], length = tlv[i + 1];
        BOOST_TEST_REQUIRE(i + 2 + length <= tlv.size());
        tags[tag] = Bytes(tlv.begin() + static_cast<std::ptrdiff_t>(i + 2),
                          tlv.begin() + static_cast<std::ptrdiff_t>(i + 2 + length));
        i += 2U + length;
    }
    BOOST_TEST(tags.at(0x0B) == (Bytes{static_cast<std::uint8_t>(m.usb.vendor_id),
                                       static_cast<std::uint8_t>(m.usb.vendor_id >> 8)}));
    BOOST_TEST(tags.at(0x0C) == (Bytes{static_cast<std::uint8_t>(m.usb.product_id),
                                       static_cast<std::uint8_t>(m.usb.product_id >> 8)}));
    BOOST_TEST(le32(tags.at(0x0A)) == m.max_apdu_data_size());
    BOOST_TEST(tags.count(0x08) == 1U);
    BOOST_TEST((call(Op::Control, "r01", 0x42000001).code == ifd::Code::ErrorNotSupported));
}

BOOST_FIXTURE_TEST_CASE(insert_remove_reset_and_status, Fixture) {
    auto status = nlohmann::json::parse(call(Op::Status, "").data);
    BOOST_TEST(status["slots"].size() == 3U);
    BOOST_TEST(status["slots"][0]["slot"] == "r01");
    BOOST_TEST(status["slots"][0]["pcsc_reader"] == "Lab TPDU Contact 100 (r01) 00 00");
    BOOST_TEST(status["slots"][0]["card"] == "mynumber");
    BOOST_TEST(status["slots"][0]["pins"]["auth"] == 3);
    BOOST_TEST(status["slots"][2]["card"].is_null());
    BOOST_TEST(status["slots"][1]["interface"] == "type_b");

    // Spend a try, then reset: the card is made anew.
    call(Op::Power, "r01", 500);
    call(Op::Transmit, "r01", 2, Bytes{0x00, 0x20, 0x00, 0x80, 0x01, 0x31});
    BOOST_TEST(lab.status()[0].pins.at("auth") == 2);
    BOOST_TEST((call(Op::Reset, "").code == ifd::Code::Success));
    BOOST_TEST(lab.status()[0].pins.at("auth") == 3);

    BOOST_TEST((call(Op::Insert, "r03", 1, bytes_of("juki")).code == ifd::Code::Success));
    BOOST_TEST((call(Op::Presence, "r03").code == ifd::Code::IccPresent));
    BOOST_TEST(lab.status()[2].card.value() == "juki");
    BOOST_TEST(lab.status()[2].citizen);
    BOOST_TEST((call(Op::Remove, "r03").code == ifd::Code::Success));
    BOOST_TEST((call(Op::Presence, "r03").code == ifd::Code::IccNotPresent));
    // Errors for the commands come back as text.
    const auto unknown = call(Op::Insert, "r03", 0, bytes_of("no-such-card"));
    BOOST_TEST((unknown.code == ifd::Code::BadRequest));
    BOOST_TEST(std::string(unknown.data.begin(), unknown.data.end()).find("no-such-card") !=
               std::string::npos);
    BOOST_TEST((call(Op::Insert, "r03").code == ifd::Code::BadRequest)); // no default card
    BOOST_TEST((call(Op::Remove, "r99").code == ifd::Code::BadRequest));
    BOOST_TEST((call(Op::Stop, "").code == ifd::Code::BadRequest));
}

BOOST_FIXTURE_TEST_CASE(removal_during_a_transmit_fails_it_at_once, Fixture) {
    lab.set_real_time(true);
    call(Op::Power, "r01", 500);
    call(Op::SetProtocol, "r01", 2);
    Bytes sign{0x80, 0x2A, 0x00, 0x80, 0x01, 0x30, 0x00}; // 1.8 s on the test My Number card
    labwire::Reply result;
    const auto start = std::chrono::steady_clock::now();
    std::thread transmit([&] { result = call(Op::Transmit, "r01", 2, sign); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    call(Op::Remove, "r01");
    transmit.join();
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST((result.code == ifd::Code::IccNotPresent));
    BOOST_TEST(took < std::chrono::milliseconds(1500));
}
