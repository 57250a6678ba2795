// Every text a report reader sees, in Japanese and English: one table.
#include "services/report/report.hpp"

#include <array>

namespace harness::report {
namespace {

struct Text {
    const char* key;
    const char* ja;
    const char* en;
};

constexpr std::array texts{
    Text{"title", "ICカードリーダー対応状況（マイナンバーカード・住基カード）",
         "Card reader compatibility (My Number and Juki cards)"},
    Text{"title.technical", "ICカードリーダー適合性試験 技術報告",
         "Card reader conformance: technical report"},
    // The certificate-style page (certificate.cpp).
    Text{"cert.title", "ICカードリーダー適合性試験 成績証明書",
         "Card reader conformance certificate"},
    Text{"cert.subtitle", "マイナンバーカード・住基カードによる cardharness 試験結果",
         "Results of the cardharness tests with My Number and Juki cards"},
    Text{"cert.simulated",
         "この結果は仮想ラボの模擬リーダー（エミュレーション）によるものです。実機のリーダーの試験"
         "結果ではありません。",
         "These results come from a simulated reader of the virtual lab (emulation), not from a "
         "test of the physical reader."},
    Text{"cert.reader", "1. 対象リーダー", "1. Reader"},
    Text{"cert.firmware", "ファームウェア（bcdDevice）", "Firmware (bcdDevice)"},
    Text{"cert.kind", "試験対象", "Tested device"},
    Text{"cert.kind.simulated", "模擬リーダー（仮想ラボ）", "simulated reader (virtual lab)"},
    Text{"cert.kind.hardware", "実機", "physical reader"},
    Text{"cert.results", "2. カード・方式ごとの判定", "2. Verdicts per card and interface"},
    Text{"cert.steps", "試験手順", "Test steps"},
    Text{"cert.suites", "3. 試験スイート（版と内容ハッシュ）",
         "3. Test suites (versions and content hashes)"},
    Text{"cert.suite", "スイート", "Suite"},
    Text{"cert.hash", "内容ハッシュ（SHA-256）", "Content hash (SHA-256)"},
    Text{"cert.environment", "4. 試験日・試験環境", "4. Date and environment"},
    Text{"cert.tested", "試験日", "Tested on"},
    Text{"cert.station", "試験ステーション", "Test station"},
    Text{"cert.harness_tested", "試験に使った cardharness", "cardharness used for the tests"},
    Text{"cert.runs", "試験実行 ID", "Run IDs"},
    Text{"cert.note.verdicts",
         "◯ 対応：すべての試験手順に合格。△ 一部：一部の機能に問題あり。✕ 非対応：必要な手順が"
         "不合格。— 未試験：この組み合わせは試験していません。",
         "◯ compatible: every test step passed. △ partial: some functions have problems. ✕ "
         "incompatible: required steps failed. — untested: this combination was not tested."},
    Text{"cert.note.scope",
         "この証明書は上記のリーダー（VID:PID とファームウェア）と上記のスイートの版についてのみ"
         "有効です。",
         "This certificate applies only to the reader above (VID:PID and firmware) and to the "
         "suite versions above."},
    Text{"cert.issued", "発行日", "Issued on"},
    Text{"cert.issued_by", "発行", "Issued by"},
    Text{"col.maker", "メーカー", "Maker"},
    Text{"col.model", "機種", "Model"},
    Text{"col.vid_pid", "VID:PID", "VID:PID"},
    Text{"col.firmware", "ファームウェア", "Firmware"},
    Text{"col.driver", "ドライバ", "Driver"},
    Text{"col.interfaces", "試験した方式", "Interfaces tested"},
    Text{"col.date", "試験日", "Tested"},
    Text{"col.card", "カード", "Card"},
    Text{"col.interface", "方式", "Interface"},
    Text{"col.verdict", "判定", "Verdict"},
    Text{"col.mark", "記号", "Mark"},
    Text{"col.reason", "理由", "Reason"},
    Text{"col.suites", "スイート版", "Suite versions"},
    Text{"col.run", "試験実行", "Run"},
    Text{"col.station", "ステーション", "Station"},
    Text{"card.mynumber", "マイナンバーカード", "My Number card"},
    Text{"card.juki", "住基カード", "Juki card"},
    Text{"iface.contact", "接触", "contact"},
    Text{"iface.contactless", "非接触", "contactless"},
    Text{"verdict.compatible", "対応", "compatible"},
    Text{"verdict.partial", "一部", "partial"},
    Text{"verdict.incompatible", "非対応", "incompatible"},
    Text{"verdict.untested", "未試験", "untested"},
    Text{"reason.compatible", "すべての試験項目に合格しました", "All test steps passed"},
    Text{"reason.partial", "一部の試験項目が不合格でした", "Some test steps failed"},
    Text{"reason.incompatible", "必要な試験項目が不合格でした", "Required test steps failed"},
    Text{"reason.untested", "この組み合わせは試験していません", "This combination was not tested"},
    Text{"story.both", "マイナンバーカード・住基カードとも使える", "works with both cards"},
    Text{"story.juki_only", "住基カードは使えるがマイナンバーカードは使えない",
         "works with Juki, not with My Number"},
    Text{"story.mynumber_only", "マイナンバーカードは使えるが住基カードは使えない",
         "works with My Number, not with Juki"},
    Text{"story.neither", "どちらのカードも使えない", "works with neither card"},
    Text{"story.partial", "一部の機能のみ使える（別集計）", "works only in part (counted apart)"},
    Text{"story.untested", "未試験", "not tested"},
    Text{"col.story", "カード別の可否", "Which card works"},
    Text{"summary",
         "試験したリーダー {} 台：両方のカードで使える {} 台、住基カードのみ {} 台、"
         "マイナンバーカードのみ {} 台、どちらも使えない {} 台。一部の機能のみ使える {} 台は"
         "別に数えています。",
         "{} readers tested: {} work with both cards, {} only with the Juki card, {} only with "
         "the My Number card, {} with neither; {} work only in part (counted apart)."},
    Text{"summary.simulated",
         "（うち {} 台は仮想ラボのシミュレーションで、実在の製品ではありません）",
         " ({} of them simulated by the virtual lab, not products)"},
    Text{"simulated", "シミュレーション（仮想ラボのモデル、実在の製品ではない）",
         "simulated (a virtual lab model, not a product)"},
    Text{"simulated.cause", "シミュレーションした不具合", "simulated fault"},
    Text{"failing_steps", "不合格の手順", "failing steps"},
    Text{"note.heading", "この一覧について", "About this list"},
    Text{"note.how",
         "この一覧は、各カードリーダーにマイナンバーカードまたは住基カードを挿し（かざし）、"
         "カードの認識、証明書の読み出し、電子署名などの手順を cardharness で自動的に試験した結果"
         "です。◯ はすべての手順に合格、△ は一部の機能に問題あり、✕ は利用できない、— "
         "は未試験を表します。",
         "This list was made by placing a My Number or Juki card in (or on) each card reader and "
         "letting cardharness run the steps clients use: recognising the card, reading the "
         "certificates and making a digital signature. ◯ means every step passed, △ that some "
         "functions have problems, ✕ that the reader cannot be used, — that it was not tested."},
    Text{"note.lab",
         "試験には実際のカードの代わりに、仕様どおりに動作する試験用（エミュレーション）カードを"
         "使用しました。個人情報は記録していません。",
         "Emulated test cards that behave as the specifications say were used instead of real "
         "cards. No personal data was recorded."},
    Text{"note.real", "個人情報（暗証番号、個人番号、氏名など）は記録していません。",
         "No personal data (PINs, the My Number, names, …) was recorded."},
    Text{"legend", "凡例", "Legend"},
    Text{"filter", "絞り込み（メーカー・機種・理由）", "Filter (maker, model, reason)"},
    Text{"sort.hint", "列見出しをクリックすると並べ替えます。", "Click a column heading to sort."},
    Text{"no_readers", "試験結果がありません。", "No test results."},
    Text{"runs", "対象の試験実行", "Runs included"},
    Text{"technical", "リーダー別の技術情報", "Per-reader technical details"},
    Text{"identity", "識別情報", "Identity"},
    Text{"pcsc_name", "PC/SC 名", "PC/SC name"},
    Text{"lab_model", "ラボのリーダーモデル", "Lab reader model"},
    Text{"descriptor", "CCID 記述子", "CCID descriptor"},
    Text{"descriptor.none", "CCID 記述子は不明です。", "The CCID descriptor is unknown."},
    Text{"findings", "所見", "Findings"},
    Text{"findings.none", "所見はありません。", "No findings."},
    Text{"prediction", "予測と観測", "Predicted and observed"},
    Text{"predicted", "記述子からの予測", "Predicted from the descriptor"},
    Text{"observed", "観測結果", "Observed"},
    Text{"exchange_level", "交換レベル", "Exchange level"},
    Text{"max_message", "最大メッセージ長", "Maximum message length"},
    Text{"steps", "試験手順", "Test steps"},
    Text{"step.id", "ID", "ID"},
    Text{"step.title", "手順", "Step"},
    Text{"step.verdict", "結果", "Result"},
    Text{"step.reason", "理由", "Reason"},
    Text{"step.sw", "SW", "SW"},
    Text{"step.time", "時間 (ms)", "Time (ms)"},
    Text{"step.pass", "合格", "pass"},
    Text{"step.fail", "不合格", "fail"},
    Text{"step.skip", "省略", "skip"},
    Text{"step.error", "エラー", "error"},
    Text{"step.aborted", "中断", "aborted"},
    Text{"trace", "失敗した手順の APDU 記録（秘匿化済み）",
         "APDU traces of failing steps (redacted)"},
    Text{"trace.ccid",
         "リーダー側の CCID メッセージ（エミュレートしたファームウェアが受信・送信、秘匿化済み）",
         "the reader's side: CCID messages its emulated firmware saw and sent (redacted)"},
    Text{"trace.command", "コマンド", "Command"},
    Text{"trace.response", "応答", "Response"},
    Text{"environment", "試験環境", "Environment"},
    Text{"env.os", "OS", "OS"},
    Text{"env.pcsclite", "pcsc-lite", "pcsc-lite"},
    Text{"env.libccid", "libccid", "libccid"},
    Text{"env.harness", "cardharness", "cardharness"},
    Text{"suite_hashes", "スイートの内容ハッシュ", "Suite content hashes"},
    Text{"session.incomplete", "試験は中断しました", "The session ended early"},
    Text{"causes", "原因コード", "Cause codes"},
    Text{"chart.steps", "リーダー別の手順の合否", "Test steps per reader: passed and failed"},
    Text{"chart.latency", "リーダー別の署名の所要時間 (ms)", "Signing latency per reader (ms)"},
    Text{"chart.none", "署名の測定値はありません。", "No signing measurements."},
    Text{"chart.overlap", "実行ごとのセッションの時間帯 (実行開始からの秒)",
         "Sessions over time per run (seconds from the run's start)"},
    Text{"chart.overlap.peak", "同時に進んだセッションは最大", "Sessions at once, at most:"},
    Text{"chart.overlap.note",
         "この報告に載るセッションのみ。開始時刻のない (古い) セッションは含みません。",
         "Only the sessions this report shows; sessions stored without step start times (older "
         "runs) are left out."},
    Text{"unknown", "不明", "unknown"},
    Text{"emulated", "エミュレーションカード", "emulated card"},
    Text{"test_card", "試験用カード", "test card"},
    Text{"card.other", "その他のカード", "Other card"},
    Text{"yes", "はい", "yes"},
    Text{"no", "いいえ", "no"},
    Text{"lang.switch", "English", "日本語"},
};

} // namespace

const char* text(Lang lang, std::string_view key) {
    for (const auto& t : texts)
        if (key == t.key)
            return lang == Lang::Ja ? t.ja : t.en;
    return "?";
}

const char* mark(model::Compatibility verdict) {
    switch (verdict) {
    case model::Compatibility::Compatible:
        return "◯";
    case model::Compatibility::Partial:
        return "△";
    case model::Compatibility::Incompatible:
        return "✕";
    case model::Compatibility::Untested:
        break;
    }
    return "—";
}

const char* label(Lang lang, model::Compatibility verdict) {
    return text(lang, std::string("verdict.") + model::to_string(verdict));
}

std::string reason(Lang lang, const Cell& cell) {
    const std::string& given = lang == Lang::Ja ? cell.reason_ja : cell.reason_en;
    if (!given.empty())
        return given;
    const std::string& other = lang == Lang::Ja ? cell.reason_en : cell.reason_ja;
    if (!other.empty())
        return other;
    return text(lang, std::string("reason.") + model::to_string(cell.verdict));
}

std::string card_label(Lang lang, std::string_view card_type, std::string_view interface) {
    const std::string card_key = std::string("card.") + std::string(card_type);
    std::string card = text(lang, card_key);
    if (card == "?")
        card = std::string(card_type);
    std::string iface = text(lang, std::string("iface.") + std::string(interface));
    if (iface == "?")
        iface = std::string(interface);
    return card + (lang == Lang::Ja ? "（" + iface + "）" : " (" + iface + ")");
}

std::optional<Lang> lang_from(std::string_view text_) {
    if (text_ == "ja")
        return Lang::Ja;
    if (text_ == "en")
        return Lang::En;
    return std::nullopt;
}
std::optional<View> view_from(std::string_view text_) {
    if (text_ == "public")
        return View::Public;
    if (text_ == "technical")
        return View::Technical;
    return std::nullopt;
}
const char* to_string(Lang lang) {
    return lang == Lang::Ja ? "ja" : "en";
}
const char* to_string(View view) {
    return view == View::Public ? "public" : "technical";
}
const char* to_string(Selection selection) {
    switch (selection) {
    case Selection::Newest:
        return "newest";
    case Selection::Latest:
        return "latest";
    case Selection::Run:
        break;
    }
    return "run";
}

} // namespace harness::report
