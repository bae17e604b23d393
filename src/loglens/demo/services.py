"""The demo shop's services and what each one logs at baseline: seven files in six detected formats.

    edge/access.log           nginx, combined log format + request time       (clf)
    api/api.jsonl             the API gateway, JSON lines                     (json)
    checkout/checkout.log     Python (gunicorn + app), tracebacks             (python)
    inventory/inventory.log   Java (Spring Boot, logback), stack traces       (java)
    db/postgresql.log         PostgreSQL's own stderr log                     (plain: loglens has no
                              PostgreSQL parser; its stamped lines read as plain text with levels)
    mailer/mailer.log         a Go queue consumer, logfmt                     (logfmt)
    host/syslog               the app host: sshd, sudo, CRON, systemd, kernel (syslog, RFC 3164)

Requests flow edge → api → checkout / inventory → postgresql; checkout queues mail for the mailer.
Rare templates (weights well under 1%) exist at baseline too: a real service's quiet hours are not
free of errors, and a detector must not call each of them an incident.
"""

from __future__ import annotations

from typing import Final

from loglens.demo.scenario import Service, Template

T = Template

# -- edge: nginx access log ------------------------------------------------------------------------

_HTML: Final = (("bytes", "{int:8200:14800}"), ("rt", "{secs:9:0.5}"))
_API: Final = (("bytes", "{int:180:2400}"), ("rt", "{secs:28:0.5}"))

EDGE: Final = Service(
    name="edge",
    path="edge/access.log",
    format="clf",
    host="edge-1",
    share=0.30,
    amplitude=0.55,
    fields=(
        ("client", "{ip}"),
        ("user", "-"),
        ("method", "GET"),
        ("status", "{n:200}"),
        ("bytes", "{int:300:4000}"),
        ("referer", "{referer}"),
        ("agent", "{agent}"),
        ("rt", "{secs:5}"),
    ),
    templates=(
        T("/", weight=6, fields=(("bytes", "{int:5100:5900}"), ("rt", "{secs:4}"))),
        T("/products/sku-{int:10000:16300}", weight=12, fields=_HTML),
        T("/search?q={word}", weight=3, fields=_HTML),
        T("/cart", weight=2.5, fields=_HTML),
        T("/static/js/app.4f9c2a1e.js", weight=4, fields=(("bytes", "{n:184211}"), ("rt", "{secs:3}"))),
        T("/static/css/main.77d0b3c5.css", weight=3, fields=(("bytes", "{n:40388}"), ("rt", "{secs:2}"))),
        T("/img/products/sku-{int:10000:16300}.webp", weight=10, fields=(("bytes", "{int:18000:96000}"),)),
        T("/api/v1/products/{int:10000:16300}", weight=8, tag="catalog", fields=_API),
        T("/api/v1/stock/SKU-{int:10000:16300}", weight=7, tag="inventory", fields=_API),
        T("/api/v1/cart/items", weight=4, tag="inventory",
          fields=(("method", "POST"), ("status", "{n:201}"), *_API)),
        T("/api/v1/cart", weight=5, fields=_API),
        T("/api/v1/checkout", weight=1.2, tag="checkout",
          fields=(("method", "POST"), ("bytes", "{int:400:900}"), ("rt", "{secs:80:0.5}"))),
        T("/api/v1/auth/login", weight=1.5, fields=(("method", "POST"), *_API)),
        T("/api/v1/auth/login", level="warning", weight=0.2,
          fields=(("method", "POST"), ("status", "{n:401}"), ("bytes", "{n:61}"))),
        T("/favicon.ico", weight=1, fields=(("bytes", "{n:15086}"), ("rt", "{n:0.0}"))),
        T("/robots.txt", weight=0.3, fields=(("bytes", "{n:67}"), ("rt", "{n:0.0}"))),
        T("/api/v1/products/{int:90000:99999}", level="warning", weight=0.3,
          fields=(("status", "{n:404}"), ("bytes", "{n:73}"))),
        T("/api/v1/checkout", level="warning", weight=0.05,
          fields=(("method", "POST"), ("status", "{n:499}"), ("bytes", "{n:0}"), ("rt", "{secs:4000}"))),
        T("/api/v1/cart", level="error", weight=0.015, fields=(("status", "{n:502}"), ("bytes", "{n:157}"))),
        # Internet background noise: scanners probing for well-known holes.
        *(
            T(path, level="warning", weight=0.12,
              fields=(("client", "{ip:scan}"), ("status", "{n:404}"), ("bytes", "{n:153}"), ("referer", "-"),
                      ("agent", "Mozilla/5.0 zgrab/0.x"), ("rt", "{n:0.0}")))
            for path in ("/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/index.php")
        ),
        T("/healthz", every_s=10,
          fields=(("client", "{ip:internal}"), ("agent", "ELB-HealthChecker/2.0"), ("referer", "-"),
                  ("bytes", "{n:2}"), ("rt", "{n:0.001}"))),
    ),
)  # fmt: skip

