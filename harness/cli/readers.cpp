// `cardharness readers [--json]`: one row per PC/SC reader (slot) joined to its USB device, plus
// USB readers that PC/SC does not show, with why.
#include "backends/pcsc/context.hpp"
#include "backends/pcsc/reader_info.hpp"
#include "cli/commands.hpp"
#include "cli/describe.hpp"
#include "cli/inventory_source.hpp"
#include "cli/json_pcsc.hpp"
#include "cli/json_usb.hpp"
#include "cli/lab_usb.hpp"
#include "cli/usb_source.hpp"
#include "pure/atr.hpp"
#include "pure/ccid.hpp"
#include "pure/error.hpp"
#include "services/inventory/inventory.hpp"

#include <fmt/core.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace harness::cli {
namespace {

std::optional<ccid::Descriptor> descriptor_of(const model::InventoryRow& row) {
    if (!row.usb || !row.interface || *row.interface >= row.usb->interfaces.size())
        return std::nullopt;
    const auto& raw = row.usb->interfaces[*row.interface].ccid_descriptor;
    if (raw.empty())
        return std::nullopt;
    return ccid::decode(raw).descriptor;
}

std::vector<std::string> card_names(ByteView atr) {
    static const std::optional<atr::AtrList> list = []() -> std::optional<atr::AtrList> {
        std::ifstream in("/usr/share/pcsc/smartcard_list.txt");
        if (!in)
            return std::nullopt;
        std::stringstream text;
        text << in.rdbuf();
        return atr::parse_list(text.str());
    }();
    if (!list || atr.empty())
        return {};
    return atr::lookup(*list, atr);
}

nlohmann::json row_json(const model::InventoryRow& row) {
    nlohmann::json j;
    j["name"] = row.pcsc ? nlohmann::json(row.pcsc->name) : nlohmann::json(nullptr);
    j["source"] = row.pcsc && row.usb ? "pcsc+usb" : (row.pcsc ? "pcsc" : "usb");
    j["join"] = model::to_string(row.join);
    j["slot"] = row.slot ? nlohmann::json(*row.slot) : nlohmann::json(nullptr);
    j["interface_index"] = row.interface ? nlohmann::json(*row.interface) : nlohmann::json(nullptr);
    j["contactless"] = row.contactless ? nlohmann::json(*row.contactless) : nlohmann::json(nullptr);
    j["contactless_from"] = row.contactless_from;
    // What the reader is ("usb", "vpcd", "no_usb_identity", "usb_only"), said in words too.
    const auto kind = inventory::reader_kind(row);
    j["kind"] = kind.code;
    j["kind_note"] = kind.en;
    j["kind_note_ja"] = kind.ja;
    const bool present = row.pcsc && row.pcsc->state.present;
    j["card_present"] = present;
    j["atr"] = row.pcsc ? hex::format(row.pcsc->atr) : "";
    j["card_names"] = row.pcsc ? card_names(row.pcsc->atr) : std::vector<std::string>{};
    if (auto d = descriptor_of(row)) {
        j["prediction"] = prediction_json(ccid::predict(*d));
        j["prediction"]["note"] = "an estimate from the USB descriptor, never a verdict";
    } else {
        j["prediction"] = nullptr;
    }
    j["pcsc"] = row.pcsc ? to_json(*row.pcsc) : nlohmann::json(nullptr);
    j["usb"] = row.usb ? to_json(*row.usb) : nlohmann::json(nullptr);
    j["note"] = row.note_en;
    j["note_ja"] = row.note_ja;
    return j;
}

std::string firmware(std::uint16_t bcd) {
    return fmt::format("{:x}.{:02x}", bcd >> 8, bcd & 0xFF);
}

void print_text(const model::Inventory& inv) {
    if (!inv.pcsc_available)
        fmt::print("PC/SC: not available ({})\n", inv.pcsc_error);
    if (!inv.usb_available)
        fmt::print("USB: not available ({})\n", inv.usb_error);
    if (inv.rows.empty()) {
        fmt::print("No smart-card readers found (no PC/SC reader{} and no USB CCID device).\n",
                   inv.pcsc_available ? "" : " because pcscd is not reachable");
        fmt::print(
            "Tip: `cardharness lab start` serves emulated readers through a private pcscd.\n");
        return;
    }
    int n = 0;
    for (const auto& row : inv.rows) {
        ++n;
        const std::string title =
            row.pcsc ? row.pcsc->name
                     : fmt::format("(USB only) {}", row.usb->product.value_or("unnamed"));
        fmt::print("[{}] {}\n", n, title);
        std::optional<std::uint16_t> vid, pid, bcd;
        std::string maker, product;
        if (row.usb) {
            vid = row.usb->vid;
            pid = row.usb->pid;
            bcd = row.usb->bcd_device;
            maker = row.usb->manufacturer.value_or("");
            product = row.usb->product.value_or("");
        } else if (row.pcsc) {
            if (row.pcsc->tlv_properties) {
                vid = row.pcsc->tlv_properties->id_vendor;
                pid = row.pcsc->tlv_properties->id_product;
            }
            if (row.pcsc->vendor_ifd_version)
                bcd = static_cast<std::uint16_t>(*row.pcsc->vendor_ifd_version >> 16);
            maker = row.pcsc->vendor_name.value_or("");
            product = row.pcsc->vendor_ifd_type.value_or("");
        }
        if (!vid && !pid && maker.empty() && product.empty() && !bcd) {
            // No USB identity at all (vpcd, serial, network): say what it is, not "USB ?:?".
            fmt::print("    {}\n", inventory::reader_kind(row).en);
        } else {
            fmt::print("    USB {}  maker \"{}\"  product \"{}\"  firmware {}  (joined by {})\n",
                       vid && pid ? model::vid_pid_string(*vid, *pid) : std::string("?:?"), maker,
                       product, bcd ? firmware(*bcd) : std::string("?"),
                       model::to_string(row.join));
        }
        if (auto d = descriptor_of(row)) {
            std::string protocols;
            for (int p : d->protocol_numbers())
                protocols += fmt::format("{}T={}", protocols.empty() ? "" : ",", p);
            fmt::print("    CCID {}  max message {} bytes  protocols {}  slots {}\n",
                       ccid::to_string(d->exchange_level()), d->max_message_length, protocols,
                       d->slots());
            const auto prediction = ccid::predict(*d);
            fmt::print("    My Number (predicted from the descriptor, not a verdict): {}\n",
                       ccid::to_string(prediction.likelihood));
            for (const auto& r : prediction.reasons)
                fmt::print("      - {}\n", r.message);
        }
        if (row.usb && row.usb->listed_by_ccid_driver)
            fmt::print("    installed CCID driver lists it: {}\n",
                       *row.usb->listed_by_ccid_driver ? "yes" : "no");
        fmt::print("    contactless: {}\n", row.contactless ? (*row.contactless ? "yes" : "no") +
                                                                  std::string(" (from ") +
                                                                  row.contactless_from + ")"
                                                            : std::string("unknown"));
        if (row.pcsc) {
            if (row.pcsc->state.present) {
                fmt::print("    card: present, ATR {}\n", hex::format(row.pcsc->atr));
                for (const auto& name : card_names(row.pcsc->atr))
                    fmt::print("      ATR list: {}\n", name);
            } else {
                fmt::print("    card: none\n");
            }
        }
        if (!row.note_en.empty())
            fmt::print("    note: {}\n", row.note_en);
    }
}

} // namespace

