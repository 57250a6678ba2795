#pragma once
// A tiny test-side io::VirtualCard: enough APDU behaviour to show every reader quirk.
//   INS 2A (sign)        -> sign_length bytes + 90 00, taking sign_time
//   INS B0 (read binary) -> Ne bytes + 90 00 (Le 00 = 256, extended Le 00 00 = 65536 capped)
//   INS D6 (echo)        -> the command data + 90 00
//   INS 20 (verify)      -> 63 Cx with a retry counter that survives power cycles
//   anything else        -> 90 00
#include "io/virtual_card.hpp"

#include <chrono>
#include <string>

namespace lab_test {

inline const harness::Bytes my_number_atr{0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB,
                                          0x46, 0x80, 0x12, 0x39, 0x2F, 0x31, 0xC1,
                                          0x73, 0xC6, 0x01, 0xC0, 0x3B};
inline const harness::Bytes juki_atr{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14};
inline const harness::Bytes my_number_type_b_atr{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05,
                                                 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F};

class TestCard : public harness::io::VirtualCard {
public:
    TestCard(harness::Bytes atr, std::size_t sign_length, std::chrono::milliseconds sign_time,
             std::string name = "test")
        : atr_(std::move(atr)), sign_length_(sign_length), sign_time_(sign_time),
          name_(std::move(name)) {}

    harness::Bytes power_on() override {
        powered_ = true;
        return atr_;
    }
    void power_off() override { powered_ = false; }
    harness::Bytes reset(bool) override { return power_on(); }
    harness::Bytes atr() const override { return atr_; }
    std::string profile_name() const override { return name_; }

    harness::io::CardResponse transmit(harness::ByteView c) override {
        ++commands;
        last_command.assign(c.begin(), c.end());
        harness::io::CardResponse r;
        const std::uint8_t ins = c.size() > 1 ? c[1] : 0;
        if (ins == 0x2A) {
            r.apdu.assign(sign_length_, 0x5A);
            r.processing_time = sign_time_;
        } else if (ins == 0xB0 && c.size() >= 5) {
            std::size_t ne = c[4] == 0 ? 256 : c[4];
            if (c.size() == 7 && c[4] == 0)
                ne = (std::size_t{c[5]} << 8 | c[6]) == 0 ? 65536 : (std::size_t{c[5]} << 8 | c[6]);
            r.apdu.resize(std::min<std::size_t>(ne, 4096));
            for (std::size_t i = 0; i < r.apdu.size(); ++i)
                r.apdu[i] = static_cast<std::uint8_t>(i);
        } else if (ins == 0xD6 && c.size() > 5) {
            const std::size_t offset = c[4] == 0 ? 7 : 5;
            r.apdu.assign(c.begin() + static_cast<std::ptrdiff_t>(offset), c.end());
        } else if (ins == 0x20) {
            if (c.size() > 5 && tries > 0)
                --tries;
            r.apdu = {0x63, static_cast<std::uint8_t>(0xC0 | tries)};
            return r;
        }
        r.apdu.push_back(0x90);
        r.apdu.push_back(0x00);
        return r;
    }

    int commands = 0;
    int tries = 3;
    bool powered_ = false;
    harness::Bytes last_command;

private:
    harness::Bytes atr_;
    std::size_t sign_length_;
    std::chrono::milliseconds sign_time_;
    std::string name_;
};

inline std::shared_ptr<TestCard> my_number() {
    return std::make_shared<TestCard>(my_number_atr, 256, std::chrono::milliseconds(1800),
                                      "mynumber");
}
inline std::shared_ptr<TestCard> juki() {
    return std::make_shared<TestCard>(juki_atr, 128, std::chrono::milliseconds(400), "juki");
}
inline std::shared_ptr<TestCard> my_number_contactless() {
    return std::make_shared<TestCard>(my_number_type_b_atr, 256, std::chrono::milliseconds(1800),
                                      "mynumber-contactless");
}

} // namespace lab_test