# -- api: JSON lines -------------------------------------------------------------------------------


def _request(
    route: str, method: str, status: int, ms: str, weight: float, tag: str = "", level: str = ""
) -> Template:
    """A `request completed` line of the API gateway."""
    return T(
        "request completed",
        level=level or ("warning" if status >= 400 else "info"),
        weight=weight,
        tag=tag,
        fields=(("method", method), ("route", route), ("status", f"{{n:{status}}}"), ("latency_ms", ms),
                ("user_id", "{uid}")),
    )  # fmt: skip


API: Final = Service(
    name="api",
    path="api/api.jsonl",
    format="json",
    host="api-{pick:1|2}",
    share=0.24,
    amplitude=0.55,
    fields=(("trace_id", "{hex:32}"),),
    templates=(
        _request("/api/v1/products/:id", "GET", 200, "{ms:25:0.45}", weight=14, tag="catalog"),
        _request("/api/v1/stock/:sku", "GET", 200, "{ms:30:0.45}", weight=9, tag="inventory"),
        _request("/api/v1/cart/items", "POST", 201, "{ms:40:0.45}", weight=5, tag="inventory"),
        _request("/api/v1/cart", "GET", 200, "{ms:20:0.45}", weight=6),
        _request("/api/v1/checkout", "POST", 200, "{ms:60:0.4}", weight=1.5, tag="checkout"),
        _request("/api/v1/auth/login", "POST", 200, "{ms:45:0.4}", weight=1.5),
        _request("/api/v1/search", "GET", 200, "{ms:40:0.45}", weight=4),
        _request("/api/v1/products/:id", "GET", 404, "{ms:10:0.4}", weight=0.3),
        _request("/api/v1/auth/login", "POST", 401, "{ms:45:0.4}", weight=0.25),
        T("cache hit for product:{int:10000:16300}", level="debug", weight=6),
        T("cache miss for product:{int:10000:16300}, loading from catalog", level="debug", weight=1.5),
        T("session refreshed for user {uid}", weight=2),
        T("feature flag new-checkout-flow evaluated to {pick:true|false} for user {uid}", level="debug",
          weight=1),
        T("payment webhook received: {pick:payment_intent.succeeded|charge.refunded}", weight=0.8,
          fields=(("event_id", "evt_{hex:24}"),)),
        T("rate limit exceeded for client {ip} on /api/v1/search", level="warning", weight=0.15),
        T("jwt expired for user {uid}, asking client to re-authenticate", level="warning", weight=0.5),
        T("upstream checkout returned 500 for POST /api/v1/checkout", level="error", weight=0.03,
          fields=(("upstream", "checkout"), ("latency_ms", "{ms:300:0.5}"))),
        T("upstream inventory timed out after 5000ms", level="error", weight=0.01,
          fields=(("upstream", "inventory"), ("latency_ms", "{n:5000}"))),
    ),
    startup=(T("api gateway listening on :8080 (version 3.4.2)"),),
)  # fmt: skip

# -- checkout: Python logging ----------------------------------------------------------------------

