#include "services/doctor/doctor.hpp"

#include "io/csv.hpp"
#include "pure/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace harness::doctor {
namespace {

// PC/SC codes (pcsclite.h) a reader's failed queries carry.
constexpr long sharing_violation = 0x8010000B; // SCARD_E_SHARING_VIOLATION
constexpr long proto_mismatch = 0x8010000F;    // SCARD_E_PROTO_MISMATCH
constexpr long unsupported_card = 0x80100065;  // SCARD_W_UNSUPPORTED_CARD
constexpr long unresponsive_card = 0x80100066; // SCARD_W_UNRESPONSIVE_CARD
constexpr long unpowered_card = 0x80100067;    // SCARD_W_UNPOWERED_CARD

class Findings {
public:
    void info(std::string code, std::string en, std::string ja) {
        add(Severity::Info, std::move(code), std::move(en), std::move(ja), "", "");
    }
    void add(Severity severity, std::string code, std::string en, std::string ja, std::string fix,
             std::string fix_ja) {
        list_.push_back({std::move(code), severity, std::move(en), std::move(ja), std::move(fix),
                         std::move(fix_ja)});
    }
    Report report() && {
        Report r;
        r.ok = std::none_of(list_.begin(), list_.end(),
                            [](const Finding& f) { return f.severity == Severity::Error; });
        r.findings = std::move(list_);
        return r;
    }

private:
    std::vector<Finding> list_;
};

std::string pids_text(const std::vector<int>& pids) {
    return fmt::format("{}", fmt::join(pids, ", "));
}

// "SONY RC-S300/S (054C:0DC8, firmware 1.00, USB bus 1 address 5)"
std::string device_name(const model::UsbDevice& d) {
    std::string name;
    if (d.manufacturer && !d.manufacturer->empty())
        name = *d.manufacturer;
    if (d.product && !d.product->empty())
        name += (name.empty() ? "" : " ") + *d.product;
    if (name.empty() && d.catalogue)
        name = d.catalogue->maker + " " + d.catalogue->product;
    if (name.empty())
        name = "USB device";
    return fmt::format("{} ({}, firmware {}, USB bus {} address {})", name,
                       model::vid_pid_string(d.vid, d.pid), firmware_text(d.bcd_device), d.bus,
                       d.address);
}

const model::InventoryRow* pcsc_row_of(const model::Inventory& inventory,
                                       const model::UsbDevice& d) {
    for (const auto& row : inventory.rows)
        if (row.pcsc && row.usb && row.usb->bus == d.bus && row.usb->address == d.address &&
            row.usb->vid == d.vid && row.usb->pid == d.pid)
            return &row;
    return nullptr;
}

const FirmwareMinimum* minimum_of(const std::vector<FirmwareMinimum>& list, std::uint16_t vid,
                                  std::uint16_t pid) {
    for (const auto& m : list)
        if (m.vid == vid && m.pid == pid)
            return &m;
    return nullptr;
}

const UsbFacts* usb_facts_of(const std::vector<UsbFacts>& list, const model::UsbDevice& d) {
    for (const auto& u : list)
        if (u.bus == d.bus && u.address == d.address)
            return &u;
    return nullptr;
}

const model::PcscQueryFailure* failure_with(const model::PcscReader& r,
                                            std::initializer_list<long> codes) {
    for (const auto& f : r.failures)
        if (f.query.rfind("connect", 0) == 0 &&
            std::find(codes.begin(), codes.end(), f.raw_code) != codes.end())
            return &f;
    return nullptr;
}

std::string mode_text(std::uint32_t mode) {
    std::string s;
    for (int shift = 6; shift >= 0; shift -= 3) {
        s += (mode >> (shift + 2)) & 1 ? 'r' : '-';
        s += (mode >> (shift + 1)) & 1 ? 'w' : '-';
        s += (mode >> shift) & 1 ? 'x' : '-';
    }
    return s;
}

void check_pcscd(const Input& in, Findings& out) {
    const PcscdFacts& p = in.pcscd;
    if (!p.package_version && !p.executable_found) {
        out.add(Severity::Error, "pcscd_not_installed",
                "pcscd (the PC/SC daemon every reader application goes through) is not installed",
                "pcscd（すべてのカードリーダーアプリが経由する PC/SC デーモン）がインストールされて"
                "いません",
                "install it: apt-get install pcscd libccid",
                "インストールしてください: "
                "apt-get install pcscd libccid");
        return;
    }
    out.info("pcscd_installed",
             p.package_version ? fmt::format("pcscd {} is installed", *p.package_version)
                               : "a pcscd program is installed (not from a Debian package)",
             p.package_version
                 ? fmt::format("pcscd {} がインストールされています", *p.package_version)
                 : "pcscd がインストールされています（Debian パッケージ以外）");
    if (p.systemd && p.socket_unit && *p.socket_unit == "active" && !p.socket_from_env)
        out.info("pcscd_socket_activation",
                 "systemd starts pcscd on demand (pcscd.socket is active)",
                 "systemd が必要なときに pcscd を起動します（pcscd.socket が有効）");
    if (p.socket_from_env)
        out.info(
            "pcsc_socket_from_environment",
            fmt::format("PCSCLITE_CSOCK_NAME={}: every command talks to that pcscd (a lab's or "
                        "a test's), not the system one; unset it for the system pcscd",
                        p.socket),
            fmt::format("PCSCLITE_CSOCK_NAME={}: すべてのコマンドはこの pcscd（ラボやテスト用）"
                        "に接続し、システムの pcscd には接続しません。システムの pcscd を使うには"
                        "この変数を unset してください",
                        p.socket));

    if (!p.private_pids.empty())
        out.info("private_pcscd_running",
                 fmt::format("{} private pcscd (pid {}) run in mount namespaces of their own (a "
                             "lab's or a test's); PCSCLITE_CSOCK_NAME reaches one",
                             p.private_pids.size(), pids_text(p.private_pids)),
                 fmt::format("専用の pcscd が {} 個（pid {}）独自のマウント名前空間で動いています"
                             "（ラボやテスト用）。PCSCLITE_CSOCK_NAME で接続できます",
                             p.private_pids.size(), pids_text(p.private_pids)));
    if (in.inventory.pcsc_available) {
        const std::string running =
            p.pids.empty() ? std::string() : fmt::format(" (pid {})", pids_text(p.pids));
        out.info("pcscd_reachable", fmt::format("pcscd answers at {}{}", p.socket, running),
                 fmt::format("pcscd は {} で応答しています{}", p.socket, running));
        return;
    }
    const std::string why = in.inventory.pcsc_error;
    const std::string start_en = p.systemd ? "start it: systemctl enable --now pcscd.socket"
                                           : "start it as root: service pcscd start (or run pcscd)";
    const std::string start_ja =
        p.systemd ? "起動してください: systemctl enable --now pcscd.socket"
                  : "root で起動してください: service pcscd start（または pcscd を実行）";
    switch (p.socket_state) {
    case SocketState::Missing:
        if (p.socket_from_env) {
            out.add(Severity::Error, "pcscd_socket_missing",
                    fmt::format("PCSCLITE_CSOCK_NAME names {}, which does not exist: the pcscd it "
                                "points to is not running (a stopped lab?)",
                                p.socket),
                    fmt::format("PCSCLITE_CSOCK_NAME が指す {} が存在しません。その pcscd は動いて"
                                "いません（ラボを停止しましたか？）",
                                p.socket),
                    "start that pcscd again (for the lab: eval \"$(cardharness lab start)\"), or "
                    "unset PCSCLITE_CSOCK_NAME to use the system pcscd",
                    "その pcscd を再び起動するか（ラボなら eval \"$(cardharness lab start)\"）、"
                    "システムの pcscd を使うなら PCSCLITE_CSOCK_NAME を unset してください");
        } else if (!p.pids.empty()) {
            out.add(Severity::Error, "pcscd_socket_missing",
                    fmt::format("pcscd runs (pid {}) but its socket {} does not exist: it serves "
                                "another socket (another mount namespace or configuration)",
                                pids_text(p.pids), p.socket),
                    fmt::format("pcscd は動いています（pid {}）が、ソケット {} がありません。別の"
                                "ソケット（別のマウント名前空間や設定）で待ち受けています",
                                pids_text(p.pids), p.socket),
                    p.systemd ? "restart it: systemctl restart pcscd.socket pcscd.service"
                              : "stop that pcscd and start it again as root: service pcscd "
                                "restart",
                    p.systemd ? "再起動してください: systemctl restart pcscd.socket pcscd.service"
                              : "その pcscd を止めて root で起動し直してください: service pcscd "
                                "restart");
        } else {
            const std::string unit = p.systemd && p.socket_unit
                                         ? fmt::format(" and pcscd.socket is {}", *p.socket_unit)
                                         : std::string();
            const std::string unit_ja =
                p.systemd && p.socket_unit
                    ? fmt::format("、pcscd.socket は {} です", *p.socket_unit)
                    : std::string();
            out.add(
                Severity::Error, "pcscd_not_running",
                fmt::format("pcscd is not running (no process, no socket at {}){}", p.socket, unit),
                fmt::format("pcscd が動いていません（プロセスもソケット {} もありません）{}",
                            p.socket, unit_ja),
                start_en, start_ja);
        }
        return;
    case SocketState::Refused:
        out.add(Severity::Error, "pcscd_socket_stale",
                fmt::format("{} exists but nothing accepts connections: pcscd stopped without "
                            "removing its socket (it crashed or was killed)",
                            p.socket),
                fmt::format("{} はありますが接続を受け付けません。pcscd がソケットを残したまま"
                            "終了しています（異常終了または強制終了）",
                            p.socket),
                p.socket_from_env ? "start that pcscd again (for the lab: cardharness lab stop, "
                                    "then eval \"$(cardharness lab start)\"), or unset "
                                    "PCSCLITE_CSOCK_NAME"
                                  : start_en + " (it replaces the stale socket)",
                p.socket_from_env ? "その pcscd を起動し直すか（ラボなら cardharness lab stop の"
                                    "あと eval \"$(cardharness lab start)\"）、"
                                    "PCSCLITE_CSOCK_NAME を unset してください"
                                  : start_ja + "（古いソケットは置き換えられます）");
        return;
    case SocketState::Denied:
        out.add(Severity::Error, "pcscd_socket_denied",
                fmt::format("no permission to connect to {} ({})", p.socket, p.socket_error),
                fmt::format("{} に接続する権限がありません（{}）", p.socket, p.socket_error),
                "run as root, or as a user pcscd's access rules (polkit) allow",
                "root で実行するか、pcscd のアクセス規則（polkit）が許可するユーザーで実行して"
                "ください");
        return;
    case SocketState::NotASocket:
    case SocketState::Accepts:
    case SocketState::Failed:
        break;
    }
    out.add(Severity::Error, "pcscd_unreachable",
            fmt::format("PC/SC does not work through {} ({}): {}", p.socket,
                        p.socket_error.empty() ? "the socket accepts connections" : p.socket_error,
                        why),
            fmt::format("{} 経由で PC/SC が動作しません（{}）: {}", p.socket,
                        p.socket_error.empty() ? "ソケットは接続を受け付けます" : p.socket_error,
                        why),
            "pcscd and libpcsclite1 must come from the same pcsc-lite version: apt-get install "
            "--reinstall pcscd libpcsclite1, then restart pcscd",
            "pcscd と libpcsclite1 は同じ pcsc-lite の版である必要があります: apt-get install "
            "--reinstall pcscd libpcsclite1 のあと pcscd を再起動してください");
}

void check_driver(const Input& in, Findings& out) {
    const DriverFacts& d = in.driver;
    if (d.libccid_version) {
        out.info("libccid_installed",
                 fmt::format("the CCID driver libccid {} is installed", *d.libccid_version),
                 fmt::format("CCID ドライバー libccid {} がインストールされています",
                             *d.libccid_version));
    } else {
        const bool usb_readers = !in.usb.empty();
        out.add(usb_readers ? Severity::Error : Severity::Warning, "libccid_not_installed",
                "the CCID driver (libccid), which every USB CCID reader goes through, is not "
                "installed",
                "すべての USB CCID リーダーが経由する CCID ドライバー（libccid）がインストール"
                "されていません",
                "apt-get install libccid, then restart pcscd",
                "apt-get install libccid を実行し、pcscd を再起動してください");
    }
    if (d.libccid_version && !d.reader_list_read)
        out.add(Severity::Warning, "ccid_reader_list_unreadable",
                fmt::format("the CCID driver's reader list (Info.plist) could not be read: {}",
                            d.reader_list_error),
                fmt::format("CCID ドライバーの対応リーダー一覧（Info.plist）を読めません: {}",
                            d.reader_list_error),
                "reinstall it: apt-get install --reinstall libccid",
                "再インストールしてください: apt-get install --reinstall libccid");
}

void check_usb_device(const Input& in, const model::UsbDevice& d, Findings& out) {
    const std::string name = device_name(d);
    const std::string id = model::vid_pid_string(d.vid, d.pid);
    const bool ccid = std::any_of(d.interfaces.begin(), d.interfaces.end(),
                                  [](const auto& i) { return !i.ccid_descriptor.empty(); });
    if (d.catalogue && !ccid) {
        out.add(Severity::Error, "reader_needs_vendor_driver",
                fmt::format("{} is not a CCID reader: {}", name, d.catalogue->note_en),
                fmt::format("{} は CCID リーダーではありません: {}", name, d.catalogue->note_ja),
                "PC/SC applications (the JPKI client, cardharness) reach only CCID readers on "
                "Linux: use a CCID-class reader (e.g. Sony RC-S300 instead of RC-S380), or the "
                "vendor's driver where one exists",
                "Linux では PC/SC アプリ（公的個人認証クライアント、cardharness）は CCID リーダー"
                "しか使えません。CCID クラスのリーダー（例: RC-S380 ではなく RC-S300）を使うか、"
                "ベンダーのドライバーがあれば導入してください");
        return;
    }
    const model::InventoryRow* row = pcsc_row_of(in.inventory, d);
    bool explained = false;
    if (d.listed_by_ccid_driver && !*d.listed_by_ccid_driver && !row) {
        const std::string version =
            in.driver.libccid_version ? " " + *in.driver.libccid_version : std::string();
        out.add(Severity::Error, "reader_not_listed_by_ccid_driver",
                fmt::format("{}: the installed CCID driver (libccid{}) does not list {}, so pcscd "
                            "does not use this reader",
                            name, version, id),
                fmt::format("{}: インストール済みの CCID ドライバー（libccid{}）の対応リストに {} "
                            "がないため、pcscd はこのリーダーを使いません",
                            name, version, id),
                "a newer libccid may list it (the CCID project's supported-readers list names "
                "the first version per reader; Debian backports), or use the vendor's driver; "
                "adding the VID:PID to libccid's Info.plist by hand is at your own risk",
                "新しい libccid が対応している可能性があります（CCID プロジェクトの対応リーダー"
                "一覧に対応開始版があります。Debian backports）。またはベンダーのドライバーを"
                "使ってください。libccid の Info.plist に VID:PID を手で追加するのは自己責任です");
        explained = true;
    }
    if (const auto* minimum = minimum_of(in.firmware_minimums, d.vid, d.pid);
        minimum && d.bcd_device < minimum->min_bcd_device) {
        out.add(Severity::Error, "reader_firmware_below_driver_minimum",
                fmt::format("{}: firmware {} is older than {}, the oldest the CCID driver accepts "
                            "for the {}: it refuses the reader (pcscd logs \"Firmware ({}) is "
                            "bogus!\")",
                            name, firmware_text(d.bcd_device),
                            firmware_text(minimum->min_bcd_device), minimum->name,
                            firmware_text(d.bcd_device)),
                fmt::format("{}: ファームウェア {} は、CCID ドライバーが {} に求める {} より古い"
                            "ため、ドライバーはこのリーダーを拒否します（pcscd のログに "
                            "\"Firmware ({}) is bogus!\"）",
                            name, firmware_text(d.bcd_device), minimum->name,
                            firmware_text(minimum->min_bcd_device), firmware_text(d.bcd_device)),
                fmt::format("update the reader's firmware to {} or later with the vendor's tool, "
                            "or use another reader",
                            firmware_text(minimum->min_bcd_device)),
                fmt::format("ベンダーのツールでファームウェアを {} 以降に更新するか、別のリーダー"
                            "を使ってください",
                            firmware_text(minimum->min_bcd_device)));
        explained = true;
    }
    if (const UsbFacts* facts = usb_facts_of(in.usb, d)) {
        if (!facts->holders.empty()) {
            std::vector<std::string> who;
            for (const auto& h : facts->holders)
                who.push_back(fmt::format("{} (pid {})", h.name, h.pid));
            const std::string list = fmt::format("{}", fmt::join(who, ", "));
            out.add(Severity::Error, "usb_device_held",
                    fmt::format("{} is held open by another program: {}; pcscd cannot claim it",
                                name, list),
                    fmt::format("{} は別のプログラムが開いています: {}。pcscd はこのリーダーを使え"
                                "ません",
                                name, list),
                    "close that program (a vendor tool, a second pcscd, a virtual machine with "
                    "USB pass-through), then unplug and replug the reader",
                    "そのプログラム（ベンダーツール、別の pcscd、USB パススルーの仮想マシンなど）を"
                    "終了し、リーダーを抜き差ししてください");
            explained = true;
        }
        const NodeFacts& node = facts->node;
        if (node.exists && in.pcscd.uid &&
            !can_open_read_write(node, *in.pcscd.uid, in.pcscd.gid.value_or(0), in.pcscd.groups)) {
            out.add(
                Severity::Error, "usb_permission",
                fmt::format("pcscd runs as {} and cannot open {} ({} {}:{}), so it cannot use "
                            "{}",
                            in.pcscd_user, node.path, mode_text(node.mode), node.owner, node.group,
                            name),
                fmt::format("pcscd は {} として動いており、{}（{} {}:{}）を開けないため {} "
                            "を使えません",
                            in.pcscd_user, node.path, mode_text(node.mode), node.owner, node.group,
                            name),
                "libccid's udev rule (92_pcscd_ccid.rules) gives pcscd's group access to CCID "
                "readers: unplug and replug the reader (or udevadm trigger), and check that "
                "pcscd runs as the user or group those rules name",
                "libccid の udev ルール（92_pcscd_ccid.rules）が pcscd のグループに CCID リーダー"
                "へのアクセスを与えます。リーダーを抜き差しするか udevadm trigger を実行し、"
                "pcscd がそのルールのユーザー・グループで動いているか確認してください");
            explained = true;
        }
    }
    if (!row && !explained && in.inventory.pcsc_available && ccid && in.pcscd.socket_from_env)
        out.add(Severity::Error, "reader_not_in_pcsc",
                fmt::format("{}: the pcscd at PCSCLITE_CSOCK_NAME={} shows no reader for this "
                            "CCID device (a lab's or a test's pcscd does not drive USB readers)",
                            name, in.pcscd.socket),
                fmt::format("{}: PCSCLITE_CSOCK_NAME={} の pcscd にはこの CCID デバイスのリーダーが"
                            "ありません（ラボやテスト用の pcscd は USB リーダーを扱いません）",
                            name, in.pcscd.socket),
                "unset PCSCLITE_CSOCK_NAME to use the system pcscd, which drives USB readers",
                "USB リーダーを扱うシステムの pcscd を使うには PCSCLITE_CSOCK_NAME を unset して"
                "ください");
    else if (!row && !explained && in.inventory.pcsc_available && ccid)
        out.add(
            Severity::Error, "reader_not_in_pcsc",
            fmt::format("{}: pcscd shows no reader for this CCID device", name),
            fmt::format("{}: この CCID デバイスに対応するリーダーが pcscd にありません", name),
            "unplug and replug the reader, then restart pcscd; pcscd -f -d (as root, with the "
            "system pcscd stopped) shows why the driver did not open it",
            "リーダーを抜き差しし、pcscd を再起動してください。システムの pcscd を止めて root で "
            "pcscd -f -d を実行すると、ドライバーが開けなかった理由が表示されます");
}

void check_pcsc_reader(const model::PcscReader& r, Findings& out) {
    if (r.state.exclusive || failure_with(r, {sharing_violation})) {
        out.add(Severity::Error, "reader_held_exclusively",
                fmt::format("{}: another application holds the card exclusively; no other program "
                            "can use it until that one lets go",
                            r.name),
                fmt::format("{}: 別のアプリケーションがカードを排他的に使用中です。そのアプリが"
                            "解放するまで他のプログラムは使えません",
                            r.name),
                "close the other program (the JPKI client, a browser or signing tool using the "
                "card, a second cardharness run), or remove and reinsert the card",
                "他のプログラム（公的個人認証クライアント、カードを使っているブラウザや署名ツール、"
                "別の cardharness の実行）を終了するか、カードを抜き差ししてください");
        return;
    }
    const auto* power =
        failure_with(r, {unresponsive_card, unpowered_card, proto_mismatch, unsupported_card});
    if (r.state.present && (r.state.mute || power)) {
        const std::string detail = power ? power->message : "no valid answer to reset (ATR)";
        out.add(Severity::Warning, "card_unresponsive",
                fmt::format("{}: a card is in the reader but does not answer ({})", r.name, detail),
                fmt::format("{}: カードは挿さっていますが応答しません（{}）", r.name, detail),
                "take the card out and put it back (contact: chip first, face up; contactless: "
                "flat on the marked spot, no other card near); if it still does not answer, the "
                "reader may not support this card, which cardharness run records as the "
                "reader's result",
                "カードを抜いて入れ直してください（接触: IC チップを先に表向きで、非接触: 所定の"
                "位置に平らに置き、他のカードを近づけない）。それでも応答しない場合はリーダーが"
                "このカードに対応していない可能性があり、cardharness run がリーダーの結果として"
                "記録します");
        return;
    }
    if (r.state.present)
        out.info("reader_ready", fmt::format("{}: ready, a card is present", r.name),
                 fmt::format("{}: 使用可能、カードあり", r.name));
    else
        out.info("reader_ready", fmt::format("{}: ready, no card", r.name),
                 fmt::format("{}: 使用可能、カードなし", r.name));
}

} // namespace

