#include "services/suite/scriptor_import.hpp"

#include "io/text_file.hpp"
#include "pure/error.hpp"
#include "pure/openssl.hpp"
#include "services/suite/pin_policy.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace harness::suite {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text, std::size_t* skipped = nullptr) {
    std::size_t first = 0;
    while (first < text.size() && is_blank(text[first]))
        ++first;
    std::size_t last = text.size();
    while (last > first && is_blank(text[last - 1]))
        --last;
    if (skipped)
        *skipped = first;
    return text.substr(first, last - first);
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// One physical piece of a (possibly continued) command: its text and where it starts.
struct Piece {
    std::size_t line = 0;
    std::size_t column = 0; // 1-based column of text[0]
    std::string text;
};

class Importer {
public:
    Importer(std::string_view text, std::string file, const ScriptorOptions& options)
        : file_(std::move(file)) {
        prefix_ = suite_id_from_name(
            options.id.empty() ? std::filesystem::path(file_).stem().string() : options.id);
        result_.suite.id = prefix_;
        result_.suite.path = file_;
        result_.suite.content_hash = openssl::sha256_hex(text);
        std::istringstream in{std::string(text)};
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            lines_.push_back(line);
        }
    }

    ScriptorImport run() {
        for (std::size_t n = 0; n < lines_.size(); ++n)
            if (!line(n + 1, lines_[n]))
                break;
        if (!pieces_.empty())
            error(pieces_.back().line, pieces_.back().column + pieces_.back().text.size(),
                  "expected another command line after the '\\' continuation, found the end of "
                  "the script");
        return std::move(result_);
    }