_REDIS_TRACE: Final = """Traceback (most recent call last):
  File "/srv/checkout/.venv/lib/python3.12/site-packages/redis/connection.py", line 357, in connect
    sock = self.retry.call_with_retry(
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/checkout/.venv/lib/python3.12/site-packages/redis/connection.py", line 711, in _connect
    raise err
ConnectionRefusedError: [Errno 111] Connection refused

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/checkout/checkout/tasks.py", line 88, in publish_receipt
    queue.enqueue("receipts", payload, job_id=job_id)
  File "/srv/checkout/.venv/lib/python3.12/site-packages/redis/client.py", line 1266, in execute_command
    conn = self.connection or pool.get_connection(command_name, **options)
redis.exceptions.ConnectionError: Error 111 connecting to 10.0.3.7:6379. Connection refused."""

_KEY_TRACE: Final = """Traceback (most recent call last):
  File "/srv/checkout/checkout/api.py", line 142, in create_checkout
    quote = pricing.quote(cart)
  File "/srv/checkout/checkout/pricing.py", line 97, in quote
    rate = self.rates[cart.currency]
           ~~~~~~~~~~^^^^^^^^^^^^^^^
KeyError: '{pick:CHF|SEK|NOK}'"""

CHECKOUT: Final = Service(
    name="checkout",
    path="checkout/checkout.log",
    format="python",
    host="app-1",
    share=0.10,
    amplitude=0.6,
    templates=(
        T("Checkout started for cart {hex:12} (user {uid}, {int:1:9} items)", weight=5,
          source="checkout.api", tag="checkout"),
        T("Cart {hex:12} priced: subtotal {float:5:400:2} EUR, shipping {pick:0.00|4.90|9.90} EUR", weight=5,
          source="checkout.pricing"),
        T("Payment intent {payment} created for {float:5:400:2} EUR", weight=4, source="checkout.payments"),
        T("Payment intent {payment} succeeded", weight=3.6, source="checkout.payments"),
        T("Payment intent {payment} declined: {pick:card_declined|insufficient_funds|expired_card}",
          level="warning", weight=0.4, source="checkout.payments"),
        T("Order {order} placed for user {uid}", weight=3.5, source="checkout.orders"),
        T("Reserved stock for order {order} via inventory in {ms:30} ms", level="debug", weight=3,
          source="checkout.inventory"),
        T("Receipt email queued for order {order}", weight=3, source="checkout.tasks"),
        T("Session {hex:16} loaded from redis in {float:0.2:3:2} ms", level="debug", weight=4,
          source="checkout.cache"),
        T("Stock reservation for order {order} slow ({int:1200:4000} ms), retrying", level="warning",
          weight=0.15, source="checkout.inventory"),
        T("Failed to publish receipt job for order {order}", level="error", weight=0.03,
          source="checkout.tasks", trace=_REDIS_TRACE),
        T("Unhandled exception in POST /api/v1/checkout", level="error", weight=0.02,
          source="checkout.api", trace=_KEY_TRACE),
        T("Health check ok (db=ok, redis=ok, inventory=ok)", every_s=30, phase_s=7, source="checkout.health"),
    ),
    startup=(
        T("Starting gunicorn 23.0.0", source="gunicorn.error"),
        T("Listening at: http://0.0.0.0:8000 (1187)", source="gunicorn.error"),
        T("Booting worker with pid: {pid}", source="gunicorn.error"),
    ),
)  # fmt: skip

# -- inventory: Java / logback ---------------------------------------------------------------------

_LOCK_TRACE: Final = """\
org.springframework.orm.ObjectOptimisticLockingFailureException: Row was updated or deleted by another \
transaction (or unsaved-value mapping was incorrect) : [com.shop.inventory.model.StockLevel#{sku}]
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(\
HibernateJpaDialect.java:325)
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.translateExceptionIfPossible(\
HibernateJpaDialect.java:244)
\tat com.shop.inventory.service.ReservationService.reserve(ReservationService.java:74)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: org.hibernate.StaleObjectStateException: Row was updated or deleted by another transaction \
(or unsaved-value mapping was incorrect) : [com.shop.inventory.model.StockLevel#{sku}]
\tat org.hibernate.event.internal.DefaultMergeEventListener.entityIsDetached(\
DefaultMergeEventListener.java:426)
\t... 41 common frames omitted"""