std::string firmware_text(std::uint16_t bcd) {
    return fmt::format("{:x}.{:02x}", bcd >> 8, bcd & 0xFF);
}

bool can_open_read_write(const NodeFacts& node, std::uint32_t uid, std::uint32_t gid,
                         const std::vector<std::uint32_t>& groups) {
    if (uid == 0)
        return true;
    std::uint32_t bits = node.mode & 07; // others
    if (node.uid == uid)
        bits = (node.mode >> 6) & 07;
    else if (node.gid == gid || std::find(groups.begin(), groups.end(), node.gid) != groups.end())
        bits = (node.mode >> 3) & 07;
    return (bits & 06) == 06;
}

Report diagnose(const Input& in) {
    Findings out;
    if (!in.profiles_found)
        out.add(Severity::Error, "profiles_missing",
                fmt::format("cardharness's profiles (cards, reader models, suites) are not at {}",
                            in.profiles_dir),
                fmt::format("cardharness のプロファイル（カード、リーダーモデル、試験スイート）が "
                            "{} にありません",
                            in.profiles_dir),
                "reinstall the package (apt-get install --reinstall cardharness), or set "
                "CARDHARNESS_PROFILES_DIR",
                "パッケージを再インストールするか（apt-get install --reinstall cardharness）、"
                "CARDHARNESS_PROFILES_DIR を設定してください");
    check_pcscd(in, out);
    check_driver(in, out);
    if (!in.inventory.usb_available && !in.inventory.usb_error.empty())
        out.add(Severity::Warning, "usb_unavailable",
                fmt::format("USB devices could not be listed: {}", in.inventory.usb_error),
                fmt::format("USB デバイスを一覧できません: {}", in.inventory.usb_error),
                "run on the machine the readers are plugged into (not in a container without "
                "/dev/bus/usb and /sys)",
                "リーダーを接続したマシン上で実行してください（/dev/bus/usb と /sys のない"
                "コンテナでは不可）");

    std::size_t pcsc_readers = 0;
    std::size_t usb_devices = 0;
    for (const auto& row : in.inventory.rows) {
        // Lab readers have a virtual USB identity but no libusb device: only devices libusb
        // enumerated (in.usb) are checked as USB hardware.
        if (row.usb && usb_facts_of(in.usb, *row.usb) && (!row.pcsc || row.slot.value_or(0) == 0)) {
            ++usb_devices;
            check_usb_device(in, *row.usb, out);
        }
        if (row.pcsc) {
            ++pcsc_readers;
            check_pcsc_reader(*row.pcsc, out);
        }
    }
    if (in.inventory.pcsc_available && pcsc_readers == 0 && usb_devices == 0)
        out.add(Severity::Error, "no_reader",
                "pcscd lists no reader and no USB smart-card reader is attached",
                "pcscd にリーダーがなく、USB のカードリーダーも接続されていません",
                "plug the reader in (directly, not through an unpowered hub) and check that lsusb "
                "lists it; for the virtual lab: eval \"$(cardharness lab start)\"",
                "リーダーを接続し（電源のないハブを経由せず直接）、lsusb に表示されるか確認して"
                "ください。仮想ラボなら eval \"$(cardharness lab start)\"");
    return std::move(out).report();
}

