#include "services/inventory/inventory.hpp"

#include "pure/card_interface.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace harness::inventory {
namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

int score(const model::PcscReader& reader, const model::UsbDevice& device,
          model::JoinMethod& method) {
    const bool channel = reader.usb_bus() && reader.usb_address() &&
                         *reader.usb_bus() == device.bus && *reader.usb_address() == device.address;
    const bool tlv = reader.tlv_properties && reader.tlv_properties->id_vendor &&
                     reader.tlv_properties->id_product &&
                     *reader.tlv_properties->id_vendor == device.vid &&
                     *reader.tlv_properties->id_product == device.pid;
    if (channel && tlv) {
        method = model::JoinMethod::TlvAndChannel;
        return 4;
    }
    if (channel) {
        method = model::JoinMethod::Channel;
        return 3;
    }
    if (tlv) {
        method = model::JoinMethod::Tlv;
        return 2;
    }
    const std::string product =
        device.product.value_or(device.catalogue ? device.catalogue->product : std::string());
    if (!product.empty() && lower(reader.name).find(lower(product)) != std::string::npos) {
        method = model::JoinMethod::Name;
        return 1;
    }
    method = model::JoinMethod::None;
    return 0;
}

void usb_only_note(const model::UsbDevice& device, const Sources& sources,
                   model::InventoryRow& row) {
    if (device.catalogue) {
        row.note_en = device.catalogue->note_en;
        row.note_ja = device.catalogue->note_ja;
    } else if (!sources.pcsc_available) {
        row.note_en = "no PC/SC view: " + sources.pcsc_error;
        row.note_ja = "PC/SC から見えません: " + sources.pcsc_error;
    } else if (device.listed_by_ccid_driver && !*device.listed_by_ccid_driver) {
        row.note_en = "pcscd lists no reader for it: the installed CCID driver does not list this "
                      "VID:PID";
        row.note_ja = "pcscd にリーダとして現れません: 導入済みの CCID ドライバがこの VID:PID "
                      "を登録していません";
    } else {
        row.note_en = "pcscd lists no reader for it (driver not loaded, device busy or refused)";
        row.note_ja = "pcscd にリーダとして現れません (ドライバ未読込、使用中、または拒否)";
    }
}

} // namespace

std::optional<int> slot_from_name(const std::string& pcsc_name) {
    // pcsc-lite appends " %02X %02X" (reader index, slot) to every name (readerfactory.c).
    if (pcsc_name.size() < 6)
        return std::nullopt;
    const std::string tail = pcsc_name.substr(pcsc_name.size() - 6);
    if (tail[0] != ' ' || tail[3] != ' ')
        return std::nullopt;
    auto hex2 = [](char a, char b) -> int {
        auto v = [](char c) {
            return std::isdigit(static_cast<unsigned char>(c))
                       ? c - '0'
                       : (std::isxdigit(static_cast<unsigned char>(c))
                              ? std::toupper(static_cast<unsigned char>(c)) - 'A' + 10
                              : -1);
        };
        const int hi = v(a);
        const int lo = v(b);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    };
    if (hex2(tail[1], tail[2]) < 0)
        return std::nullopt;
    const int slot = hex2(tail[4], tail[5]);
    if (slot < 0)
        return std::nullopt;
    return slot;
}

std::optional<bool> contactless_from_atr(ByteView atr) {
    if (atr.empty())
        return std::nullopt;
    return card_interface::has_pseudo_atr_shape(atr);
}

std::optional<bool> contactless_from_name(const std::string& name) {
    const auto says = card_interface::from_name(name, "name");
    if (!says || says->contact == says->contactless)
        return std::nullopt;
    return says->contactless;
}

namespace {

// What the reader says about its interfaces, most specific first: the USB interface the reader is
// (iInterface), the driver's product attribute, the PC/SC name, the USB product string.
std::vector<card_interface::ReaderSays> reader_says(const model::InventoryRow& row) {
    std::vector<card_interface::ReaderSays> out;
    const auto add = [&](const std::optional<std::string>& name, const char* source) {
        if (name)
            if (auto says = card_interface::from_name(*name, source))
                out.push_back(std::move(*says));
    };
    if (row.usb && row.interface && *row.interface < row.usb->interfaces.size())
        add(row.usb->interfaces[*row.interface].name, "usb_interface");
    if (row.pcsc) {
        add(row.pcsc->vendor_ifd_type, "reader_attribute");
        add(row.pcsc->name, "name");
    }
    if (row.usb)
        add(row.usb->product, "usb_product");
    return out;
}

} // namespace

