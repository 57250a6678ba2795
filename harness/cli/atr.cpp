#include "pure/atr.hpp"

#include "cli/commands.hpp"
#include "cli/json_common.hpp"
#include "pure/bytes.hpp"
#include "pure/error.hpp"

#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace harness::cli {
namespace {

using Json = nlohmann::ordered_json;

struct AtrOptions {
    std::vector<std::string> hex;
    bool json = false;
    std::string list;
    bool no_list = false;
};

// pcsc-tools' installed list; ATR_analysis looks in the same places.
std::vector<std::string> default_lists() {
    return {"/usr/share/pcsc/smartcard_list.txt", "/usr/local/share/pcsc/smartcard_list.txt",
            "/usr/local/pcsc/smartcard_list.txt"};
}

std::vector<std::string> names_for(const AtrOptions& o, ByteView atr) {
    if (o.no_list)
        return {};
    std::string path = o.list;
    if (path.empty()) {
        for (const auto& candidate : default_lists())
            if (std::filesystem::exists(candidate)) {
                path = candidate;
                break;
            }
        if (path.empty())
            return {};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError(fmt::format("{}: cannot read the ATR list", path));
    std::ostringstream text;
    text << in.rdbuf();
    return atr::lookup(atr::parse_list(text.str()), atr);
}

Json opt_hex(const std::optional<Bytes>& b) {
    return b ? Json(hex::format(*b)) : Json(nullptr);
}

Json capabilities_json(const atr::CardCapabilities& c) {
    Json j;
    j["selection_methods"] =
        c.selection_methods ? Json(hex::format_byte(*c.selection_methods)) : Json(nullptr);
    j["df_by_full_name"] = c.df_by_full_name;
    j["df_by_partial_name"] = c.df_by_partial_name;
    j["df_by_path"] = c.df_by_path;
    j["df_by_file_id"] = c.df_by_file_id;
    j["df_implicit"] = c.df_implicit;
    j["short_ef_id"] = c.short_ef_id;
    j["record_number"] = c.record_number;
    j["record_identifier"] = c.record_identifier;
    j["data_coding"] = c.data_coding ? Json(hex::format_byte(*c.data_coding)) : Json(nullptr);
    if (c.data_coding) {
        j["tlv_efs"] = c.tlv_efs;
        j["write_behaviour"] = c.write_behaviour;
        j["ff_tag_valid"] = c.ff_tag_valid;
        j["data_unit_quartets"] = c.data_unit_quartets;
    }
    j["third_byte"] = c.third ? Json(hex::format_byte(*c.third)) : Json(nullptr);
    j["command_chaining"] = c.command_chaining;
    j["extended_lc_le"] = c.extended_lc_le;
    if (c.third) {
        j["extended_length_info_in_ef"] = c.extended_length_info_in_ef;
        j["logical_channel_assignment"] = c.logical_channel_assignment;
        j["max_logical_channels"] = c.max_logical_channels;
    }
    return j;
}

Json historical_json(const atr::Historical& h) {
    Json j;
    j["category"] = h.category ? Json(hex::format_byte(*h.category)) : Json(nullptr);
    j["format"] = h.format;
    Json objects = Json::array();
    for (const auto& o : h.objects)
        objects.push_back(Json{{"tag", hex::format_byte(o.header)},
                               {"name", o.name},
                               {"value", hex::format(o.value)}});
    j["objects"] = objects;
    j["country_code"] = opt_hex(h.country);
    j["issuer_identification"] = opt_hex(h.issuer);
    j["application_identifier"] = opt_hex(h.aid);
    j["initial_access_data"] = opt_hex(h.initial_access);
    j["card_issuer_data"] = opt_hex(h.card_issuer_data);
    j["pre_issuing_data"] = opt_hex(h.pre_issuing);
    if (h.card_service) {
        const auto& s = *h.card_service;
        j["card_service_data"] =
            Json{{"raw", hex::format_byte(s.raw)},
                 {"selection_by_full_df_name", s.selection_by_full_df_name},
                 {"selection_by_partial_df_name", s.selection_by_partial_df_name},
                 {"data_objects_in_ef_dir", s.data_objects_in_ef_dir},
                 {"data_objects_in_ef_atr", s.data_objects_in_ef_atr},
                 {"ef_dir_access", s.ef_dir_access},
                 {"has_mf", s.has_mf}};
    } else {
        j["card_service_data"] = nullptr;
    }
    j["card_capabilities"] = h.capabilities ? capabilities_json(*h.capabilities) : Json(nullptr);
    if (h.status)
        j["status"] =
            Json{{"lcs", h.status->lcs ? Json(hex::format_byte(*h.status->lcs)) : Json(nullptr)},
                 {"sw", h.status->sw ? Json(fmt::format("{:04X}", *h.status->sw)) : Json(nullptr)}};
    else
        j["status"] = nullptr;
    j["dir_data_reference"] =
        h.dir_data_reference ? Json(hex::format_byte(*h.dir_data_reference)) : Json(nullptr);
    return j;
}

Json contactless_json(const atr::Contactless& c) {
    Json j;
    j["type"] = c.type;
    if (c.type == "B") {
        j["application_data"] = hex::format(c.application_data);
        j["protocol_info"] = hex::format(c.protocol_info);
        j["bit_rates"] = c.bit_rates;
        j["bit_rates_picc_to_pcd"] = c.bit_rates_picc_to_pcd;
        j["bit_rates_pcd_to_picc"] = c.bit_rates_pcd_to_picc;
        j["same_bit_rate_both_directions"] = c.same_bit_rate_both_directions;
        j["max_frame_size"] = c.max_frame_size;
        j["fsci"] = c.fsci;
        j["protocol_type"] = c.protocol_type;
        j["iso14443_4"] = c.iso14443_4;
        j["fwi"] = c.fwi;
        j["fwt_us"] = c.fwt_us;
        j["adc"] = c.adc;
        j["nad_supported"] = c.nad_supported;
        j["cid_supported"] = c.cid_supported;
        j["mbli"] = c.mbli;
    } else if (c.rid) {
        j["rid"] = hex::format(*c.rid);
        j["standard"] = hex::format_byte(*c.standard);
        j["standard_name"] = c.standard_name;
        j["card_name_code"] = fmt::format("{:04X}", *c.card_name_code);
        j["card_name"] = c.card_name;
    }
    return j;
}

Json to_json(const atr::Atr& a, const std::vector<std::string>& names) {
    Json j;
    j["atr"] = hex::format(a.raw);
    j["ts"] = hex::format_byte(a.ts);
    j["convention"] = atr::to_string(a.convention);
    j["t0"] = hex::format_byte(a.t0);
    j["k"] = a.k;
    Json ib = Json::array();
    for (const auto& b : a.interface_bytes)
        ib.push_back(Json{{"name", b.name},
                          {"value", hex::format_byte(b.value)},
                          {"protocol", b.protocol < 0 ? Json(nullptr) : Json(b.protocol)},
                          {"meaning", b.meaning}});
    j["interface_bytes"] = ib;
    j["protocols"] = a.protocols;
    j["t15_present"] = a.t15_present;
    j["ta1_present"] = a.ta1_present;
    j["fi"] = a.fi == 0 ? Json(nullptr) : Json(a.fi);
    j["di"] = a.di == 0 ? Json(nullptr) : Json(a.di);
    j["f_max_mhz"] = a.f_max_mhz == 0 ? Json(nullptr) : Json(a.f_max_mhz);
    j["extra_guard_time"] = a.extra_guard_time;
    j["specific_mode"] = a.specific_mode
                             ? Json{{"protocol", a.specific_mode->protocol},
                                    {"can_change", a.specific_mode->can_change},
                                    {"implicit_parameters", a.specific_mode->implicit_parameters}}
                             : Json(nullptr);
    j["wi"] = a.wi;
    j["t1"] = Json{{"ifsc", a.ifsc},
                   {"bwi", a.bwi},
                   {"cwi", a.cwi},
                   {"error_detection", a.crc ? "crc" : "lrc"}};
    if (a.clock_and_class) {
        const auto& c = *a.clock_and_class;
        Json classes = Json::array();
        for (auto [on, name] :
             {std::pair{c.class_a, "A"}, std::pair{c.class_b, "B"}, std::pair{c.class_c, "C"}})
            if (on)
                classes.push_back(name);
        j["clock_stop"] = c.clock_stop;
        j["classes"] = classes;
    } else {
        j["clock_stop"] = nullptr;
        j["classes"] = nullptr;
    }
    j["tck_required"] = a.tck_required;
    j["tck_present"] = a.tck_present;
    j["tck_valid"] = a.tck_valid;
    j["tck"] = a.tck_present ? Json(hex::format_byte(a.tck)) : Json(nullptr);
    j["historical_bytes"] = hex::format(a.historical_bytes);
    j["historical"] = historical_json(a.historical);
    j["contactless"] = a.contactless ? contactless_json(*a.contactless) : Json(nullptr);
    j["findings"] = findings_json<Json>(a.findings);
    j["names"] = names;
    return j;
}

std::string yes(bool b) {
    return b ? "yes" : "no";
}

void print_text(const atr::Atr& a, const std::vector<std::string>& names) {
    fmt::print("ATR: {}\n", hex::format(a.raw));
    fmt::print("+ TS = {:02X} --> {} convention\n", a.ts, atr::to_string(a.convention));
    if (a.raw.size() >= 2)
        fmt::print("+ T0 = {:02X}, Y(1): {:04b}, K: {} (historical bytes)\n", a.t0, a.y1, a.k);
    int index = 1;
    for (const auto& b : a.interface_bytes) {
        if (b.index != index) {
            fmt::print("  -----\n");
            index = b.index;
        }
        fmt::print("  {}({}) = {:02X} --> {}\n", std::string("T") + b.letter, b.index, b.value,
                   b.meaning);
    }
    std::string protocols;
    for (int t : a.protocols)
        protocols += fmt::format("{}T={}", protocols.empty() ? "" : ", ", t);
    fmt::print("+ Protocols: {}{}\n", protocols, a.t15_present ? " (+ T=15 global bytes)" : "");
    fmt::print("+ Fi={}, Di={}, f(max) {} MHz{}\n", a.fi ? std::to_string(a.fi) : "RFU",
               a.di ? std::to_string(a.di) : "RFU",
               a.f_max_mhz > 0 ? fmt::format("{:g}", a.f_max_mhz) : "RFU",
               a.ta1_present ? "" : " (defaults, no TA1)");
    if (std::find(a.protocols.begin(), a.protocols.end(), 1) != a.protocols.end())
        fmt::print("+ T=1: IFSC {}, BWI {}, CWI {}, {}\n", a.ifsc, a.bwi, a.cwi,
                   a.crc ? "CRC" : "LRC");
    fmt::print("+ Historical bytes: {}\n",
               a.historical_bytes.empty() ? "(none)" : hex::format(a.historical_bytes));
    const auto& h = a.historical;
    if (h.category)
        fmt::print("  Category indicator byte: {:02X} ({})\n", *h.category, h.format);
    for (const auto& o : h.objects)
        fmt::print("    Tag {:X}, len {} ({}): {}\n", o.tag, o.value.size(), o.name,
                   hex::format(o.value));
    if (h.card_service) {
        const auto& s = *h.card_service;
        fmt::print("      card service: selection by full DF name {}, by partial DF name {}, "
                   "EF.DIR access {}, MF {}\n",
                   yes(s.selection_by_full_df_name), yes(s.selection_by_partial_df_name),
                   s.ef_dir_access, yes(s.has_mf));
    }
    if (h.capabilities) {
        const auto& c = *h.capabilities;
        fmt::print("      card capabilities: DF by full name {}, by partial name {}, short EF "
                   "id {}, record number {}\n",
                   yes(c.df_by_full_name), yes(c.df_by_partial_name), yes(c.short_ef_id),
                   yes(c.record_number));
        if (c.third)
            fmt::print("      command chaining {}, extended Lc/Le {}, logical channels: {} "
                       "(max {})\n",
                       yes(c.command_chaining), yes(c.extended_lc_le), c.logical_channel_assignment,
                       c.max_logical_channels);
    }
    if (h.status)
        fmt::print("    Status indicator: LCS {}, SW {}\n",
                   h.status->lcs ? hex::format_byte(*h.status->lcs) : "-",
                   h.status->sw ? fmt::format("{:04X}", *h.status->sw) : "-");
    if (a.contactless) {
        const auto& c = *a.contactless;
        fmt::print("+ Contactless (PC/SC part 3 pseudo-ATR): Type {}\n", c.type);
        if (c.type == "B") {
            std::string rates;
            for (int r : c.bit_rates)
                rates += fmt::format("{}{}", rates.empty() ? "" : "/", r);
            fmt::print("    ATQB application data {}, protocol info {}\n",
                       hex::format(c.application_data), hex::format(c.protocol_info));
            fmt::print("    bit rates both ways: {} kbit/s{}; max frame {} bytes; ISO 14443-4 "
                       "{}\n",
                       rates, c.same_bit_rate_both_directions ? " (same rate both ways)" : "",
                       c.max_frame_size, yes(c.iso14443_4));
            fmt::print("    FWI {} (FWT {:.1f} ms), ADC {}, NAD {}, CID {}, MBLI {}\n", c.fwi,
                       c.fwt_us / 1000.0, c.adc, yes(c.nad_supported), yes(c.cid_supported),
                       c.mbli);
        } else if (c.rid) {
            fmt::print("    storage card: RID {}, standard {:02X} ({}), card {:04X} ({})\n",
                       hex::format(*c.rid), *c.standard, c.standard_name, *c.card_name_code,
                       c.card_name);
        }
    }
    if (a.tck_present)
        fmt::print("+ TCK = {:02X} ({})\n", a.tck, a.tck_valid ? "correct checksum" : "WRONG");
    else
        fmt::print("+ TCK absent{}\n", a.tck_required ? " (required!)" : "");
    for (const auto& f : a.findings)
        fmt::print("! {}: {} [{}]\n", to_string(f.severity), f.message, f.code);
    if (!names.empty()) {
        fmt::print("Possibly identified card:\n");
        for (const auto& n : names)
            fmt::print("\t{}\n", n);
    }
}

} // namespace

void add_atr_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<AtrOptions>();
    auto* cmd = app.add_subcommand("atr", "Decode an ATR (ISO 7816-3, PC/SC part 3 pseudo-ATRs)");
    cmd->add_option("hex", options->hex, "the ATR in hex (spaces, colons or packed)")->required();
    cmd->add_flag("--json", options->json, "print JSON");
    cmd->add_option("--list", options->list,
                    "pcsc-tools ATR list to name the card (default: the installed "
                    "smartcard_list.txt)");
    cmd->add_flag("--no-list", options->no_list, "do not look the ATR up in a list");
    cmd->callback([options, &context] {
        std::string joined;
        for (const auto& part : options->hex)
            joined += (joined.empty() ? "" : " ") + part;
        const Bytes bytes = hex::parse_or_throw(joined);
        if (bytes.empty())
            throw UsageError("expected an ATR in hex, got nothing");
        const atr::Atr decoded = atr::decode(bytes);
        const auto names = names_for(*options, bytes);
        if (options->json)
            fmt::print("{}\n", to_json(decoded, names).dump(2));
        else
            print_text(decoded, names);
        context.exit_code = exit_code::ok;
    });
}

} // namespace harness::cli
