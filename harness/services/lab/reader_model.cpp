#include "services/lab/reader_model.hpp"

#include "io/csv.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/core.h>
#include <fstream>
#include <set>
#include <sstream>

namespace harness::lab {

const char* to_string(Interface interface) {
    switch (interface) {
    case Interface::Contact:
        return "contact";
    case Interface::TypeA:
        return "type_a";
    case Interface::TypeB:
        return "type_b";
    }
    return "contact";
}

std::optional<Interface> interface_from_string(std::string_view name) {
    for (Interface i : {Interface::Contact, Interface::TypeA, Interface::TypeB})
        if (name == to_string(i))
            return i;
    return std::nullopt;
}

const char* to_string(Exchange exchange) {
    switch (exchange) {
    case Exchange::Tpdu:
        return "tpdu";
    case Exchange::ShortApdu:
        return "short_apdu";
    case Exchange::ExtendedApdu:
        return "extended_apdu";
    }
    return "tpdu";
}

const char* to_string(Pps pps) {
    switch (pps) {
    case Pps::Automatic:
        return "auto";
    case Pps::Driver:
        return "driver";
    case Pps::None:
        return "none";
    }
    return "driver";
}

const char* to_string(LeZero le_zero) {
    return le_zero == LeZero::Pass ? "pass" : "reject";
}

bool ReaderModel::supports(Interface interface) const {
    switch (interface) {
    case Interface::Contact:
        return contact;
    case Interface::TypeA:
        return type_a;
    case Interface::TypeB:
        return type_b;
    }
    return false;
}

std::size_t ReaderModel::max_block() const {
    return max_message_length > ccid::message_header_length
               ? std::size_t{max_message_length - ccid::message_header_length}
               : 0;
}

std::uint32_t ReaderModel::ccid_features() const {
    // CCID §5.1 dwFeatures: automatic ATR parameters, activation, voltage, clock, baud, IFSD.
    std::uint32_t features = ccid::feature::auto_config_atr | ccid::feature::auto_activation |
                             ccid::feature::auto_voltage | ccid::feature::auto_clock |
                             ccid::feature::auto_baud;
    if (pps == Pps::Automatic)
        features |= ccid::feature::auto_pps;
    if (exchange == Exchange::Tpdu)
        features |= ccid::feature::auto_ifsd;
    switch (exchange) {
    case Exchange::Tpdu:
        features |= 0x00010000U;
        break;
    case Exchange::ShortApdu:
        features |= 0x00020000U;
        break;
    case Exchange::ExtendedApdu:
        features |= 0x00040000U;
        break;
    }
    return features;
}

ccid::Descriptor ReaderModel::ccid_descriptor() const {
    if (dump && dump->descriptor)
        return *dump->descriptor; // a real reader's descriptor, exactly
    ccid::Descriptor d;
    d.protocols = (t0 ? 0x1U : 0U) | (t1 ? 0x2U : 0U);
    d.features = ccid_features();
    d.max_message_length = max_message_length;
    d.max_ifsd = 254;
    // pps=none keeps the usual dwMaxDataRate: like the old readers it stands for, the descriptor
    // promises faster rates and the firmware fails the PPS (a descriptor that offered only the
    // default rate would make the CCID driver stay at it, and the card would work).
    return d;
}

std::uint32_t ReaderModel::max_apdu_data_size() const {
    return exchange == Exchange::ShortApdu ? 0U : 65536U;
}

std::string ReaderModel::interfaces_text() const {
    std::string out;
    for (Interface i : {Interface::Contact, Interface::TypeA, Interface::TypeB})
        if (supports(i))
            out += (out.empty() ? "" : "+") + std::string(to_string(i));
    return out;
}

namespace {

constexpr std::string_view columns[] = {
    "id",         "manufacturer",        "product",   "vendor_id",
    "product_id", "bcd_device",          "serial",    "interfaces",
    "exchange",   "max_message_length",  "protocols", "pps",
    "le_zero",    "chain_corrupt_above", "wtx",       "timeout_ms",
    "latency_us", "flaky_every",         "notes",     "status"};
// The optional last column (a file without it has no dump models).
constexpr std::string_view columns_with_dump[] = {"id",
                                                  "manufacturer",
                                                  "product",
                                                  "vendor_id",
                                                  "product_id",
                                                  "bcd_device",
                                                  "serial",
                                                  "interfaces",
                                                  "exchange",
                                                  "max_message_length",
                                                  "protocols",
                                                  "pps",
                                                  "le_zero",
                                                  "chain_corrupt_above",
                                                  "wtx",
                                                  "timeout_ms",
                                                  "latency_us",
                                                  "flaky_every",
                                                  "notes",
                                                  "status",
                                                  "descriptor_dump"};

bool has_dump_column(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
        if (io::csv::is_comment_or_blank(line))
            continue;
        return line.find("descriptor_dump") != std::string::npos; // the header line
    }
    return false;
}

template <typename T>
std::optional<T> number(std::string_view text) {
    T value{};
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
        base = 16;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

std::vector<std::string> split_plus(const std::string& text) {
    std::vector<std::string> out;
    std::string cell;
    for (char c : text) {
        if (c == '+') {
            out.push_back(cell);
            cell.clear();
        } else
            cell += c;
    }
    out.push_back(cell);
    return out;
}

// The descriptor_dump cell: a CCID driver `parse` dump (absolute, or relative to the CSV file's
// folder). The model takes the first interface that carries a CCID descriptor.
void load_dump(const io::csv::Table& table, const io::csv::Row& row, std::size_t cell,
               ReaderModel& m) {
    std::filesystem::path file = row.cells[cell];
    if (file.is_relative())
        file = std::filesystem::path(table.file()).parent_path() / file;
    std::ifstream in(file, std::ios::binary);
    if (!in)
        table.fail(row, cell, "a readable CCID driver parse dump (file not found)");
    std::ostringstream text;
    text << in.rdbuf();
    const ccid::Dump dump = ccid::parse_dump(text.str(), file.string()); // ConfigError file:line
    const ccid::DumpBlock* chosen = nullptr;
    for (const auto& block : dump.blocks)
        if (block.descriptor) {
            chosen = &block;
            break;
        }
    if (!chosen)
        table.fail(row, cell, "a dump with a CCID class descriptor");
    const ccid::Descriptor& d = *chosen->descriptor;
    switch (d.exchange_level()) {
    case ccid::ExchangeLevel::Tpdu:
        m.exchange = Exchange::Tpdu;
        break;
    case ccid::ExchangeLevel::ShortApdu:
        m.exchange = Exchange::ShortApdu;
        break;
    case ccid::ExchangeLevel::ExtendedApdu:
        m.exchange = Exchange::ExtendedApdu;
        break;
    default:
        table.fail(row, cell, "a dump of a TPDU, short or extended APDU level reader");
    }
    m.dump = *chosen;
    m.dump_file = row.cells[cell];
    m.usb.vendor_id = chosen->identity.vendor_id;
    m.usb.product_id = chosen->identity.product_id;
    m.usb.bcd_device = chosen->identity.bcd_device;
    m.usb.manufacturer = chosen->identity.manufacturer.value_or("");
    m.usb.product = chosen->identity.product.value_or("");
    m.max_message_length = d.max_message_length;
    m.t0 = d.supports_t0();
    m.t1 = d.supports_t1();
}

ReaderModel parse_row(const io::csv::Table& table, const io::csv::Row& row) {
    enum Col {
        Id,
        Maker,
        Product,
        Vid,
        Pid,
        Bcd,
        Serial,
        Ifaces,
        Exch,
        MaxMsg,
        Protos,
        PpsCol,
        LeZeroCol,
        Chain,
        Wtx,
        Timeout,
        Latency,
        Flaky,
        Notes,
        Status,
        Dump
    };
    std::vector<std::string> c = row.cells; // without a descriptor_dump column: an empty one
    c.resize(std::size(columns_with_dump));
    ReaderModel m;
    m.id = c[Id];
    if (m.id.empty() || m.id.find_first_of(" ,:") != std::string::npos)
        table.fail(row, Id, "a model id without spaces, commas or colons");
    const bool from_dump = !c[Dump].empty();
    if (from_dump) {
        // A real reader's identity and descriptor: the cells the dump decides stay empty.
        for (Col col : {Maker, Product, Vid, Pid, Bcd, Exch, MaxMsg, Protos})
            if (!c[col].empty())
                table.fail(row, col, "an empty cell (descriptor_dump gives this value)");
        load_dump(table, row, Dump, m);
        m.usb.serial = c[Serial].empty()
                           ? fmt::format("LAB{:04X}{:04X}-0001", m.usb.vendor_id, m.usb.product_id)
                           : c[Serial];
    } else {
        m.usb.manufacturer = c[Maker];
        m.usb.product = c[Product];
        if (m.usb.product.rfind("Lab ", 0) != 0)
            table.fail(row, Product,
                       "a product name starting with \"Lab \" (lab readers are fictitious)");
        if (m.usb.manufacturer.empty())
            table.fail(row, Maker, "a manufacturer name");
        const auto u16 = [&](Col col) {
            auto v = number<std::uint16_t>(c[col]);
            if (!v)
                table.fail(row, col, "a 16-bit number (0x1234 or decimal)");
            return *v;
        };
        m.usb.vendor_id = u16(Vid);
        m.usb.product_id = u16(Pid);
        m.usb.bcd_device = u16(Bcd);
        m.usb.serial = c[Serial];
    }
    m.contact = m.type_a = m.type_b = false;
    for (const auto& name : split_plus(c[Ifaces])) {
        const auto i = interface_from_string(name);
        if (!i)
            table.fail(row, Ifaces, "interfaces joined by '+' (contact, type_a, type_b)");
        (*i == Interface::Contact ? m.contact
         : *i == Interface::TypeA ? m.type_a
                                  : m.type_b) = true;
    }
    if (!from_dump) {
        if (c[Exch] == "tpdu")
            m.exchange = Exchange::Tpdu;
        else if (c[Exch] == "short_apdu")
            m.exchange = Exchange::ShortApdu;
        else if (c[Exch] == "extended_apdu")
            m.exchange = Exchange::ExtendedApdu;
        else
            table.fail(row, Exch, "tpdu, short_apdu or extended_apdu");
        const auto max_message = number<std::uint32_t>(c[MaxMsg]);
        if (!max_message || *max_message < 64 || *max_message > 65544)
            table.fail(row, MaxMsg, "dwMaxCCIDMessageLength between 64 and 65544");
        m.max_message_length = *max_message;
        m.t0 = m.t1 = false;
        for (const auto& name : split_plus(c[Protos])) {
            if (name == "t0")
                m.t0 = true;
            else if (name == "t1")
                m.t1 = true;
            else
                table.fail(row, Protos, "protocols joined by '+' (t0, t1)");
        }
    }
    if (from_dump && c[PpsCol].empty())
        m.pps =
            m.ccid_descriptor().has_feature(ccid::feature::auto_pps) ? Pps::Automatic : Pps::Driver;
    else if (c[PpsCol] == "auto")
        m.pps = Pps::Automatic;
    else if (c[PpsCol] == "driver")
        m.pps = Pps::Driver;
    else if (c[PpsCol] == "none")
        m.pps = Pps::None;
    else
        table.fail(row, PpsCol, "auto, driver or none");
    if (c[LeZeroCol] == "pass")
        m.le_zero = LeZero::Pass;
    else if (c[LeZeroCol] == "reject")
        m.le_zero = LeZero::Reject;
    else
        table.fail(row, LeZeroCol, "pass or reject");
    if (!c[Chain].empty()) {
        const auto v = number<std::size_t>(c[Chain]);
        if (!v)
            table.fail(row, Chain, "a byte count or an empty cell");
        m.chain_corrupt_above = *v;
    }
    if (c[Wtx] == "yes")
        m.wtx = true;
    else if (c[Wtx] == "no")
        m.wtx = false;
    else
        table.fail(row, Wtx, "yes or no");
    const auto timeout = number<std::uint32_t>(c[Timeout]);
    if (!timeout || *timeout == 0)
        table.fail(row, Timeout, "a timeout in milliseconds above 0");
    m.timeout = std::chrono::milliseconds(*timeout);
    const auto latency = number<std::uint32_t>(c[Latency]);
    if (!latency)
        table.fail(row, Latency, "a latency in microseconds");
    m.latency = std::chrono::microseconds(*latency);
    const auto flaky = number<std::uint32_t>(c[Flaky]);
    if (!flaky)
        table.fail(row, Flaky, "a count (0 = never)");
    m.flaky_every = *flaky;
    m.notes = c[Notes];
    if (c[Status] != "virtual")
        table.fail(row, Status, "virtual (the lab ships only fictitious readers)");
    if (!m.contact && !m.type_a && !m.type_b)
        table.fail(row, Ifaces, "at least one interface");
    return m;
}

} // namespace

std::vector<ReaderModel> load_reader_models(const std::filesystem::path& file) {
    // descriptor_dump is an optional last column: a file without it has no dump models.
    const io::csv::Options options{.what = "reader model file"};
    const auto table = std::filesystem::is_regular_file(file) && has_dump_column(file)
                           ? io::csv::read(file, columns_with_dump, options)
                           : io::csv::read(file, columns, options);
    std::vector<ReaderModel> models;
    std::set<std::string> ids;
    for (const auto& row : table.rows()) {
        auto model = parse_row(table, row);
        if (!ids.insert(model.id).second)
            table.fail(row, 0, "a model id not used before in this file");
        models.push_back(std::move(model));
    }
    return models;
}

std::vector<ReaderModel> load_reader_model_dir(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir))
        throw ConfigError(dir.string() + ":1:1: expected a directory of reader model CSV files");
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".csv" &&
            entry.path().filename().string().rfind("lab_", 0) == 0)
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<ReaderModel> models;
    for (const auto& file : files)
        for (auto& model : load_reader_models(file)) {
            if (find_model(models, model.id))
                throw ConfigError(
                    fmt::format("{}:1:1: expected unique model ids, \"{}\" is defined twice",
                                file.string(), model.id));
            models.push_back(std::move(model));
        }
    return models;
}

const ReaderModel* find_model(const std::vector<ReaderModel>& models, std::string_view id) {
    for (const auto& m : models)
        if (m.id == id)
            return &m;
    return nullptr;
}

} // namespace harness::lab
