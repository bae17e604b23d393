"""Sources: where raw bytes come from (files, stdin; later journald, syslog, HTTP)."""
