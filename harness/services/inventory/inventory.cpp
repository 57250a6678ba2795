#include "services/inventory/inventory.hpp"

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

bool contains_word(const std::string& haystack, const std::string& word) {
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
    // PC/SC part 3 §3.1.3.2.3: contactless readers build 3B 8n 80 01 … pseudo-ATRs.
    if (atr.size() >= 4 && atr[0] == 0x3B && (atr[1] & 0xF0) == 0x80 && atr[2] == 0x80 &&
        atr[3] == 0x01)
        return true;
    if (atr.empty())
        return std::nullopt;
    return false;
}

std::optional<bool> contactless_from_name(const std::string& name) {
    for (const char* word : {"PICC", "Contactless", "NFC", "CL", "RF"})
        if (contains_word(name, word))
            return true;
    for (const char* word : {"ICC", "SAM", "Contact"})
        if (contains_word(name, word))
            return false;
    return std::nullopt;
}

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
        if (auto from_atr = contactless_from_atr(reader.atr); from_atr && *from_atr) {
            row.contactless = true;
            row.contactless_from = "atr";
        } else if (auto from_name = contactless_from_name(reader.name)) {
            row.contactless = from_name;
            row.contactless_from = "name";
        } else if (from_atr) {
            row.contactless = false;
            row.contactless_from = "atr";
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
