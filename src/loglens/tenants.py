"""Tenant names: who a record belongs to when one loglens serves several teams or customers.

A record's `tenant` is '' (no tenant: the operator's own logs) or a name made of lower-case letters,
digits, `_`, `.` and `-`, starting with a letter or digit, at most 63 characters — what Loki's
`X-Scope-OrgID` usually holds, and safe in any header, path, file name or SQL literal.
"""

from __future__ import annotations

import re

from loglens.errors import ConfigError

TENANT_HEADER = "X-Loglens-Tenant"
LOKI_TENANT_HEADER = "X-Scope-OrgID"
"""Loki's tenant header, taken as an alias so that Promtail, Alloy and Grafana work unchanged."""
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
TENANT_RULE = "a-z, 0-9, _ . - (starting with a letter or digit, at most 63 characters)"


def is_tenant_name(text: str) -> bool:
    """True when `text` is a valid tenant name (the empty string is not: it means no tenant)."""
    return TENANT_NAME.fullmatch(text) is not None


def config_tenant(value: object, here: str) -> str:
    """A `tenant = "…"` setting of loglens.toml, checked (`here` names the entry in the error)."""
    if not isinstance(value, str) or not is_tenant_name(value):
        raise ConfigError(f"{here}: tenant must be a name of {TENANT_RULE}, not {value!r}")
    return value