model::Inventory join(const Sources& sources) {
    model::Inventory inventory;
    inventory.pcsc_available = sources.pcsc_available;
    inventory.pcsc_error = sources.pcsc_error;
    inventory.usb_available = sources.usb_available;
    inventory.usb_error = sources.usb_error;

    std::vector<bool> usb_joined(sources.usb.size(), false);
    // How many PC/SC readers (not slots) were tied to each USB device so far: a multi-interface
    // device (ACR1252 Dual: PICC + SAM) shows one PC/SC reader per CCID interface, in order.
    std::map<std::size_t, std::size_t> readers_per_device;

    for (const auto& reader : sources.pcsc) {
        model::InventoryRow row;
        row.pcsc = reader;
        row.slot = slot_from_name(reader.name);
        int best = 0;
        std::size_t best_index = 0;
        model::JoinMethod best_method = model::JoinMethod::None;
        for (std::size_t i = 0; i < sources.usb.size(); ++i) {
            model::JoinMethod method;
            const int s = score(reader, sources.usb[i], method);
            // TLV-only matches must be unambiguous to count.
            if (s == 2 && std::count_if(sources.usb.begin(), sources.usb.end(), [&](const auto& d) {
                              return d.vid == sources.usb[i].vid && d.pid == sources.usb[i].pid;
                          }) > 1)
                continue;
            if (s > best) {
                best = s;
                best_index = i;
                best_method = method;
            }
        }
        if (best > 0) {
            const auto& device = sources.usb[best_index];
            row.usb = device;
            row.join = best_method;
            usb_joined[best_index] = true;
            const bool first_slot = row.slot.value_or(0) == 0;
            std::size_t& count = readers_per_device[best_index];
            if (first_slot)
                ++count;
            if (!device.interfaces.empty())
                row.interface = std::min(count == 0 ? 0 : count - 1, device.interfaces.size() - 1);
        }
        // The reader's own word first, the ATR's shape only when it says nothing (one rule:
        // pure/card_interface.hpp).
        const auto decision = card_interface::decide(reader_says(row), reader.atr);
        if (decision.kind) {
            row.contactless = *decision.kind == card_interface::Kind::Contactless;
            row.contactless_from = decision.from;
        }
        inventory.rows.push_back(std::move(row));
    }
    for (std::size_t i = 0; i < sources.usb.size(); ++i) {
        if (usb_joined[i])
            continue;
        model::InventoryRow row;
        row.usb = sources.usb[i];
        if (!row.usb->interfaces.empty())
            row.interface = 0;
        usb_only_note(sources.usb[i], sources, row);
        inventory.rows.push_back(std::move(row));
    }
    return inventory;
}

} // namespace harness::inventory

namespace harness::inventory {

ReaderKind reader_kind(const model::InventoryRow& row) {
    if (!row.pcsc)
        return {"usb_only", "USB device that PC/SC does not show", "PC/SC に現れない USB 機器"};
    const bool usb_identity = row.usb ||
                              (row.pcsc->tlv_properties && row.pcsc->tlv_properties->id_vendor &&
                               row.pcsc->tlv_properties->id_product) ||
                              row.pcsc->usb_bus();
    if (usb_identity)
        return {"usb", "USB reader", "USB リーダー"};
    // vsmartcard's vpcd driver names its readers "Virtual PCD NN SS" (/etc/reader.conf.d/vpcd).
    if (row.pcsc->name.rfind("Virtual PCD", 0) == 0)
        return {"vpcd",
                "virtual reader (vsmartcard vpcd): no USB device, a card program connects "
                "over a socket",
                "仮想リーダー（vsmartcard vpcd）: USB "
                "機器ではなく、カードのプログラムがソケットで接続"};
    return {"no_usb_identity",
            "PC/SC reader whose driver gives no USB identity (serial, network or "
            "virtual)",
            "ドライバーが USB の識別情報を返さない PC/SC リーダー（シリアル、ネットワーク、仮想）"};
}

} // namespace harness::inventory