_THREAD: Final = "http-nio-8080-exec-{int:1:40}"

INVENTORY: Final = Service(
    name="inventory",
    path="inventory/inventory.log",
    format="java",
    host="inventory-1",
    share=0.13,
    amplitude=0.5,
    templates=(
        T("Stock lookup sku={sku} available={int:0:400}", weight=12, thread=_THREAD, tag="inventory",
          source="c.s.inventory.api.StockController"),
        T("Reserved {int:1:4} unit(s) of {sku} for order {order}", weight=5, thread=_THREAD, tag="inventory",
          source="c.s.inventory.service.ReservationService"),
        T("Released reservation {uuid} for order {order} (expired after 900s)", weight=1,
          thread="scheduling-1", source="c.s.inventory.service.ReservationService"),
        T("Loaded stock row for {sku} in {float:0.4:6:2} ms", level="debug", weight=6, thread=_THREAD,
          source="c.s.inventory.repo.StockRepository"),
        T("Published StockChanged for {sku} to inventory-events-{int:0:11} at offset {int:1000000:9999999}",
          weight=3, thread="kafka-producer-network-thread | producer-1",
          source="c.s.inventory.events.EventPublisher"),
        T("Bulk stock query for {int:2:40} skus took {ms:14} ms", weight=1, thread=_THREAD,
          source="c.s.inventory.api.StockController"),
        T("Stock for {sku} below reorder threshold ({int:0:19} < 20)", level="warning", weight=0.8,
          thread=_THREAD, source="c.s.inventory.service.StockService"),
        T("No mapping for GET /api/stock/{sku}/history", level="warning", weight=0.1, thread=_THREAD,
          source="o.s.web.servlet.PageNotFound"),
        T("Reservation conflict for order {order}, client will retry", level="error", weight=0.05,
          thread=_THREAD, source="c.s.inventory.service.ReservationService", let=(("sku", "{sku}"),),
          trace=_LOCK_TRACE),
        T("Warehouse sync finished: {int:40:900} items updated in {ms:800} ms", every_s=300, phase_s=41,
          thread="scheduling-1", source="c.s.inventory.sync.WarehouseSync"),
        T("HikariPool-1 - Pool stats (total=20, active={int:0:6}, idle={int:14:20}, waiting=0)",
          level="debug", every_s=30, phase_s=13, thread="HikariPool-1 housekeeper",
          source="com.zaxxer.hikari.pool.HikariPool"),
    ),
    startup=(
        T("Starting InventoryApplication v2.7.1 using Java 21.0.5 with PID 1", thread="main",
          source="c.s.inventory.InventoryApplication"),
        T("HikariPool-1 - Start completed.", thread="main", source="com.zaxxer.hikari.HikariDataSource"),
        T("Started InventoryApplication in 7.412 seconds (process running for 8.03)", thread="main",
          source="c.s.inventory.InventoryApplication"),
    ),
)  # fmt: skip

# -- db: PostgreSQL stderr log ---------------------------------------------------------------------

_BACKEND: Final = "{int:18200:18600}"

