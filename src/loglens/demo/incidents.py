"""The incidents the demo injects, as data, and where in time they are placed.

Four stories, each with a known root cause:

- `causal_chain`: PostgreSQL's locks pile up (statement timeouts, then no connection slots left); a
  minute later inventory's connection pool runs dry (timeouts with `Caused by:` stack traces); 30 s
  after that the API answers 503 for stock routes; 30 s later the edge returns 504/502.
- `oom_kill`: the kernel's OOM killer kills a checkout worker (a kernel report in syslog, systemd
  noting it), gunicorn logs the SIGKILL and boots a new worker, payments are reconciled for minutes.
- `ssh_brute_force`: one address tries passwords against sshd, ~90 lines a minute for four minutes.
- `bad_deploy`: mailer v1.9.0 ships a template bug: most sends fail with a new error until a rollback.

A corpus of two hours or more gets each once, at fixed fractions of its span; a live stream gets one
every `incident_every` seconds, in turn.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Final

from loglens.demo.scenario import Effect, Incident, ScheduledIncident, Template
from loglens.demo.values import compile_text

T = Template
_THREAD: Final = "http-nio-8080-exec-{int:1:40}"

_POOL_TRACE: Final = """\
org.springframework.transaction.CannotCreateTransactionException: Could not open JPA EntityManager for \
transaction
\tat org.springframework.orm.jpa.JpaTransactionManager.doBegin(JpaTransactionManager.java:466)
\tat org.springframework.transaction.support.AbstractPlatformTransactionManager.startTransaction(\
AbstractPlatformTransactionManager.java:531)
\tat org.springframework.transaction.interceptor.TransactionAspectSupport.invokeWithinTransaction(\
TransactionAspectSupport.java:380)
\tat com.shop.inventory.api.StockController.lookup(StockController.java:58)
\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request \
timed out after {int:30000:30020}ms (total=20, active=20, idle=0, waiting={int:8:60})
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)
\tat com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:128)
\t... 68 common frames omitted
Caused by: org.postgresql.util.PSQLException: ERROR: canceling statement due to statement timeout
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2725)
\tat org.postgresql.core.v3.QueryExecutorImpl.processResults(QueryExecutorImpl.java:2412)
\t... 71 common frames omitted"""

_BACKEND: Final = (("pid", "{int:18200:18600}"),)

CAUSAL_CHAIN: Final = Incident(
    kind="causal_chain",
    title="Lock pile-up in PostgreSQL cascades to the storefront",
    description=(
        "postgresql: statement timeouts and lock waits, then no connection slots; inventory (+60 s): "
        "Hikari pool timeouts with stack traces; api (+90 s): 503 on stock routes; edge (+120 s): 504/502"
    ),
    root_cause="postgresql",
    services=("postgresql", "inventory", "api", "edge"),
    effects=(
        Effect("postgresql", "postgresql", 0, 480, per_minute=10, relative=0.4, ramp_s=20,
               template=T("canceling statement due to statement timeout", level="error", source="ERROR",
                          fields=_BACKEND, then=(("0", T("UPDATE stock_levels SET reserved = reserved + $1 "
                                                         "WHERE sku = $2", source="STATEMENT",
                                                         fields=_BACKEND)),))),
        Effect("postgresql", "postgresql", 5, 480, per_minute=8, relative=0.3, ramp_s=20,
               template=T("process {int:18200:18600} still waiting for ShareLock on transaction "
                          "{int:40000000:41000000} after 1000.{int:100:999} ms", source="LOG",
                          fields=_BACKEND)),
        Effect("postgresql", "postgresql", 5, 480, relative=1.0, ramp_s=60,
               template=T("duration: {float:5000:30000:3} ms  execute <unnamed>: SELECT qty, reserved "
                          "FROM stock_levels WHERE sku = $1", source="LOG", fields=_BACKEND)),
        Effect("postgresql", "postgresql", 40, 480, per_minute=6, ramp_s=20,
               template=T("remaining connection slots are reserved for non-replication superuser "
                          "connections", level="critical", source="FATAL", fields=_BACKEND)),
        Effect("inventory", "inventory", 60, 480, share=0.55, match="inventory", ramp_s=20,
               template=T("Stock lookup failed for sku {sku}", level="error", thread=_THREAD,
                          source="c.s.inventory.api.StockController", trace=_POOL_TRACE)),
        Effect("inventory", "inventory", 62, 480, per_minute=6, relative=0.2, ramp_s=20,
               template=T("HikariPool-1 - Connection is not available, request timed out after "
                          "{int:30000:30020}ms.", level="warning", thread=_THREAD,
                          source="com.zaxxer.hikari.pool.HikariPool")),
        Effect("api", "api", 90, 480, share=0.6, match="inventory", ramp_s=20,
               template=T("request failed", level="error",
                          fields=(("status", "{n:503}"), ("latency_ms", "{ms:5000:0.02}"),
                                  ("error", "upstream inventory timed out after 5000ms")))),
        Effect("api", "api", 150, 480, per_minute=3,
               template=T("circuit breaker for inventory is open, failing fast", level="warning",
                          fields=(("upstream", "inventory"),))),
        Effect("edge", "edge", 120, 480, share=0.45, match="inventory", ramp_s=20,
               template=T("", level="error",
                          fields=(("status", "{n:504}"), ("bytes", "{n:167}"), ("rt", "{secs:5000:0.02}")))),
        Effect("edge", "edge", 125, 480, share=0.2, match="inventory", ramp_s=20,
               template=T("", level="error",
                          fields=(("status", "{n:502}"), ("bytes", "{n:157}"), ("rt", "{secs:900}")))),
    ),
)  # fmt: skip

_K: Final = "kernel"
_KILLS: Final = (("victim1", 0.0), ("victim2", 9.0), ("victim3", 19.0))
"""A leak: three workers in a row are killed within 20 s (each report names its own pid)."""


def _oom_report(victim: str) -> tuple[str, ...]:
    """The kernel's OOM report for one killed python3 process (pid bound as `victim`)."""
    return (
        "python3 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, "
        "oom_score_adj=0",
        f"CPU: 1 PID: {{${victim}}} Comm: python3 Not tainted 6.1.0-28-amd64 #1 Debian 6.1.119-1",
        "Hardware name: Amazon EC2 t3.large/, BIOS 1.0 10/16/2017",
        "Call Trace:",
        " <TASK>",
        " dump_stack_lvl+0x44/0x5c",
        " oom_kill_process.cold+0xb/0x10",
        " out_of_memory+0x1ed/0x4e0",
        " </TASK>",
        "Mem-Info:",
        "active_anon:{int:1880000:1895000} inactive_anon:{int:20000:22000} isolated_anon:0",
        "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
        f"task_memcg=/system.slice/checkout.service,task=python3,pid={{${victim}}},uid=998",
        f"Out of memory: Killed process {{${victim}}} (python3) total-vm:{{int:3900000:4200000}}kB, "
        "anon-rss:{int:3700000:3800000}kB, file-rss:0kB, shmem-rss:0kB, UID:998 pgtables:7812kB "
        "oom_score_adj:0",
        f"oom_reaper: reaped process {{${victim}}} (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    )


def _worker_killed(victim: str) -> tuple[tuple[float, Template], ...]:
    """What gunicorn and the app log when a worker is killed: the SIGKILL, the requests it was
    serving, the replacement worker."""
    return (
        (0, T(f"Worker (pid:{{${victim}}}) was sent SIGKILL! Perhaps out of memory?", level="error",
              source="gunicorn.error")),
        *((0.05 + i * 0.03, T("Lost in-flight request POST /api/v1/checkout for cart {hex:12}: "
                              f"worker {{${victim}}} killed", level="error", source="checkout.api"))
          for i in range(3)),
        (1.5, T("Booting worker with pid: {pid}", source="gunicorn.error")),
    )  # fmt: skip


OOM_KILL: Final = Incident(
    kind="oom_kill",
    title="The OOM killer kills checkout workers",
    description=(
        "kernel: three OOM reports and `Killed process` for python3 workers within 20 s; systemd notes "
        "it; checkout: gunicorn logs each SIGKILL, loses in-flight requests, boots workers, reconciles "
        "payments"
    ),
    root_cause="kernel",
    services=("kernel", "systemd", "checkout"),
    let=tuple((name, "{int:20000:39000}") for name, _ in _KILLS),
    effects=(
        Effect("host", "kernel", 0, 19.3,
               sequence=tuple((at + i * 0.02, T(text, level="error", source=_K))
                              for name, at in _KILLS for i, text in enumerate(_oom_report(name)))),
        Effect("host", "systemd", 0.4, 19.5,
               sequence=tuple((at + 0.4, T("checkout.service: A process of this unit has been killed by the "
                                           "OOM killer.", level="warning", source="systemd[1]"))
                              for _, at in _KILLS)),
        Effect("checkout", "checkout", 1.0, 3.0, mute=True, ramp_s=0,
               sequence=tuple((at + offset, t) for name, at in _KILLS for offset, t in _worker_killed(name))),
        Effect("checkout", "checkout", 5, 150, per_minute=12, ramp_s=10,
               template=T("Payment intent {payment} state unknown after worker restart, reconciling",
                          level="warning", source="checkout.payments")),
    ),
)  # fmt: skip

_ATTACK: Final = (("pid", "{pid}"), ("port", "{port}"))

SSH_BRUTE_FORCE: Final = Incident(
    kind="ssh_brute_force",
    title="SSH password brute force from one address",
    description="sshd: ~90 lines a minute of failed passwords and invalid users from one address, 4 min",
    root_cause="sshd",
    services=("sshd",),
    let=(("attacker", "{ip:scan}"),),
    effects=(
        Effect("host", "sshd", 0, 240, per_minute=40, ramp_s=15,
               template=T("Failed password for root from {$attacker} port {$port} ssh2", level="error",
                          source="sshd[{$pid}]", let=_ATTACK)),
        Effect("host", "sshd", 2, 240, per_minute=16, ramp_s=15,
               template=T("Invalid user {$user} from {$attacker} port {$port}", level="warning",
                          source="sshd[{$pid}]", let=(*_ATTACK, ("user", "{baduser}")),
                          then=(("0.8", T("Failed password for invalid user {$user} from {$attacker} port "
                                          "{$port} ssh2", level="error", source="sshd[{$pid}]")),
                                ("1.1", T("Connection closed by invalid user {$user} {$attacker} port "
                                          "{$port} [preauth]", source="sshd[{$pid}]"))))),
        Effect("host", "sshd", 20, 240, per_minute=4, ramp_s=15,
               template=T("error: maximum authentication attempts exceeded for root from {$attacker} port "
                          "{$port} ssh2 [preauth]", level="error", source="sshd[{$pid}]", let=_ATTACK,
                          then=(("0", T("Disconnecting authenticating user root {$attacker} port {$port}: "
                                        "Too many authentication failures [preauth]",
                                        source="sshd[{$pid}]")),))),
    ),
)  # fmt: skip

_RENDER_ERROR: Final = (
    'template: order_confirmation.html:27:14: executing "order_confirmation.html" at '
    "<.Order.TotalFormatted>: can't evaluate field TotalFormatted in type *model.Order"
)

_RENDER_FAILED: Final = T(
    "render failed",
    level="error",
    fields=(("job_id", "{hex:16}"), ("template", "order_confirmation"), ("err", _RENDER_ERROR)),
)

BAD_DEPLOY: Final = Incident(
    kind="bad_deploy",
    title="mailer v1.9.0 ships a template bug, rolled back after six minutes",
    description=(
        "mailer: restart into v1.9.0, then most sends fail with a new `render failed` error and are "
        "retried, until v1.8.3 is back"
    ),
    root_cause="mailer",
    services=("mailer",),
    effects=(
        Effect("mailer", "mailer", 0, 392,
               sequence=(
                   (0, T("shutting down", fields=(("signal", "SIGTERM"), ("in_flight", "{int:0:4}")))),
                   (2.1, T("starting mailer", fields=(("version", "v1.9.0"), ("commit", "4be21d0")))),
                   (390, T("shutting down", fields=(("signal", "SIGTERM"), ("in_flight", "{int:0:4}")))),
                   (392, T("starting mailer", fields=(("version", "v1.8.3"), ("commit", "9c1e0f7")))),
               )),
        Effect("mailer", "mailer", 10, 390, share=0.8, match="send", ramp_s=5, template=_RENDER_FAILED,
               keep_fields=False),
        Effect("mailer", "mailer", 12, 390, per_minute=6, relative=0.1, ramp_s=5, template=_RENDER_FAILED),
        Effect("mailer", "mailer", 10, 390, per_minute=2, relative=0.35, ramp_s=5,
               template=T("job failed, will retry", level="warning",
                          fields=(("job_id", "{hex:16}"), ("attempt", "{int:2:5}"),
                                  ("next_in", "{pick:30s|60s|120s}")))),
    ),
)  # fmt: skip

HISTORY_PLACEMENT: Final = (
    (SSH_BRUTE_FORCE, 0.17),
    (CAUSAL_CHAIN, 0.38),
    (OOM_KILL, 0.60),
    (BAD_DEPLOY, 0.80),
)
"""Each incident and where it starts, as a fraction of a corpus' span."""

LIVE_ROTATION: Final = (CAUSAL_CHAIN, OOM_KILL, SSH_BRUTE_FORCE, BAD_DEPLOY)
MIN_HISTORY_S: Final = 2 * 3600
"""Shorter spans get no incidents: the detectors need a warm-up, and incidents need room apart."""


def scheduled(
    incident: Incident, number: int, start_ns: int, seed: int, jitter_ns: int = 10**9
) -> ScheduledIncident:
    """`incident` as `INC-<number>` within `jitter_ns` after `start_ns` (real incidents do not begin
    on a whole second), with its shared values drawn for this seed."""
    ident = f"INC-{number}"
    rng = random.Random(f"loglens-demo/{seed}/{ident}")
    values: dict[str, str | int | float | None] = {}
    for name, text in incident.let:
        values[name] = compile_text(text)(rng, values)
    return ScheduledIncident(ident, incident, start_ns + rng.randrange(max(1, jitter_ns)), values)


def history_schedule(start_ns: int, seconds: float, seed: int) -> tuple[ScheduledIncident, ...]:
    """The incidents of a corpus spanning `seconds` from `start_ns` (none below `MIN_HISTORY_S`)."""
    if seconds < MIN_HISTORY_S:
        return ()
    return tuple(
        scheduled(incident, n, start_ns + round(fraction * seconds) * 10**9, seed)
        for n, (incident, fraction) in enumerate(HISTORY_PLACEMENT, 1)
    )


def live_schedule(
    start_ns: int, every_s: float, seed: int, first_number: int = 1
) -> Iterator[ScheduledIncident]:
    """Endless: the rotation's incidents `every_s` apart, the first one `every_s` after `start_ns`."""
    number = first_number
    k = 1
    while True:
        incident = LIVE_ROTATION[(k - 1) % len(LIVE_ROTATION)]
        jitter = min(10**9, round(every_s * 5e8))  # under half the spacing: the order holds
        yield scheduled(incident, number, start_ns + round(k * every_s * 1e9), seed, jitter)
        number += 1
        k += 1
