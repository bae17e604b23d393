"""What a request may see: one tenant's records, or, in the operator's view, every tenant's.

`auth.request_tenant` settles a request's tenant (its token's, or the one its header names); the
`Scope` dependency turns it into the store the handler reads — a `TenantStore` that ANDs `tenant = ?`
into every query, or the whole store for the operator. Handlers read through `scope.store` and never
see the tenant; routes that span every tenant whatever they are asked (raw SQL, host metrics, alerts,
Prometheus figures, shared notes) take `operator_only` and answer a tenant 403 saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from loglens.analysis.findings import replay_range
from loglens.analysis.watch import Replay
from loglens.server.auth import request_tenant
from loglens.store.base import Store
from loglens.store.tenant_view import TenantStore
from loglens.tenants import is_tenant_name

if TYPE_CHECKING:
    from loglens.daemon import Daemon


@dataclass(frozen=True, slots=True)
class Scope:
    """A request's reach: its tenant (None: the operator's view of every tenant) and the store as
    that tenant sees it."""

    tenant: str | None
    store: Store

    @property
    def sql_predicate(self) -> str:
        """The scope as a literal SQL condition on `records`, for the few statements run through
        `Store.sql`, which takes no parameters. Safe as a literal: tenant names are checked to hold
        only a-z, 0-9, `_`, `.` and `-` before a request gets this far."""
        if self.tenant is None:
            return "TRUE"
        if not is_tenant_name(self.tenant):  # never, but a literal is only built from a checked name
            raise ValueError(f"not a tenant name: {self.tenant!r}")
        return f"tenant = '{self.tenant}'"


def scope_of(daemon: Daemon, tenant: str | None) -> Scope:
    """The scope of a request of `tenant` on `daemon`'s store."""
    return Scope(tenant, daemon.store if tenant is None else TenantStore(daemon.store, tenant))


def replay_scoped(daemon: Daemon, scope: Scope, since: str | None, until: str | None) -> Replay:
    """The detectors over the scope's stored range, as `loglens incidents` runs them (shared by
    concurrent requests of the same scope for the same range until the next commit). A tenant's
    findings come from its own records alone, never from the live watch over every tenant's."""
    key = (scope.tenant, since, until, daemon.writer.commits)
    return daemon.replays.get(key, lambda: replay_range(scope.store, daemon.config, since, until))


def request_scope(connection: HTTPConnection) -> Scope:
    """A FastAPI dependency: the request's scope (400/403 when its tenant cannot be granted)."""
    return scope_of(connection.app.state.daemon, request_tenant(connection))


RequestScope = Annotated[Scope, Depends(request_scope)]
"""A handler parameter: `scope: RequestScope`."""


def operator_only(connection: HTTPConnection) -> None:
    """A FastAPI dependency for routes that span every tenant: 403 for a tenant's request."""
    tenant = request_tenant(connection)
    if tenant is not None:
        raise HTTPException(
            403,
            f"{connection.url.path} spans every tenant's records: only the operator's view (a token "
            f"without a tenant, and no tenant header) may use it, not the tenant {tenant!r}",
        )