POSTGRES: Final = Service(
    name="postgresql",
    path="db/postgresql.log",
    format="plain",
    host="db-1",
    share=0.08,
    amplitude=0.45,
    fields=(("pid", _BACKEND),),
    templates=(
        T("connection received: host={ip:internal} port={port}", weight=3, source="LOG"),
        T("connection authorized: user=inventory database=shop application_name=PostgreSQL JDBC Driver",
          weight=1.5, source="LOG"),
        T("connection authorized: user=checkout database=shop application_name=checkout", weight=1.5,
          source="LOG"),
        T("disconnection: session time: 0:{int:10:59}:{float:10:59:3} user={pick:inventory|checkout} "
          "database=shop host={ip:internal} port={port}", weight=3, source="LOG"),
        T("duration: {float:200:900:3} ms  execute <unnamed>: SELECT qty, reserved FROM stock_levels "
          "WHERE sku = $1", weight=4, source="LOG", tag="slow"),
        T("duration: {float:200:700:3} ms  execute S_3: UPDATE stock_levels SET reserved = reserved + $1 "
          "WHERE sku = $2", weight=1.5, source="LOG"),
        T("duration: {float:200:600:3} ms  execute S_7: INSERT INTO orders (id, user_id, total, status) "
          "VALUES ($1, $2, $3, $4)", weight=1, source="LOG"),
        T('automatic analyze of table "shop.public.orders" system usage: CPU: user: 0.0{int:1:9} s, '
          "system: 0.00 s, elapsed: 0.{int:10:99} s", weight=0.3, source="LOG", fields=(("pid", "{pid}"),)),
        T('automatic vacuum of table "shop.public.stock_levels": index scans: {int:0:1}', weight=0.2,
          source="LOG", fields=(("pid", "{pid}"),)),
        T("could not receive data from client: Connection reset by peer", weight=0.1, source="LOG"),
        T('duplicate key value violates unique constraint "order_items_pkey"', level="error", weight=0.04,
          source="ERROR", let=(("p", _BACKEND),), fields=(("pid", "{$p}"),),
          then=(
              ("0", T("Key (order_id, sku)=({order}, {sku}) already exists.", source="DETAIL",
                      fields=(("pid", "{$p}"),))),
              ("0", T("INSERT INTO order_items (order_id, sku, qty) VALUES ($1, $2, $3)", source="STATEMENT",
                      fields=(("pid", "{$p}"),))),
          )),
        T("checkpoint starting: time", every_s=300, phase_s=0.5, source="LOG", fields=(("pid", "{n:612}"),),
          then=(("27", T("checkpoint complete: wrote {int:200:3000} buffers ({float:1:9:1}%); "
                         "0 WAL file(s) added, 0 removed, {int:1:4} recycled; write={float:20:27:3} s, "
                         "sync=0.0{int:10:99} s, total={float:27:27.9:3} s",
                         source="LOG", fields=(("pid", "{n:612}"),))),)),
    ),
    startup=(
        T("database system is ready to accept connections", source="LOG", fields=(("pid", "{n:598}"),)),
    ),
)  # fmt: skip

# -- mailer: Go, logfmt ----------------------------------------------------------------------------

_KIND: Final = "{pick:order_confirmation|receipt|password_reset|shipping_update}"

MAILER: Final = Service(
    name="mailer",
    path="mailer/mailer.log",
    format="logfmt",
    host="worker-1",
    share=0.07,
    amplitude=0.5,
    templates=(
        T("job received", weight=6,
          fields=(("queue", "emails"), ("job_id", "{hex:16}"), ("kind", _KIND), ("attempt", "{n:1}"))),
        T("email sent", weight=5.5, tag="send",
          fields=(("job_id", "{hex:16}"), ("provider", "ses"), ("to_domain", "{domain}"),
                  ("duration_ms", "{ms:180}"))),
        T("template rendered", level="debug", weight=5,
          fields=(("template", _KIND), ("bytes", "{int:3000:42000}"), ("duration_ms", "{ms:3}"))),
        T("bounce received", weight=0.3,
          fields=(("message_id", "{uuid}"), ("type", "{pick:soft|hard}"), ("to_domain", "{domain}"))),
        T("provider throttled, backing off", level="warning", weight=0.12,
          fields=(("provider", "ses"), ("backoff_ms", "{pick:500|1000|2000}"))),
        T("delivery failed permanently", level="warning", weight=0.05,
          fields=(("job_id", "{hex:16}"), ("reason", "550 5.1.1 mailbox unavailable"))),
        T("smtp dial failed", level="error", weight=0.02,
          fields=(("err", "dial tcp 10.0.9.14:587: i/o timeout"), ("retry_in", "30s"))),
        T("queue depth", every_s=30, phase_s=3, fields=(("queue", "emails"), ("depth", "{int:0:12}"))),
    ),
    startup=(T("starting mailer", fields=(("version", "v1.8.3"), ("commit", "9c1e0f7"))),),
)  # fmt: skip

