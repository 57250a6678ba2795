#include "pure/card_interface.hpp"

#include <cctype>

namespace harness::card_interface {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool contains_word(std::string_view haystack, std::string_view word) {
    const std::string h = lower(haystack);
    const std::string w = lower(word);
    for (std::size_t pos = h.find(w); pos != std::string::npos; pos = h.find(w, pos + 1)) {
        const bool start_ok = pos == 0 || !std::isalnum(static_cast<unsigned char>(h[pos - 1]));
        const std::size_t end = pos + w.size();
        const bool end_ok = end == h.size() || !std::isalnum(static_cast<unsigned char>(h[end]));
        if (start_ok && end_ok)
            return true;
    }
    return false;
}

} // namespace

const char* to_string(Kind kind) {
    return kind == Kind::Contact ? "contact" : "contactless";
}

std::optional<ReaderSays> from_name(std::string_view name, std::string source) {
    ReaderSays says;
    says.source = std::move(source);
    for (const char* word : {"PICC", "Contactless", "NFC", "CL", "RF"})
        says.contactless = says.contactless || contains_word(name, word);
    for (const char* word : {"ICC", "SAM", "Contact"})
        says.contact = says.contact || contains_word(name, word);
    if (!says.contact && !says.contactless)
        return std::nullopt;
    return says;
}

bool has_pseudo_atr_shape(ByteView atr) {
    return atr.size() >= 4 && atr[0] == 0x3B && (atr[1] & 0xF0) == 0x80 && atr[2] == 0x80 &&
           atr[3] == 0x01;
}

Decision decide(const std::vector<ReaderSays>& reader, ByteView atr) {
    Decision d;
    const bool pseudo = has_pseudo_atr_shape(atr);
    for (const auto& says : reader) {
        if (says.contact == says.contactless)
            continue; // both (a dual interface) or neither: not this source's call
        d.kind = says.contactless ? Kind::Contactless : Kind::Contact;
        d.from = says.source;
        d.atr_disagrees = !atr.empty() && pseudo != (*d.kind == Kind::Contactless);
        return d;
    }
    if (atr.empty())
        return d;
    d.kind = pseudo ? Kind::Contactless : Kind::Contact;
    d.from = "atr";
    return d;
}

} // namespace harness::card_interface