private:
    void error(std::size_t line, std::size_t column, std::string message) {
        result_.errors.push_back({{file_, line, column}, std::move(message)});
    }

    // Returns false at `exit`.
    bool line(std::size_t line_no, const std::string& raw) {
        std::size_t skipped = 0;
        std::string_view text = trim(raw, &skipped);
        if (response_open_) {
            if (continue_response(line_no, text, skipped + 1))
                return true;
        }
        // scriptor skips blank and comment lines before it looks at continuations
        if (text.empty()) {
            if (pieces_.empty())
                comment_.clear();
            return true;
        }
        if (text.front() == '#') {
            const auto body = trim(text.substr(1));
            if (!body.empty() && pieces_.empty())
                comment_ = std::string(body);
            return true;
        }
        if (pieces_.empty()) {
            // scriptor stops at `exit` (it matches the word anywhere; we only take a line of it)
            if (lower(text) == "exit")
                return false;
            if (text.front() == '<') {
                response(line_no, text.substr(1), skipped + 2);
                return true;
            }
        }
        std::size_t column = skipped + 1;
        if (!text.empty() && text.front() == '>') {
            std::size_t more = 0;
            text = trim(text.substr(1), &more);
            column += 1 + more;
            logged_ = true; // a saved scriptor session: responses may wrap
        }
        if (pieces_.empty() && lower(text) == "reset") {
            add_reset(line_no);
            return true;
        }
        if (!text.empty() && text.back() == '\\') {
            pieces_.push_back({line_no, column, std::string(text.substr(0, text.size() - 1))});
            return true;
        }
        pieces_.push_back({line_no, column, std::string(text)});
        command();
        return true;
    }

    void command() {
        Bytes bytes;
        std::vector<std::pair<std::size_t, std::size_t>> where; // per byte: line, column
        bool ok = true;
        for (const auto& piece : pieces_) {
            hex::ParseError parse_error;
            auto part = hex::parse(piece.text, &parse_error);
            if (!part) {
                error(piece.line, piece.column + parse_error.column - 1,
                      parse_error.message.rfind("expected", 0) == 0
                          ? parse_error.message
                          : "expected hex bytes: " + parse_error.message);
                ok = false;
                continue;
            }
            // byte columns, for the PIN check below
            std::size_t k = 0;
            for (std::size_t b = 0; b < part->size(); ++b) {
                while (k < piece.text.size() &&
                       !std::isxdigit(static_cast<unsigned char>(piece.text[k])))
                    ++k;
                where.emplace_back(piece.line, piece.column + k);
                k += 2;
            }
            bytes.insert(bytes.end(), part->begin(), part->end());
        }
        const auto first = pieces_.front();
        pieces_.clear();
        if (!ok)
            return;
        if (bytes.empty()) {
            error(first.line, first.column, "expected a command APDU (hex bytes)");
            return;
        }
        if (classify_pin_command(bytes).sensitive()) {
            error(where[1].first, where[1].second,
                  "expected no PIN data in a VERIFY or any command that can carry a PIN (CHANGE "
                  "REFERENCE DATA, RESET RETRY COUNTER, ENVELOPE: a suite never holds PIN "
                  "values, use a verify_pin step with a PIN name)");
            return;
        }
        model::SuiteStep step = base_step(first.line);
        step.action = "apdu";
        step.args = hex::format(bytes);
        step.expect_sw = "any";
        const std::string head =
            hex::format(ByteView(bytes).first(std::min<std::size_t>(4, bytes.size())));
        step.title_en =
            comment_.empty() ? fmt::format("scriptor line {}: {}", first.line, head) : comment_;
        step.title_ja = comment_.empty()
                            ? fmt::format("scriptor {}行目のコマンド {}", first.line, head)
                            : fmt::format("scriptor {}行目のコマンド（{}）", first.line, comment_);
        comment_.clear();
        result_.suite.steps.push_back(std::move(step));
        last_is_apdu_ = true;
    }

    void add_reset(std::size_t line_no) {
        model::SuiteStep step = base_step(line_no);
        step.action = "reset";
        step.args = "kind=warm";
        step.title_en =
            comment_.empty() ? fmt::format("scriptor line {}: warm reset", line_no) : comment_;
        step.title_ja = fmt::format("scriptor {}行目のウォームリセット", line_no);
        comment_.clear();
        result_.suite.steps.push_back(std::move(step));
        last_is_apdu_ = false;
    }

    model::SuiteStep base_step(std::size_t line_no) {
        model::SuiteStep step;
        step.id = fmt::format("{}.{:03}", prefix_, ++count_);
        step.group = prefix_;
        step.on_fail = model::OnFail::Continue;
        step.location = {file_, line_no, 1};
        return step;
    }

    // A response line: "< 6F 10 … 90 00 : Normal processing." (scriptor wraps 16 bytes a line).
    void response(std::size_t line_no, std::string_view text, std::size_t column) {
        std::size_t more = 0;
        text = trim(text, &more);
        column += more;
        const std::string low = lower(text);
        if (low.rfind("ok", 0) == 0 || low.rfind("ko", 0) == 0) {
            if (last_is_apdu_ || result_.suite.steps.empty())
                error(line_no, column, "expected a response of hex bytes after a command");
            return; // the answer to a reset (ATR or error): kept out, it depends on the reader
        }
        if (!last_is_apdu_ || result_.suite.steps.empty()) {
            error(line_no, column - 1 - more, "expected a command before the response line");
            return;
        }
        response_bytes_.clear();
        response_line_ = line_no;
        if (!append_response(line_no, text, column))
            return;
        const bool closed = text.find(':') != std::string_view::npos;
        if (!closed && logged_ && response_bytes_.size() == 16) {
            response_open_ = true;
            return;
        }
        finish_response(line_no, column);
    }

    // Hex bytes up to an optional " : text"; false on a parse error (reported).
    bool append_response(std::size_t line_no, std::string_view text, std::size_t column) {
        const auto colon = text.find(':');
        const std::string_view hex_part = text.substr(0, colon);
        hex::ParseError parse_error;
        auto bytes = hex::parse(hex_part, &parse_error);
        if (!bytes) {
            error(line_no, column + parse_error.column - 1, parse_error.message);
            response_open_ = false;
            return false;
        }
        response_bytes_.insert(response_bytes_.end(), bytes->begin(), bytes->end());
        return true;
    }

    // Consumes a wrapped response line; false when the line is not part of the response.
    bool continue_response(std::size_t line_no, std::string_view text, std::size_t column) {
        const auto colon = text.find(':');
        hex::ParseError ignored;
        if (text.empty() || !hex::parse(text.substr(0, colon), &ignored)) {
            response_open_ = false;
            finish_response(response_line_, 1);
            return false;
        }
        append_response(line_no, text, column);
        const auto count_on_line = hex::parse(text.substr(0, colon))->size();
        if (colon != std::string_view::npos || count_on_line != 16) {
            response_open_ = false;
            finish_response(line_no, column);
        }
        return true;
    }

    void finish_response(std::size_t line_no, std::size_t column) {
        if (response_bytes_.size() < 2) {
            error(line_no, column, "expected at least the two status bytes SW1 SW2");
            return;
        }
        auto& step = result_.suite.steps.back();
        const std::size_t n = response_bytes_.size();
        step.expect_sw = hex::format(ByteView(response_bytes_).subspan(n - 2), hex::Style::Packed);
        if (n > 2)
            step.expect_data = hex::format(ByteView(response_bytes_).first(n - 2));
        last_is_apdu_ = false; // one expectation per command
    }

    std::string file_;
    std::string prefix_;
    std::vector<std::string> lines_;
    std::vector<Piece> pieces_;
    std::string comment_;
    std::size_t count_ = 0;
    bool last_is_apdu_ = false;
    bool response_open_ = false;
    bool logged_ = false;
    std::size_t response_line_ = 0;
    Bytes response_bytes_;
    ScriptorImport result_;
};

} // namespace

std::string suite_id_from_name(std::string_view name) {
    std::string out;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) && u < 0x80)
            out.push_back(static_cast<char>(std::tolower(u)));
        else if (c == '-' || c == '_')
            out.push_back(c);
        else if (!out.empty() && out.back() != '_')
            out.push_back('_');
    }
    while (!out.empty() && out.back() == '_')
        out.pop_back();
    return out.empty() ? "scriptor" : out;
}

ScriptorImport import_scriptor_text(std::string_view text, const std::string& file_name,
                                    const ScriptorOptions& options) {
    return Importer(text, file_name, options).run();
}

model::Suite import_scriptor_file(const std::filesystem::path& file,
                                  const ScriptorOptions& options) {
    auto result =
        import_scriptor_text(io::read_text_file(file, "scriptor script"), file.string(), options);
    if (!result.errors.empty()) {
        std::string message;
        for (const auto& e : result.errors)
            message += (message.empty() ? "" : "\n") + e.to_string();
        throw ConfigError(message);
    }
    return std::move(result.suite);
}

} // namespace harness::suite