std::vector<FirmwareMinimum> parse_firmware_minimums(const std::string& text,
                                                     const std::string& source) {
    static constexpr std::string_view columns[] = {"vid", "pid", "min_bcd_device", "name"};
    const auto table =
        io::csv::parse_or_throw(text, source, columns, {.what = "firmware minimums file"});
    std::vector<FirmwareMinimum> out;
    for (const auto& row : table.rows()) {
        const auto hex16 = [&](std::string_view name, std::string_view what) {
            const std::string& field = table.cell(row, name);
            if (field.empty() || field.size() > 4 ||
                field.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                table.fail(row, name, what);
            return static_cast<std::uint16_t>(std::stoul(field, nullptr, 16));
        };
        FirmwareMinimum m;
        m.vid = hex16("vid", "a vendor ID of 1-4 hex digits like 04E6");
        m.pid = hex16("pid", "a product ID of 1-4 hex digits like E001");
        m.min_bcd_device =
            hex16("min_bcd_device", "a bcdDevice of 1-4 hex digits like 0516 (5.16)");
        m.name = table.cell(row, "name");
        if (m.name.empty())
            table.fail(row, "name", "a reader name");
        for (const auto& other : out)
            if (other.vid == m.vid && other.pid == m.pid)
                table.fail(row, "vid",
                           fmt::format("a VID:PID not listed before ({} is a duplicate)",
                                       model::vid_pid_string(m.vid, m.pid)));
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<FirmwareMinimum> load_firmware_minimums(const std::filesystem::path& path) {
    return parse_firmware_minimums(io::read_text_file(path, "firmware minimums file"),
                                   path.string());
}

} // namespace harness::doctor
