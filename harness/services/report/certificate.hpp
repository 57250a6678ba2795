#pragma once
// The certificate-style page (`report --view certificate --usb VID:PID [--firmware BCD]`): one
// reader identity's results on an A4 page a vendor can print: identity and firmware, cards and
// interfaces, suite versions with content hashes, verdicts with reasons, dates, the station and
// the harness version. A reader of the virtual lab is marked simulated, emulated cards as such.
// Pure: a ReportModel in, HTML out (the issue date and issuing version come in as values).
#include "services/report/report.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

struct ReaderQuery {
    std::uint16_t vid = 0;
    std::uint16_t pid = 0;
    std::optional<std::uint16_t> bcd_device; // any firmware when absent
};

// "072F:B100" (hex, case-insensitive) and an optional firmware: "1.02" as reports show it (bcd
// 0x0102), "0102" or "0x0102". Throws UsageError saying what is wrong.
ReaderQuery parse_reader_query(std::string_view vid_pid, std::string_view firmware);

// The reader rows the query names. Throws UsageError listing what the model has when none
// matches, or when several firmware versions match and no --firmware chose one (exit 2).
std::vector<const ReaderRow*> certificate_readers(const ReportModel& model,
                                                  const ReaderQuery& query);

struct CertificateIssue {
    std::string issued_on;       // "YYYY-MM-DD"
    std::string harness_version; // the cardharness that made the page
};

// One page per reader row (normally one): HTML with print CSS for A4.
std::string render_certificate_html(const ReportModel& model,
                                    const std::vector<const ReaderRow*>& readers, Lang lang,
                                    const CertificateIssue& issue);

} // namespace harness::report