# -- host: syslog (RFC 3164) -----------------------------------------------------------------------

_SSHD: Final = (("pid", "{pid}"), ("ip", "{ip:scan}"), ("port", "{port}"))
_DELAY: Final = "{float:0.1:2:3}"

HOST: Final = Service(
    name="host",
    path="host/syslog",
    format="syslog",
    host="app-1",
    share=0.08,
    amplitude=0.15,
    templates=(
        T("Connection closed by {$ip} port {$port} [preauth]", weight=3, source="sshd[{$pid}]", let=_SSHD),
        T("Received disconnect from {$ip} port {$port}:11: Bye Bye [preauth]", weight=1,
          source="sshd[{$pid}]", let=_SSHD),
        T("Invalid user {$user} from {$ip} port {$port}", level="warning", weight=1.2, source="sshd[{$pid}]",
          let=(*_SSHD, ("user", "{baduser}")),
          then=((_DELAY, T("Connection closed by invalid user {$user} {$ip} port {$port} [preauth]",
                           source="sshd[{$pid}]")),)),
        T("Failed password for root from {$ip} port {$port} ssh2", level="error", weight=0.12,
          source="sshd[{$pid}]", let=_SSHD),
        T("Accepted publickey for deploy from 10.0.4.21 port {$port} ssh2: ED25519 "
          "SHA256:8Rk3XrQv1Ew9Jt4bPz0yNc6LmHsGaFdK2uVoYiTe5Wg", weight=0.15, source="sshd[{$pid}]",
          let=(*_SSHD, ("session", "{int:4000:9000}")),
          then=(
              ("0.02", T("pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
                         source="sshd[{$pid}]")),
              ("0.05", T("New session {$session} of user deploy.", source="systemd-logind[612]")),
              ("{int:60:1500}", T("pam_unix(sshd:session): session closed for user deploy",
                                  source="sshd[{$pid}]",
                                  then=(("0.01", T("Removed session {$session}.",
                                                   source="systemd-logind[612]")),))),
          )),
        T("  deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; "
          "COMMAND=/usr/bin/systemctl status {pick:checkout|mailer|nginx}", weight=0.08, source="sudo",
          then=(("0.01", T("pam_unix(sudo:session): session opened for user root(uid=0) by deploy(uid=1000)",
                           source="sudo")),
                ("0.2", T("pam_unix(sudo:session): session closed for user root", source="sudo")))),
        T("[UFW BLOCK] IN=eth0 OUT= MAC=0a:3f:5c:91:d2:6e:0a:1b:77:c0:4e:12:08:00 SRC={ip:scan} "
          "DST=10.0.1.5 LEN=40 TOS=0x00 PREC=0x00 TTL={int:40:250} ID={int:1:65535} PROTO=TCP "
          "SPT={port} DPT={pick:23|2375|3389|5900|8080|8443} WINDOW=1024 RES=0x00 SYN URGP=0",
          weight=2, source="kernel"),
        T("pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", every_s=600, phase_s=1,
          source="CRON[{$pid}]", let=(("pid", "{pid}"),),
          then=(("0.01", T("(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
                           source="CRON[{$pid}]")),
                ("0.4", T("pam_unix(cron:session): session closed for user root", source="CRON[{$pid}]")))),
        T("(root) CMD (cd / && run-parts --report /etc/cron.hourly)", every_s=3600, phase_s=17 * 60 + 1,
          source="CRON[{pid}]"),
        T("Starting logrotate.service - Rotate log files...", every_s=3600, phase_s=2, source="systemd[1]",
          then=(("0.3", T("logrotate.service: Deactivated successfully.", source="systemd[1]")),
                ("0.31", T("Finished logrotate.service - Rotate log files.", source="systemd[1]")))),
    ),
)  # fmt: skip

SERVICES: Final = (EDGE, API, CHECKOUT, INVENTORY, POSTGRES, MAILER, HOST)
"""Every service, in the order their lines are merged on equal timestamps."""
SERVICE_BY_NAME: Final = {s.name: s for s in SERVICES}
