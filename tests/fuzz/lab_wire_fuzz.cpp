// Fuzzes the lab wire protocol (driver <-> lab process, `lab` commands): any body decodes to a
// request/reply or is refused with a reason (never an exception), what decodes re-encodes to the
// same bytes, and frame lengths above the limit are refused.
#include "fuzz_check.hpp"
#include "pure/lab_wire.hpp"

#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace w = harness::labwire;
    const harness::ByteView body(data, size);
    const harness::Bytes whole(body.begin(), body.end());
    std::string why;
    if (const auto request = w::decode_request(body, &why)) {
        FUZZ_CHECK(request->slot.size() <= w::max_slot_length);
        FUZZ_CHECK(w::encode_body(*request) == whole);
    } else {
        FUZZ_CHECK(!why.empty());
    }
    why.clear();
    if (const auto reply = w::decode_reply(body, &why))
        FUZZ_CHECK(w::encode_body(*reply) == whole);
    else
        FUZZ_CHECK(!why.empty());
    if (size >= w::header_length) {
        const auto length = w::body_length(body.first(w::header_length));
        const std::uint32_t announced = (std::uint32_t{data[0]} << 24) |
                                        (std::uint32_t{data[1]} << 16) |
                                        (std::uint32_t{data[2]} << 8) | std::uint32_t{data[3]};
        FUZZ_CHECK(length.has_value() == (announced <= w::max_body_length));
    }
    const auto framed = w::frame(body);
    FUZZ_CHECK(framed.size() == size + w::header_length);
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto name = w::parse_device_name(text))
        FUZZ_CHECK(w::parse_device_name(w::format_device_name(*name)).has_value());
    return 0;
}
