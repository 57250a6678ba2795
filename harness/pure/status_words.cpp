#include "pure/status_words.hpp"

#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <array>
#include <bit>
#include <fmt/format.h>

namespace harness::sw {
namespace {

using C = Category;
using P = Param;

// ISO 7816-4 §5.1.3 tables 5 and 6; exact entries first, then SW1 families, then the catch-all.
// describe() picks the most specific match, so order only breaks ties.
constexpr std::array entries{
    Entry{0x9000, 0xFFFF, C::Ok, P::None, "Normal processing", "正常終了"},
    Entry{0x6100, 0xFF00, C::Ok, P::Byte,
          "{n} response bytes still available (fetch them with GET RESPONSE)",
          "応答データが残り{n}バイトある（GET RESPONSEで取得する）"},

    Entry{0x6200, 0xFFFF, C::Warning, P::None,
          "Warning: no information given (non-volatile memory unchanged)",
          "警告：情報なし（不揮発メモリは変化なし）"},
    Entry{0x6281, 0xFFFF, C::Warning, P::None, "Part of returned data may be corrupted",
          "返されたデータの一部が破損している可能性がある"},
    Entry{0x6282, 0xFFFF, C::Warning, P::None,
          "End of file or record reached before reading Ne bytes",
          "Neバイトを読む前にファイルまたはレコードの終端に達した"},
    Entry{0x6283, 0xFFFF, C::Warning, P::None, "Selected file deactivated",
          "選択したファイルは無効化されている"},
    Entry{0x6284, 0xFFFF, C::Warning, P::None,
          "File control information not formatted according to ISO 7816-4",
          "ファイル制御情報がISO 7816-4の形式でない"},
    Entry{0x6285, 0xFFFF, C::Warning, P::None, "Selected file in termination state",
          "選択したファイルは終了状態にある"},
    Entry{0x6286, 0xFFFF, C::Warning, P::None, "No input data available from a sensor on the card",
          "カード上のセンサーから入力データがない"},
    Entry{0x6200, 0xFF00, C::Warning, P::None, "Warning: non-volatile memory unchanged",
          "警告：不揮発メモリは変化なし"},

    Entry{0x6300, 0xFFFF, C::Warning, P::None,
          "Warning: no information given (non-volatile memory changed; often verification "
          "failed)",
          "警告：情報なし（不揮発メモリは変化あり。多くは照合失敗）"},
    Entry{0x6381, 0xFFFF, C::Warning, P::None, "File filled up by the last write",
          "最後の書き込みでファイルが一杯になった"},
    // JPKI: answered to VERIFY without data too (retry counter read, domain.md §4).
    Entry{0x63C0, 0xFFF0, C::Security, P::LowNibble,
          "Verification failed or counter read: {n} tries left",
          "照合不一致または残り回数の照会：残り{n}回"},
    Entry{0x63C0, 0xFFFF, C::Security, P::LowNibble,
          "Verification failed: {n} tries left (the PIN is now blocked)",
          "照合不一致：残り{n}回（PINはロックされた）"},
    Entry{0x6300, 0xFF00, C::Warning, P::None, "Warning: non-volatile memory changed",
          "警告：不揮発メモリが変化した"},

    Entry{0x6400, 0xFFFF, C::ExecutionError, P::None,
          "Execution error: no information given (non-volatile memory unchanged)",
          "実行エラー：情報なし（不揮発メモリは変化なし）"},
    Entry{0x6401, 0xFFFF, C::ExecutionError, P::None, "Immediate response required by the card",
          "カードが即時応答を要求している"},
    Entry{0x6400, 0xFF00, C::ExecutionError, P::None,
          "Execution error: non-volatile memory unchanged", "実行エラー：不揮発メモリは変化なし"},
    Entry{0x6500, 0xFFFF, C::ExecutionError, P::None,
          "Execution error: no information given (non-volatile memory changed)",
          "実行エラー：情報なし（不揮発メモリは変化あり）"},
    Entry{0x6581, 0xFFFF, C::ExecutionError, P::None, "Memory failure", "メモリ障害"},
    Entry{0x6500, 0xFF00, C::ExecutionError, P::None,
          "Execution error: non-volatile memory changed", "実行エラー：不揮発メモリが変化した"},
    Entry{0x6600, 0xFF00, C::ExecutionError, P::None, "Security-related issue",
          "セキュリティ関連の問題"},

    Entry{0x6700, 0xFFFF, C::CheckingError, P::None, "Wrong length (Lc or Le)",
          "長さが誤っている（LcまたはLe）"},
    Entry{0x6700, 0xFF00, C::CheckingError, P::None, "Wrong length (SW2 proprietary)",
          "長さが誤っている（SW2は独自）"},
    Entry{0x6800, 0xFFFF, C::CheckingError, P::None, "Functions in CLA not supported",
          "CLAの機能はサポートされていない"},
    Entry{0x6881, 0xFFFF, C::CheckingError, P::None, "Logical channel not supported",
          "論理チャネルはサポートされていない"},
    Entry{0x6882, 0xFFFF, C::CheckingError, P::None, "Secure messaging not supported",
          "セキュアメッセージングはサポートされていない"},
    Entry{0x6883, 0xFFFF, C::CheckingError, P::None, "Last command of the chain expected",
          "チェーンの最後のコマンドが期待されていた"},
    Entry{0x6884, 0xFFFF, C::CheckingError, P::None, "Command chaining not supported",
          "コマンドチェーンはサポートされていない"},
    Entry{0x6800, 0xFF00, C::CheckingError, P::None, "Functions in CLA not supported",
          "CLAの機能はサポートされていない"},
    Entry{0x6900, 0xFFFF, C::CheckingError, P::None, "Command not allowed",
          "コマンドは許可されていない"},
    Entry{0x6981, 0xFFFF, C::CheckingError, P::None, "Command incompatible with file structure",
          "ファイル構造と両立しないコマンド"},
    Entry{0x6982, 0xFFFF, C::Security, P::None,
          "Security status not satisfied (e.g. PIN not verified)",
          "セキュリティステータスが満たされていない（PIN未照合など）"},
    Entry{0x6983, 0xFFFF, C::Security, P::None, "Authentication method blocked",
          "認証方法がブロックされている"},
    Entry{0x6984, 0xFFFF, C::Security, P::None, "Reference data not usable (JPKI: PIN blocked)",
          "参照データが使用できない（JPKI：PINロック）"},
    Entry{0x6985, 0xFFFF, C::CheckingError, P::None, "Conditions of use not satisfied",
          "使用条件が満たされていない"},
    Entry{0x6986, 0xFFFF, C::CheckingError, P::None, "Command not allowed (no current EF)",
          "コマンドは許可されていない（カレントEFなし）"},
    Entry{0x6987, 0xFFFF, C::CheckingError, P::None,
          "Expected secure messaging data objects missing",
          "セキュアメッセージングのデータオブジェクトがない"},
    Entry{0x6988, 0xFFFF, C::CheckingError, P::None, "Incorrect secure messaging data objects",
          "セキュアメッセージングのデータオブジェクトが誤っている"},
    Entry{0x6900, 0xFF00, C::CheckingError, P::None, "Command not allowed",
          "コマンドは許可されていない"},
    Entry{0x6A00, 0xFFFF, C::CheckingError, P::None, "Wrong parameters P1-P2", "P1-P2が誤っている"},
    Entry{0x6A80, 0xFFFF, C::CheckingError, P::None,
          "Incorrect parameters in the command data field",
          "コマンドデータフィールドのパラメーターが誤っている"},
    Entry{0x6A81, 0xFFFF, C::CheckingError, P::None, "Function not supported",
          "機能はサポートされていない"},
    Entry{0x6A82, 0xFFFF, C::CheckingError, P::None, "File or application not found",
          "ファイルまたはアプリケーションが見つからない"},
    Entry{0x6A83, 0xFFFF, C::CheckingError, P::None, "Record not found", "レコードが見つからない"},
    Entry{0x6A84, 0xFFFF, C::CheckingError, P::None, "Not enough memory space in the file",
          "ファイルのメモリ容量が足りない"},
    Entry{0x6A85, 0xFFFF, C::CheckingError, P::None, "Nc inconsistent with TLV structure",
          "NcがTLV構造と矛盾する"},
    Entry{0x6A86, 0xFFFF, C::CheckingError, P::None, "Incorrect parameters P1-P2",
          "P1-P2のパラメーターが誤っている"},
    Entry{0x6A87, 0xFFFF, C::CheckingError, P::None, "Nc inconsistent with parameters P1-P2",
          "NcがP1-P2と矛盾する"},
    Entry{0x6A88, 0xFFFF, C::CheckingError, P::None, "Referenced data or reference data not found",
          "参照データが見つからない"},
    Entry{0x6A89, 0xFFFF, C::CheckingError, P::None, "File already exists",
          "ファイルは既に存在する"},
    Entry{0x6A8A, 0xFFFF, C::CheckingError, P::None, "DF name already exists",
          "DF名は既に存在する"},
    Entry{0x6A00, 0xFF00, C::CheckingError, P::None, "Wrong parameters P1-P2", "P1-P2が誤っている"},
    Entry{0x6B00, 0xFFFF, C::CheckingError, P::None,
          "Wrong parameters P1-P2 (e.g. offset outside the EF)",
          "P1-P2が誤っている（EFの範囲外のオフセットなど）"},
    Entry{0x6B00, 0xFF00, C::CheckingError, P::None, "Wrong parameters P1-P2", "P1-P2が誤っている"},
    Entry{0x6C00, 0xFF00, C::CheckingError, P::Byte,
          "Wrong Le field: exactly {n} bytes available (resend with Le={n})",
          "Leが誤っている：ちょうど{n}バイトある（Le={n}で再送する）"},
    Entry{0x6D00, 0xFFFF, C::CheckingError, P::None, "Instruction code not supported or invalid",
          "命令コード（INS）はサポートされていないか無効"},
    Entry{0x6D00, 0xFF00, C::CheckingError, P::None, "Instruction code not supported or invalid",
          "命令コード（INS）はサポートされていないか無効"},
    Entry{0x6E00, 0xFFFF, C::CheckingError, P::None, "Class not supported",
          "クラス（CLA）はサポートされていない"},
    Entry{0x6E00, 0xFF00, C::CheckingError, P::None, "Class not supported",
          "クラス（CLA）はサポートされていない"},
    Entry{0x6F00, 0xFFFF, C::CheckingError, P::None, "No precise diagnosis", "詳細な診断なし"},
    Entry{0x6F00, 0xFF00, C::CheckingError, P::None,
          "Checking error: no precise diagnosis (SW2 proprietary)",
          "チェックエラー：詳細な診断なし（SW2は独自）"},
    Entry{0x9000, 0xF000, C::Proprietary, P::None, "Proprietary status (application-specific)",
          "独自のステータス（アプリケーション固有）"},
    Entry{0x0000, 0x0000, C::Unknown, P::None,
          "Invalid or unknown status word (SW1 must be 6X other than 60, or 9X)",
          "無効または不明なステータスワード（SW1は60以外の6Xまたは9Xであるべき）"},
};

std::string fill(std::string_view text, const std::optional<unsigned>& param) {
    std::string out;
    out.reserve(text.size() + 4);
    const std::string value = param ? std::to_string(*param) : std::string("?");
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 3, "{n}") == 0) {
            out += value;
            i += 3;
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

int nibble_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

} // namespace

const char* to_string(Category category) {
    switch (category) {
    case Category::Ok:
        return "ok";
    case Category::Warning:
        return "warning";
    case Category::ExecutionError:
        return "execution_error";
    case Category::CheckingError:
        return "checking_error";
    case Category::Security:
        return "security";
    case Category::Proprietary:
        return "proprietary";
    case Category::Unknown:
        return "unknown";
    }
    return "unknown";
}

std::span<const Entry> table() {
    return entries;
}

Description describe(std::uint16_t sw) {
    const Entry* best = nullptr;
    int best_bits = -1;
    for (const Entry& entry : entries) {
        if ((sw & entry.mask) != entry.value)
            continue;
        const int bits = std::popcount(entry.mask);
        if (bits > best_bits) {
            best = &entry;
            best_bits = bits;
        }
    }
    Description out;
    out.sw = sw;
    if (!best)
        return out; // unreachable: the catch-all matches everything
    out.value = best->value;
    out.mask = best->mask;
    out.category = best->category;
    const auto sw2 = static_cast<unsigned>(sw & 0xFF);
    switch (best->param) {
    case Param::None:
        break;
    case Param::Byte:
        out.param = sw2 == 0 ? 256U : sw2;
        break;
    case Param::LowNibble:
        out.param = sw2 & 0x0FU;
        break;
    }
    out.text = fill(best->text, out.param);
    out.text_ja = fill(best->text_ja, out.param);
    out.known = best->mask != 0;
    return out;
}

Category iso_category(std::uint16_t sw) {
    const unsigned sw1 = static_cast<unsigned>(sw >> 8);
    if (sw == 0x9000 || sw1 == 0x61)
        return Category::Ok;
    if (sw1 == 0x62 || sw1 == 0x63)
        return Category::Warning;
    if (sw1 >= 0x64 && sw1 <= 0x66)
        return Category::ExecutionError;
    if (sw1 >= 0x67 && sw1 <= 0x6F)
        return Category::CheckingError;
    if ((sw1 & 0xF0) == 0x90)
        return Category::Proprietary;
    return Category::Unknown;
}

std::string format(std::uint16_t sw) {
    const std::uint8_t bytes[] = {static_cast<std::uint8_t>(sw >> 8),
                                  static_cast<std::uint8_t>(sw & 0xFF)};
    return hex::format(bytes, hex::Style::Packed);
}

std::optional<Pattern> Pattern::parse(std::string_view text, PatternError* error) {
    auto fail = [&](std::size_t index, std::string message) -> std::optional<Pattern> {
        if (error)
            *error = PatternError{index + 1, std::move(message)};
        return std::nullopt;
    };
    Pattern pattern;
    std::size_t start = 0;
    while (true) {
        const std::size_t bar = text.find('|', start);
        const std::size_t end = bar == std::string_view::npos ? text.size() : bar;
        std::size_t first = start;
        while (first < end && is_space(text[first]))
            ++first;
        std::size_t last = end;
        while (last > first && is_space(text[last - 1]))
            --last;
        const std::string_view word = text.substr(first, last - first);
        if (word.empty())
            return fail(first, "expected a status word pattern such as 9000, 63Cx or any");
        if (word == "any" || word == "ANY" || word == "Any" || word == "*") {
            pattern.any_ = true;
        } else {
            Alternative alt{0, 0};
            int nibbles = 0;
            for (std::size_t i = first; i < last; ++i) {
                const char c = text[i];
                if (is_space(c))
                    continue;
                int value = -1;
                bool wildcard = c == 'x' || c == 'X';
                if (!wildcard) {
                    value = nibble_value(c);
                    if (value < 0)
                        return fail(i, std::string("expected a hex digit or x, found '") + c + "'");
                }
                if (nibbles == 4)
                    return fail(i, "expected 4 nibbles (e.g. 9000, 63Cx), found more");
                const int shift = 12 - 4 * nibbles;
                if (!wildcard) {
                    alt.value = static_cast<std::uint16_t>(alt.value | (value << shift));
                    alt.mask = static_cast<std::uint16_t>(alt.mask | (0xF << shift));
                }
                ++nibbles;
            }
            if (nibbles < 4)
                return fail(last,
                            fmt::format("expected 4 nibbles (e.g. 9000, 63Cx), found {}", nibbles));
            pattern.alternatives_.push_back(alt);
        }
        if (bar == std::string_view::npos)
            break;
        start = bar + 1;
    }
    if (pattern.any_)
        pattern.alternatives_.clear();
    return pattern;
}

Pattern Pattern::parse_or_throw(std::string_view text) {
    PatternError error;
    auto pattern = parse(text, &error);
    if (!pattern)
        throw UsageError(fmt::format("status word pattern \"{}\" column {}: {}", text, error.column,
                                     error.message));
    return std::move(*pattern);
}

Pattern Pattern::any() {
    Pattern pattern;
    pattern.any_ = true;
    return pattern;
}

Pattern Pattern::exact(std::uint16_t sw) {
    Pattern pattern;
    pattern.alternatives_.push_back(Alternative{sw, 0xFFFF});
    return pattern;
}

bool Pattern::matches(std::uint16_t sw) const {
    if (any_)
        return true;
    for (const Alternative& alt : alternatives_)
        if ((sw & alt.mask) == alt.value)
            return true;
    return false;
}

std::string Pattern::to_string() const {
    if (any_)
        return "any";
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const Alternative& alt : alternatives_) {
        if (!out.empty())
            out.push_back('|');
        for (int shift = 12; shift >= 0; shift -= 4) {
            if (((alt.mask >> shift) & 0xF) == 0)
                out.push_back('x');
            else
                out.push_back(digits[(alt.value >> shift) & 0xF]);
        }
    }
    return out;
}

} // namespace harness::sw
