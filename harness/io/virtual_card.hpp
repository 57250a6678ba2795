#pragma once
// VirtualCard: an emulated card, with the vsmartcard verb set (power on/off, reset, ATR,
// transmit). Implemented by services/emu; consumed by the lab, the vpcd client and in-process
// channels, which never include emu headers directly (services meet only through io/).
#include "pure/bytes.hpp"

#include <chrono>
#include <string>

namespace harness::io {

struct CardResponse {
    Bytes apdu;                                   // response data + SW1 SW2
    std::chrono::microseconds processing_time{0}; // how long the real card would take
};

class VirtualCard {
public:
    virtual ~VirtualCard() = default;
    virtual Bytes power_on() = 0; // returns the ATR
    virtual void power_off() = 0;
    virtual Bytes reset(bool cold) = 0; // returns the ATR
    virtual Bytes atr() const = 0;
    virtual CardResponse transmit(ByteView command) = 0;
    virtual std::string profile_name() const = 0;
};

} // namespace harness::io
