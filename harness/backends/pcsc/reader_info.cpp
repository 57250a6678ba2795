#include "backends/pcsc/reader_info.hpp"

#include "backends/pcsc/card.hpp"
#include "backends/pcsc/pcsc_error.hpp"
#include "pure/pcsc_features.hpp"

#include <cstring>
#include <memory>
#include <optional>

namespace harness::pcsc {

namespace {

model::PcscQueryFailure failure_of(std::string query, std::string call, long code,
                                   const std::string& what) {
    return model::PcscQueryFailure{std::move(query), std::move(call), code, code_name(code), what};
}

// Runs one query; a PC/SC failure becomes a PcscQueryFailure in `reader` and nullopt.
template <typename F>
auto attempt(model::PcscReader& reader, const std::string& query, F&& f)
    -> std::optional<decltype(f())> {
    try {
        return f();
    } catch (const io::TransportError& e) {
        reader.failures.push_back(failure_of(query, e.call(), e.raw_code(), e.what()));
    } catch (const PcscError& e) {
        reader.failures.push_back(failure_of(query, e.call(), e.raw_code(), e.what()));
    } catch (const EnvironmentFailure& e) {
        reader.failures.push_back(failure_of(query, e.call(), e.raw_code(), e.what()));
    }
    return std::nullopt;
}

std::string text_of(const Bytes& value) {
    std::string s(value.begin(), value.end());
    while (!s.empty() && (s.back() == '\0' || s.back() == ' '))
        s.pop_back();
    return s;
}

// DWORD attributes come in the driver's (host) byte order, 4 bytes (or fewer from odd drivers).
std::optional<std::uint32_t> dword_of(const Bytes& value) {
    if (value.empty() || value.size() > 4)
        return std::nullopt;
    std::uint32_t v = 0;
    std::memcpy(&v, value.data(), value.size());
    return v;
}

} // namespace

model::PcscReader read_reader_info(const Context& context, const std::string& name) {
    model::PcscReader reader;
    reader.name = name;
    reader.access = "none";
    if (auto s = attempt(reader, "state", [&] { return context.status_of(name); })) {
        reader.state = s->state;
        reader.atr = s->atr;
    }

    std::unique_ptr<Card> card;
    auto connect = [&](ShareMode mode) {
        try {
            card = std::make_unique<Card>(context, name, mode);
            reader.access = to_string(mode);
        } catch (const io::TransportError& e) {
            reader.failures.push_back(failure_of(std::string("connect ") + to_string(mode),
                                                 e.call(), e.raw_code(), e.what()));
        } catch (const PcscError& e) {
            reader.failures.push_back(failure_of(std::string("connect ") + to_string(mode),
                                                 e.call(), e.raw_code(), e.what()));
        }
    };
    if (reader.state.present && !reader.state.mute && !reader.state.exclusive) {
        connect(ShareMode::Shared);
        if (card)
            reader.protocol = to_string(card->protocol());
    }
    if (!card)
        connect(ShareMode::Direct);
    if (!card)
        return reader;

    auto get = [&](const char* query, std::uint32_t id) {
        return attempt(reader, query, [&] { return card->get_attrib(id); });
    };
    if (auto v = get("SCARD_ATTR_VENDOR_NAME", attr::vendor_name))
        reader.vendor_name = text_of(*v);
    if (auto v = get("SCARD_ATTR_VENDOR_IFD_TYPE", attr::vendor_ifd_type))
        reader.vendor_ifd_type = text_of(*v);
    if (auto v = get("SCARD_ATTR_VENDOR_IFD_VERSION", attr::vendor_ifd_version))
        reader.vendor_ifd_version = dword_of(*v);
    if (auto v = get("SCARD_ATTR_VENDOR_IFD_SERIAL_NO", attr::vendor_ifd_serial_no))
        reader.vendor_ifd_serial = text_of(*v);
    if (auto v = get("SCARD_ATTR_CHANNEL_ID", attr::channel_id))
        reader.channel_id = dword_of(*v);
    if (auto v = get("SCARD_ATTR_MAXINPUT", attr::maxinput))
        reader.max_input = dword_of(*v);

    if (auto answer = attempt(reader, "CM_IOCTL_GET_FEATURE_REQUEST",
                              [&] { return card->control(ioctl_get_feature_request); })) {
        FeatureList list = parse_feature_request(*answer);
        reader.features = list.features;
        reader.findings.insert(reader.findings.end(), list.findings.begin(), list.findings.end());
        if (auto code = find_feature(list.features, feature::get_tlv_properties)) {
            if (auto tlv = attempt(reader, "FEATURE_GET_TLV_PROPERTIES",
                                   [&] { return card->control(*code); })) {
                reader.tlv_properties = parse_tlv_properties(*tlv);
                reader.findings.insert(reader.findings.end(),
                                       reader.tlv_properties->findings.begin(),
                                       reader.tlv_properties->findings.end());
            }
        }
    }
    return reader;
}

std::vector<model::PcscReader> read_all_readers(const Context& context) {
    std::vector<model::PcscReader> readers;
    for (const auto& name : context.list_readers())
        readers.push_back(read_reader_info(context, name));
    return readers;
}

} // namespace harness::pcsc