void add_readers_command(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand(
        "readers", "List PC/SC readers joined with their USB (CCID) devices, and USB readers "
                   "PC/SC does not show");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print JSON (snake_case keys, documented in the README)");
    cmd->callback([json, &context] {
        const auto inv = inventory::join(gather_inventory_sources());
        if (*json) {
            nlohmann::json out;
            out["pcsc_available"] = inv.pcsc_available;
            out["pcsc_error"] = inv.pcsc_error;
            out["usb_available"] = inv.usb_available;
            out["usb_error"] = inv.usb_error;
            out["readers"] = nlohmann::json::array();
            out["usb_devices"] = nlohmann::json::array();
            for (const auto& row : inv.rows) {
                out["readers"].push_back(row_json(row));
                if (row.usb && (!row.pcsc || row.slot.value_or(0) == 0))
                    out["usb_devices"].push_back(to_json(*row.usb));
            }
            fmt::print("{}\n", out.dump(2));
        } else {
            print_text(inv);
        }
        context.exit_code = exit_code::ok;
    });
}

} // namespace harness::cli

namespace harness::cli {

DescribeInput describe_pcsc_reader(const std::string& name) {
    const auto inv = inventory::join(gather_inventory_sources());
    if (!inv.pcsc_available)
        throw EnvironmentError("PC/SC not available: " + inv.pcsc_error);
    std::vector<const model::InventoryRow*> matches;
    std::string names;
    for (const auto& row : inv.rows) {
        if (!row.pcsc)
            continue;
        names += "\n  " + row.pcsc->name;
        if (row.pcsc->name == name) {
            matches = {&row};
            break;
        }
        if (row.pcsc->name.find(name) != std::string::npos)
            matches.push_back(&row);
    }
    if (matches.size() != 1)
        throw UsageError(fmt::format("--reader \"{}\" matches {} readers; the readers are:{}", name,
                                     matches.size(), names.empty() ? " (none)" : names));
    const auto& row = *matches.front();
    if (!row.usb)
        throw EnvironmentError("reader \"" + row.pcsc->name +
                               "\" has no USB view (no libusb device joined to it), so its CCID "
                               "descriptor is unknown");
    auto input = describe_usb_device(*row.usb);
    input.source = "reader " + row.pcsc->name;
    return input;
}

} // namespace harness::cli
