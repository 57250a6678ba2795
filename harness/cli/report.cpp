// cardharness report: the compatibility matrix and per-reader evidence from the results
// database as HTML, CSV, Markdown, JSON or JUnit XML.
#include "services/report/report.hpp"

#include "backends/host/host.hpp"
#include "cli/commands.hpp"
#include "cli/lang.hpp"
#include "cli/report_source.hpp"
#include "cli/report_sources.hpp"
#include "cli/report_survey.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "services/report/certificate.hpp"
#include "services/store/store.hpp"

#include <ctime>
#include <fmt/core.h>
#include <memory>

namespace harness::cli {
namespace {

struct ReportOptions {
    std::string format = "html";
    std::string lang;
    std::string view = "public";
    std::string out;
    std::vector<std::string> dbs; // empty: the default database
    std::string station;
    bool latest = false;
    std::string run;
    bool include_survey = false;
    std::string usb;      // --view certificate: VID:PID
    std::string firmware; // --view certificate: bcdDevice
};

// The runs the options select (--db, --station, --latest or --run, --include-survey) as the one
// report model, with a warning on stderr for runs that did not finish.
report::ReportModel selected_model(const ReportOptions& o) {
    const auto selection = !o.run.empty() ? report::Selection::Run
                           : o.latest     ? report::Selection::Latest
                                          : report::Selection::Newest;
    ReportSources sources{o.dbs, o.station, o.include_survey};
    if (sources.dbs.empty())
        sources.dbs.push_back(io::paths::default_database().string());
    auto model = report_from_sources(sources, selection, o.run);
    warn_incomplete_runs(model, sources_label(sources));
    return model;
}

// `--view survey`: the driver-level survey's own page (HTML, CSV or JSON).
int survey_view_command(const ReportOptions& o) {
    if (o.dbs.size() > 1 || !o.station.empty() ||
        (o.dbs.size() == 1 && o.dbs[0].find("://") != std::string::npos))
        throw UsageError("--view survey reads one station database: give one --db FILE");
    if (o.format != "html" && o.format != "csv" && o.format != "json")
        throw UsageError("--view survey: --format must be html, csv or json");
    if (o.latest || !o.run.empty())
        throw UsageError("--view survey shows every surveyed interface: no --latest or --run");
    const auto lang = o.lang.empty() ? report::Lang::Ja : *report::lang_from(o.lang);
    const auto model =
        survey_report_from_db(o.dbs.empty() ? io::paths::default_database().string() : o.dbs[0],
                              host::installed_package_version("libccid").value_or(""));
    const std::string text = o.format == "html"  ? report::render_survey_html(model, lang)
                             : o.format == "csv" ? report::render_survey_csv(model, lang)
                                                 : report::render_survey_json(model);
    std::string out = o.out;
    if (out.empty())
        out = o.format == "html" ? "reports/out/survey.html" : "-";
    write_output(out, text);
    if (out != "-")
        fmt::print("{}\n", out);
    return exit_code::ok;
}

// `--view certificate --usb VID:PID [--firmware BCD]`: one reader identity on an A4 page.
int certificate_command(const ReportOptions& o) {
    if (o.format != "html")
        throw UsageError("--view certificate: the certificate is HTML (no --format " + o.format +
                         ")");
    if (o.usb.empty())
        throw UsageError("--view certificate needs --usb VID:PID (and --firmware BCD when the "
                         "database has several firmware versions of it)");
    if (o.latest && !o.run.empty())
        throw UsageError("--latest and --run exclude each other");
    const auto query = report::parse_reader_query(o.usb, o.firmware);
    // Vendors read certificates in both languages; the locale decides, Japanese by default.
    const auto lang = report::lang_from(resolve_lang(o.lang, "ja"));
    if (!lang)
        throw UsageError("--lang must be ja or en");
    const auto model = selected_model(o);
    const auto readers = report::certificate_readers(model, query);
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char today[16];
    std::strftime(today, sizeof today, "%Y-%m-%d", &tm);
    const std::string text =
        report::render_certificate_html(model, readers, *lang, {today, CARDHARNESS_VERSION});
    std::string out = o.out;
    if (out.empty())
        out = fmt::format("reports/out/certificate-{:04X}-{:04X}{}.html", query.vid, query.pid,
                          readers.front()->bcd_device
                              ? fmt::format("-{:04X}", *readers.front()->bcd_device)
                              : std::string());
    write_output(out, text);
    if (out != "-")
        fmt::print("{}\n", out);
    return exit_code::ok;
}

int report_command(const ReportOptions& o) {
    if (o.view == "survey")
        return survey_view_command(o);
    if (o.view == "certificate")
        return certificate_command(o);
    if (!o.usb.empty() || !o.firmware.empty())
        throw UsageError("--usb and --firmware go with --view certificate");
    const auto view = report::view_from(o.view);
    if (!view)
        throw UsageError("--view must be public or technical");
    // Public pages are for Japanese municipalities; technical reports go to vendors and QA.
    const auto lang =
        report::lang_from(resolve_lang(o.lang, *view == report::View::Public ? "ja" : "en"));
    if (!lang)
        throw UsageError("--lang must be ja or en");
    if (o.latest && !o.run.empty())
        throw UsageError("--latest and --run exclude each other");
    const auto model = selected_model(o);

    std::string text;
    std::string ext;
    if (o.format == "html") {
        text = report::render_html(model, *lang, *view);
        ext = "html";
    } else if (o.format == "csv") {
        text = report::render_csv(model, *lang);
    } else if (o.format == "md") {
        text = report::render_markdown(model, *lang);
    } else if (o.format == "json") {
        text = report::render_json(model);
    } else if (o.format == "junit") {
        text = report::render_junit(model, *lang);
    } else {
        throw UsageError("--format must be html, csv, md, json or junit");
    }
    std::string out = o.out;
    if (out.empty())
        out = ext == "html" ? "reports/out/report.html" : "-";
    write_output(out, text);
    if (out != "-")
        fmt::print("{}\n", out);
    return exit_code::ok;
}

} // namespace

void add_report_command(CLI::App& app, Context& context) {
    auto options = std::make_shared<ReportOptions>();
    auto* cmd = app.add_subcommand(
        "report", "Compatibility report (matrix, per-reader evidence) from the results database");
    cmd->add_option("--format", options->format, "html (default), csv, md, json or junit")
        ->check(CLI::IsMember({"html", "csv", "md", "json", "junit"}));
    add_lang_option(cmd, options->lang, "Report language",
                    "ja for the public view, en for the technical view");
    cmd->add_option(
           "--view", options->view,
           "public (default), technical (HTML), or survey (the driver-level survey of "
           "`cardharness survey`: html, csv or json), or certificate (one reader on an A4 page: "
           "--usb VID:PID [--firmware BCD])")
        ->check(CLI::IsMember({"public", "technical", "survey", "certificate"}));
    cmd->add_option(
        "--out", options->out,
        "Output file, - for stdout (default: stdout; reports/out/report.html for html)");
    cmd->add_option("--db", options->dbs,
                    "Results database (default " + io::paths::default_database().string() +
                        "), or a central server postgresql://ROLE@HOST/DB (password from "
                        "~/.pgpass or PGPASSFILE); give it several times to report over the "
                        "union of their runs")
        ->take_all()
        ->expected(1);
    cmd->add_option("--station", options->station,
                    "Only this station's runs from a central server");
    cmd->add_flag("--latest", options->latest,
                  "Only the newest run per reader identity and card type");
    cmd->add_option("--run", options->run, "Only this run (UUID or unique prefix)");
    cmd->add_option("--usb", options->usb,
                    "--view certificate: the reader's USB VID:PID (hex, e.g. 072F:B100)");
    cmd->add_option("--firmware", options->firmware,
                    "--view certificate: the reader's firmware (bcdDevice) as reports show it "
                    "(1.02) or as hex (0102); needed when the database has several");
    cmd->add_flag("--include-survey", options->include_survey,
                  "Also count driver-level survey runs (`cardharness survey`) in the public and "
                  "technical views (default: observed runs only)");
    cmd->callback([options, &context] { context.exit_code = report_command(*options); });
}

} // namespace harness::cli
