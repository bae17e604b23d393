"""`loglens monit`, the terminal dashboard (Textual): services, live logs, incidents and patterns
of a store or of the daemon holding it (docs/tui.md)."""

from loglens.tui.app import MonitApp, run_monit

__all__ = ["MonitApp", "run_monit"]
