#include "pure/ccid_driver_list.hpp"

#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <fmt/core.h>
#include <optional>

namespace harness::ccid_driver {
namespace {

// A cursor over the plist text that knows its line and column (both 1-based).
class Scanner {
public:
    Scanner(std::string_view text, std::string_view source) : text_(text), source_(source) {}

    [[noreturn]] void fail(std::size_t at, std::string_view what) const {
        std::size_t line = 1;
        std::size_t column = 1;
        for (std::size_t i = 0; i < at && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw ConfigError(fmt::format("{}:{}:{}: expected {}", source_, line, column, what));
    }

    // Skips white space and <!-- comments -->.
    void skip_blank() {
        for (;;) {
            while (pos_ < text_.size() && is_space(text_[pos_]))
                ++pos_;
            if (text_.substr(pos_, 4) != "<!--")
                return;
            const auto end = text_.find("-->", pos_ + 4);
            if (end == std::string_view::npos)
                fail(pos_, "the end of the comment (\"-->\")");
            pos_ = end + 3;
        }
    }

    bool at(std::string_view token) {
        skip_blank();
        return text_.substr(pos_, token.size()) == token;
    }

    void expect(std::string_view token) {
        if (!at(token))
            fail(pos_, fmt::format("\"{}\"", token));
        pos_ += token.size();
    }

    // The raw text up to the next '<'; returns where it started.
    std::pair<std::string_view, std::size_t> text_until_tag() {
        const auto start = pos_;
        const auto end = text_.find('<', pos_);
        if (end == std::string_view::npos)
            fail(pos_, "a closing tag");
        pos_ = end;
        return {text_.substr(start, end - start), start};
    }

    // Finds `<key>name</key>` outside comments; returns false when absent.
    bool seek_key(std::string_view name) {
        pos_ = 0;
        for (;;) {
            skip_blank();
            const auto lt = text_.find('<', pos_);
            if (lt == std::string_view::npos)
                return false;
            pos_ = lt;
            if (text_.substr(pos_, 4) == "<!--") {
                skip_blank();
                continue;
            }
            if (text_.substr(pos_, 5) == "<key>") {
                pos_ += 5;
                auto [key, start] = text_until_tag();
                expect("</key>");
                if (key == name)
                    return true;
                continue;
            }
            ++pos_;
        }
    }

    std::size_t position() const { return pos_; }

private:
    static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

    std::string_view text_;
    std::string_view source_;
    std::size_t pos_ = 0;
};

struct Item {
    std::string value;
    std::size_t offset = 0;
};

std::string decode_entities(std::string_view raw, const Scanner& scanner, std::size_t offset) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '&') {
            out += raw[i];
            continue;
        }
        const auto semi = raw.find(';', i);
        if (semi == std::string_view::npos)
            scanner.fail(offset + i, "an XML entity ending in ';'");
        const auto name = raw.substr(i + 1, semi - i - 1);
        if (name == "amp")
            out += '&';
        else if (name == "lt")
            out += '<';
        else if (name == "gt")
            out += '>';
        else if (name == "quot")
            out += '"';
        else if (name == "apos")
            out += '\'';
        else
            scanner.fail(offset + i, "one of &amp; &lt; &gt; &quot; &apos;");
        i = semi;
    }
    return out;
}

std::vector<Item> read_string_array(Scanner& scanner, std::string_view key) {
    if (!scanner.seek_key(key))
        scanner.fail(0, fmt::format("a <key>{}</key> entry (the CCID driver's reader list)", key));
    std::vector<Item> items;
    if (scanner.at("<array/>")) {
        scanner.expect("<array/>");
        return items;
    }
    scanner.expect("<array>");
    while (!scanner.at("</array>")) {
        scanner.expect("<string>");
        auto [raw, start] = scanner.text_until_tag();
        items.push_back({decode_entities(raw, scanner, start), start});
        scanner.expect("</string>");
    }
    scanner.expect("</array>");
    return items;
}

std::optional<std::uint16_t> parse_id(std::string_view text) {
    if (text.size() < 3 || text.size() > 6 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return std::nullopt;
    const auto value = hex::parse_number(text.substr(2), 4);
    if (!value)
        return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

} // namespace

std::vector<SupportedReader> parse_info_plist(std::string_view text, std::string_view source) {
    Scanner scanner(text, source);
    const auto vids = read_string_array(scanner, "ifdVendorID");
    const auto pids = read_string_array(scanner, "ifdProductID");
    const auto pids_end = scanner.position();
    const auto names = read_string_array(scanner, "ifdFriendlyName");
    const auto names_end = scanner.position();
    if (pids.size() != vids.size())
        scanner.fail(pids_end, fmt::format("{} ifdProductID entries (as many as ifdVendorID), "
                                           "found {}",
                                           vids.size(), pids.size()));
    if (names.size() != vids.size())
        scanner.fail(names_end, fmt::format("{} ifdFriendlyName entries (as many as "
                                            "ifdVendorID), found {}",
                                            vids.size(), names.size()));
    std::vector<SupportedReader> readers;
    readers.reserve(vids.size());
    for (std::size_t i = 0; i < vids.size(); ++i) {
        const auto vid = parse_id(vids[i].value);
        if (!vid)
            scanner.fail(vids[i].offset, "a vendor ID like 0x072F");
        const auto pid = parse_id(pids[i].value);
        if (!pid)
            scanner.fail(pids[i].offset, "a product ID like 0xB100");
        readers.push_back({*vid, *pid, names[i].value});
    }
    return readers;
}

} // namespace harness::ccid_driver

namespace harness::ccid_driver {
namespace {

std::string xml_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

} // namespace

std::string add_readers(std::string_view text, const std::vector<SupportedReader>& readers,
                        std::string_view source) {
    parse_info_plist(text, source); // the same checks: the three arrays exist and agree
    std::string out(text);
    const auto append = [&](std::string_view key, auto&& value_of) {
        const std::string tag = fmt::format("<key>{}</key>", key);
        const auto key_at = out.find(tag);
        const auto close = key_at == std::string::npos ? key_at : out.find("</array>", key_at);
        if (close == std::string::npos)
            throw ConfigError(fmt::format("{}:1:1: expected the {} array", source, key));
        // Indent like the line of the closing tag, one level deeper.
        const auto line_start = out.rfind('\n', close);
        const std::string indent = line_start == std::string::npos
                                       ? std::string()
                                       : out.substr(line_start + 1, close - line_start - 1);
        std::string added;
        for (const auto& r : readers)
            added += fmt::format("\t<string>{}</string>\n{}", value_of(r), indent);
        out.insert(close, added);
    };
    append("ifdVendorID", [](const SupportedReader& r) { return fmt::format("0x{:04X}", r.vid); });
    append("ifdProductID", [](const SupportedReader& r) { return fmt::format("0x{:04X}", r.pid); });
    append("ifdFriendlyName", [](const SupportedReader& r) { return xml_escape(r.name); });
    return out;
}

} // namespace harness::ccid_driver
