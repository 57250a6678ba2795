#pragma once
// Helpers the report renderers share (internal to services/report).
#include "services/report/report.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

std::string suite_versions(const std::vector<model::SuiteRef>& suites); // "id@hash12 …"
std::string date_of(const std::string& iso);                            // "YYYY-MM-DD"
std::vector<Cell> matrix_cells(const ReaderRow& row); // the four columns (untested filled) + others
std::string xml_escape(std::string_view value);       // also fine for HTML text and attributes
std::string reader_title(const ReaderRow& row);       // "Maker Model (VID:PID fw 1.02)"
const std::string& step_title(Lang lang, const model::StepResult& step);
const std::string& step_reason(Lang lang, const model::StepResult& step);
// The stations a reader row's tested cells came from, sorted and distinct ("lab-a, lab-b"); the
// row's own station when no cell names one; empty when unknown.
std::string row_stations(const ReaderRow& row);

} // namespace harness::report
