"""Reports of a query over a time range: `loglens export --format html` and `/api/export?format=html`
(docs/export.md). `gather_report` reads, `render_html` writes one self-contained file."""

from loglens.report.gather import (
    MAX_REPORT_LINES,
    REPORT_LINES,
    Report,
    ReportQuery,
    gather_report,
)
from loglens.report.html import render_html

__all__ = ["MAX_REPORT_LINES", "REPORT_LINES", "Report", "ReportQuery", "gather_report", "render_html"]
