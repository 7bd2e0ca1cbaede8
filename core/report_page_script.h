// The JavaScript of an HTML report (core/report_html.h), kept apart from the
// C++ that writes the page: the error hooks that run before anything else,
// and the script that turns the plots' JSON (core/report_plots.h) into
// Chart.js charts and records the marks each one laid out.
#pragma once

namespace qlab {

// Counts script errors (window errors, rejected promises, console.error) into
// #qlab-status, shown when there are any. Runs first, before the library.
extern const char* const kReportErrorHooks;
// Draws every plot of #qlab-plots into #plots, then sets #qlab-status's
// data-state to "done".
extern const char* const kReportPlotScript;

}  // namespace qlab
