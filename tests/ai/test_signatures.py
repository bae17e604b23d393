"""The signature library: the shipped file loads and checks, every signature recognises real log
wording and leaves near misses alone, and matching ranks and explains what it found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loglens.ai.signatures import (
    AnomalyHint,
    EvidenceText,
    IncidentFacts,
    Signature,
    SignatureError,
    builtin_signatures,
    load_signatures,
    match_signatures,
    parse_signature,
    parse_signatures,
    signature_fields,
)
from loglens.errors import ConfigError

S = 10**9
T0 = 1_795_000_000 * S

REQUIRED = {
    "oom-kill",
    "disk-full",
    "connection-refused",
    "connection-pool-exhausted",
    "dns-failure",
    "tls-certificate",
    "permission-denied",
    "segfault",
    "deadlock",
    "timeouts",
    "rate-limited",
    "brute-force-login",
    "systemd-unit-failed",
    "package-build-failed",
    "log-storm",
}


def signature(sig_id: str) -> Signature:
    return next(s for s in builtin_signatures() if s.id == sig_id)


def lines(*texts: str, service: str = "app", level: str = "error") -> list[EvidenceText]:
    return [EvidenceText(t, service, level, n, None, T0 + n * S) for n, t in enumerate(texts, 1)]


def matches(sig_id: str, texts: list[EvidenceText], facts: IncidentFacts | None = None) -> bool:
    return bool(match_signatures([signature(sig_id)], texts, facts))


def entry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "my-failure",
        "name": "My failure",
        "category": "application",
        "summary": "It failed.",
        "patterns": ["it failed"],
        "fix": ["restart it"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


class TestBuiltinLibrary:
    def test_shipped_file_loads_with_every_required_signature(self) -> None:
        """The shipped signatures.toml passes validation and covers every failure the explainer promises."""
        ids = [s.id for s in builtin_signatures()]
        assert len(ids) == len(set(ids))
        assert set(ids) >= REQUIRED

    def test_every_signature_is_complete(self) -> None:
        """Each shipped signature has a summary sentence, concrete fix steps and a way to be matched."""
        for sig in builtin_signatures():
            assert sig.summary.endswith("."), sig.id
            assert sig.fix and all(len(step) > 10 for step in sig.fix), sig.id
            assert sig.patterns or sig.kinds, sig.id
            assert 0 < sig.weight <= 1, sig.id
            assert sig.source == "builtin"

    def test_every_shipped_signature_is_documented(self) -> None:
        """docs/explain.md lists every shipped signature id (a new one needs a line there)."""
        doc = (Path(__file__).resolve().parents[2] / "docs" / "explain.md").read_text()
        missing = [s.id for s in builtin_signatures() if f"| `{s.id}` |" not in doc]
        assert missing == []

    def test_loaded_once(self) -> None:
        """The library is parsed once and shared (the explainer calls it per incident)."""
        assert builtin_signatures() is builtin_signatures()

    def test_fields_read_back_to_the_same_signature(self) -> None:
        """`signature_fields` is the TOML table of a signature: parsing it gives the signature back."""
        for sig in builtin_signatures():
            assert parse_signature(signature_fields(sig), sig.id) == sig

    def test_a_file_of_ones_own_loads(self, tmp_path: Path) -> None:
        """A team's own signature file in the same format loads with `load_signatures`."""
        path = tmp_path / "ours.toml"
        path.write_text(
            '[[signature]]\nid = "cache-miss-storm"\nname = "Cache stampede"\ncategory = "application"\n'
            "summary = \"Cache expired.\"\npatterns = ['''cache miss for \\S+''']\nfix = [\"warm it\"]\n"
        )
        (sig,) = load_signatures(path)
        assert sig.id == "cache-miss-storm"
        assert matches_sig(sig, "cache miss for user:42")

    def test_unreadable_file_is_named(self, tmp_path: Path) -> None:
        """A broken TOML file is reported with its path."""
        path = tmp_path / "bad.toml"
        path.write_text("[[signature]\n")
        with pytest.raises(SignatureError, match=r"bad\.toml"):
            load_signatures(path)


def matches_sig(sig: Signature, text: str) -> bool:
    return bool(match_signatures([sig], lines(text)))


class TestValidation:
    def test_duplicate_ids_are_refused(self) -> None:
        """Two signatures with one id would make `kb forget`/docs ambiguous: refused, naming both."""
        with pytest.raises(SignatureError, match="already used by"):
            parse_signatures({"signature": [entry(), entry()]}, "x.toml")

    def test_regex_that_does_not_compile_is_named(self) -> None:
        """A broken pattern is reported with the pattern text."""
        with pytest.raises(SignatureError, match=re.escape("'failed ('")):
            parse_signature(entry(patterns=["failed ("]), "x.toml")

    def test_fix_is_required(self) -> None:
        """A signature without remediation steps is refused: the fix is the point of it."""
        with pytest.raises(SignatureError, match="fix"):
            parse_signature(entry(fix=[]), "x.toml")

    def test_id_must_be_kebab_case(self) -> None:
        """Ids are kebab-case (they are typed on the command line)."""
        with pytest.raises(SignatureError, match="kebab-case"):
            parse_signature(entry(id="My_Failure"), "x.toml")

    def test_unknown_key_and_category(self) -> None:
        """Typos in keys and categories are errors, not silently ignored; they are config errors."""
        with pytest.raises(ConfigError, match="unknown keys"):
            parse_signature(entry(fixes=["x"]), "x.toml")
        with pytest.raises(SignatureError, match="category"):
            parse_signature(entry(category="misc"), "x.toml")

    def test_learned_fields_only_in_learned_signatures(self) -> None:
        """`learned_from` belongs to learned signatures; the shipped file may not carry it."""
        with pytest.raises(SignatureError, match="unknown keys"):
            parse_signature(entry(learned_from="inc-1"), "x.toml")
        assert parse_signature(entry(learned_from="inc-1"), "doc", "learned").learned_from == "inc-1"

    def test_kind_only_signature_needs_known_kinds(self) -> None:
        """A signature without patterns must name anomaly kinds, and only kinds the detectors report."""
        with pytest.raises(SignatureError, match="patterns"):
            parse_signature(entry(patterns=[]), "x.toml")
        with pytest.raises(SignatureError, match="unknown anomaly kinds"):
            parse_signature(entry(patterns=[], kinds=["storm"]), "x.toml")

    def test_headline_fields_must_exist(self) -> None:
        """A headline may only use its patterns' named groups and the standard fields."""
        with pytest.raises(SignatureError, match="headline"):
            parse_signature(entry(headline="{process} died"), "x.toml")
        ok = parse_signature(entry(patterns=[r"(?P<process>\w+) died"], headline="{process} died"), "x")
        assert ok.headline == "{process} died"

    def test_key_needs_a_group(self) -> None:
        """A key says what lines share: it needs a group around that part."""
        with pytest.raises(SignatureError, match="group"):
            parse_signature(entry(key=r"\d+\.\d+"), "x.toml")


# (signature id, real lines it must recognise, near misses it must not)
CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "oom-kill",
        [
            "Out of memory: Killed process 4242 (java) total-vm:8388608kB, anon-rss:7340032kB, file-rss:0kB",
            "postgres invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",
            "Memory cgroup out of memory: Killed process 1234 (node) total-vm:1048576kB",
            'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
            "Out of memory: Killed process <*> (python3) total-vm:<*>, anon-rss:<*>",
        ],
        [
            "Memory usage at 71% (11.2 GiB of 15.6 GiB)",
            "Sent SIGKILL to process 4242 (python3) after timeout",
        ],
    ),
    (
        "disk-full",
        [
            "write /var/lib/docker/tmp/GetImageBlob123: no space left on device",
            'ERROR:  could not extend file "base/16384/24576": No space left on device',
            "OSError: [Errno 28] No space left on device: '/tmp/upload'",
        ],
        ["Disk usage on / is 71%, 12G free", "Freed 2.1G of space in /var/cache/apt"],
    ),
    (
        "too-many-open-files",
        [
            "accept4() failed (24: Too many open files)",
            "java.net.SocketException: Too many open files",
            "Error: EMFILE: too many open files, open '/app/data.json'",
        ],
        ["open files limit raised to 65536", "opened 12 files in /var/lib/app"],
    ),
    (
        "read-only-filesystem",
        [
            "EXT4-fs (sda1): Remounting filesystem read-only",
            "touch: cannot touch '/data/x': Read-only file system",
        ],
        ["EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro. Quota mode: none."],
    ),
    (
        "disk-io-error",
        [
            "blk_update_request: I/O error, dev sda, sector 123456 op 0x0:(READ) flags 0x0 phys_seg 1 "
            "prio class 0",
            "Buffer I/O error on dev sda1, logical block 0, async page read",
            "nvme nvme0: I/O 123 QID 4 timeout, completion polled",
        ],
        ["sd 0:0:0:0: [sda] Attached SCSI disk", "nvme nvme0: 8/0/0 default/read/poll queues"],
    ),
    (
        "segfault",
        [
            "python3[12345]: segfault at 0 ip 00007f2a1b2c3d4e sp 00007ffd1a2b3c40 error 4 in libc.so.6",
            "Segmentation fault (core dumped)",
            "Process 4242 (nginx) of user 33 dumped core.",
        ],
        ["worker exited with signal 9 (SIGKILL)", "core dump disabled: ulimit -c is 0"],
    ),
    (
        "systemd-unit-failed",
        [
            "Failed to start PostgreSQL Cluster 15-main.",
            "nginx.service: Main process exited, code=exited, status=1/FAILURE",
            "nginx.service: Failed with result 'exit-code'.",
            "Unit nginx.service entered failed state.",
        ],
        ["Started PostgreSQL Cluster 15-main.", "nginx.service: Succeeded."],
    ),
    (
        "crash-loop",
        [
            "Back-off restarting failed container api in pod api-7d9f8b6c5-x2x9z_default",
            "myapp.service: Start request repeated too quickly.",
            "myapp.service: Scheduled restart job, restart counter is at 5.",
        ],
        ["Restarting worker pool after configuration reload", "container api started"],
    ),
    (
        "hung-task",
        [
            "INFO: task kworker/u16:2:12345 blocked for more than 120 seconds.",
            "watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [java:4242]",
        ],
        ["task scheduler started 4 workers", "CPU3 is up"],
    ),
    (
        "connection-refused",
        [
            "dial tcp 10.0.0.5:5432: connect: connection refused",
            "connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4",
            "Error: connect ECONNREFUSED 127.0.0.1:6379",
        ],
        ["read: Connection reset by peer", "Connection closed by remote host"],
    ),
    (
        "dns-failure",
        [
            "dial tcp: lookup db.internal on 10.96.0.10:53: no such host",
            "socket.gaierror: [Errno -3] Temporary failure in name resolution",
            "getaddrinfo ENOTFOUND api.example.com",
            "java.net.UnknownHostException: billing-db",
            "query billing-db.internal IN A: NXDOMAIN",
        ],
        ["resolved db.internal to 10.0.0.5 in 3ms", "host db.internal is reachable"],
    ),
    (
        "tls-certificate",
        [
            "x509: certificate has expired or is not yet valid: current time 2026-11-21T03:00:00Z is "
            "after 2026-11-20T23:59:59Z",
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
            "certificate (_ssl.c:1006)",
            "SSL_do_handshake() failed (SSL: error:0A000086:SSL routines::certificate verify failed)",
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed",
        ],
        [
            "certificate for shop.example.com renewed, valid until 2027-02-19",
            "TLS handshake completed (TLSv1.3)",
        ],
    ),
    (
        "timeouts",
        [
            "upstream timed out (110: Connection timed out) while reading response header from upstream",
            "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
            "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.example.com', port=443): "
            "Read timed out. (read timeout=10)",
            "java.net.SocketTimeoutException: Read timed out",
        ],
        ["request completed in 120 ms (timeout 5000 ms)", "timeout set to 30s"],
    ),
    (
        "upstream-5xx",
        [
            "upstream prematurely closed connection while reading response header from upstream, "
            "client: 10.0.0.1",
            "no live upstreams while connecting to upstream, client: 10.0.0.1",
            "Gateway responded 503, backing off 2000 ms",
        ],
        ["upstream server api-2 added to pool", "GET /api/v1/products HTTP/1.1"],
    ),
    (
        "rate-limited",
        [
            "HTTP/1.1 429 Too Many Requests",
            "rate limit exceeded for api key ak_123 (600 req/min)",
            "An error occurred (ThrottlingException) when calling the PutItem operation: Rate exceeded",
        ],
        ["rate limit check passed for api key ak_123", "Disk quota exceeded"],
    ),
    (
        "deadlock",
        [
            "ERROR:  deadlock detected",
            "Deadlock found when trying to get lock; try restarting transaction",
            "Transaction (Process ID 52) was deadlocked on lock resources with another process and has been "
            "chosen as the deadlock victim. Rerun the transaction.",
        ],
        ["deadlock_timeout = 1s", "acquired advisory lock 42 in 3 ms"],
    ),
    (
        "connection-pool-exhausted",
        [
            "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection "
            "timed out, timeout 30.00",
            "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
            "FATAL:  sorry, too many clients already",
        ],
        ["HikariPool-1 - Start completed.", "connection pool stats: total=20 active=3 idle=17"],
    ),
    (
        "permission-denied",
        [
            'open() "/var/www/html/index.html" failed (13: Permission denied)',
            "Error: EACCES: permission denied, open '/app/config.json'",
            'audit: type=1400 audit(1700000000.123:45): apparmor="DENIED" operation="open" '
            'profile="/usr/sbin/mysqld" name="/data/mysql/" pid=1234 comm="mysqld"',
            'avc:  denied  { read } for  pid=1234 comm="httpd" name="index.html"',
        ],
        [
            'audit: type=1400 audit(1700000000.123:45): apparmor="ALLOWED" operation="open"',
            "permissions fixed",
        ],
    ),
    (
        "package-build-failed",
        [
            "error: builder for '/nix/store/abc123-hello-2.12.drv' failed with exit code 2",
            "dpkg: error processing package nginx-common (--configure):",
            "E: Sub-process /usr/bin/dpkg returned an error code (1)",
            "ERROR: Could not find a version that satisfies the requirement torch==9.9 (from versions: none)",
            "npm ERR! code ERESOLVE",
            "error: could not compile `loglens-core` (lib) due to 2 previous errors",
        ],
        ["building '/nix/store/abc123-hello-2.12.drv'...", "Setting up nginx-common (1.22.1-9) ..."],
    ),
]

BRUTE_FORCE = [
    *(f"Failed password for invalid user admin{n} from 203.0.113.7 port {40000 + n} ssh2" for n in range(8)),
    "Invalid user test from 203.0.113.7 port 5555",
    "Connection closed by invalid user oracle 203.0.113.7 port 5556 [preauth]",
    "Failed password for root from 203.0.113.7 port 5557 ssh2",
    "Disconnected from invalid user pi 203.0.113.7 port 5558 [preauth]",
]


class TestEverySignature:
    @pytest.mark.parametrize(("sig_id", "positives", "negatives"), CASES, ids=[c[0] for c in CASES])
    def test_real_wording_matches_and_near_misses_do_not(
        self, sig_id: str, positives: list[str], negatives: list[str]
    ) -> None:
        """Each real-world line alone is recognised by its signature; each near miss alone is not."""
        for text in positives:
            assert matches(sig_id, lines(text)), text
        for text in negatives:
            assert not matches(sig_id, lines(text)), text

    def test_every_pattern_signature_has_a_case(self) -> None:
        """No shipped signature goes untested (the two kind- or key-based ones have their own tests)."""
        tested = {c[0] for c in CASES} | {"brute-force-login", "log-storm"}
        assert {s.id for s in builtin_signatures()} == tested

    def test_brute_force_needs_many_from_one_address(self) -> None:
        """Twelve failed logins from one address are an attack; the same from twelve addresses, or
        twelve successful logins from one, are not."""
        found = match_signatures([signature("brute-force-login")], lines(*BRUTE_FORCE, service="sshd"))
        assert found and found[0].key == "203.0.113.7" and found[0].count == 12
        assert found[0].reading() == "at least 12 failed or invalid-user logins came from 203.0.113.7"
        scattered = [f"Failed password for root from 198.51.100.{n} port 22 ssh2" for n in range(12)]
        assert not matches("brute-force-login", lines(*scattered, service="sshd"))
        accepted = [f"Accepted publickey for deploy from 203.0.113.7 port {n} ssh2" for n in range(12)]
        assert not matches("brute-force-login", lines(*accepted, service="sshd"))

    def test_log_storm_is_one_quiet_template_flooding(self) -> None:
        """A burst and a volume spike of one debug template, with no errors, is a log storm."""
        text = [EvidenceText("prefetch buffer refilled", "queue", "debug", 7, "q-3", T0)]
        storm = (
            AnomalyHint("template_burst", "queue", "q-3", "debug", T0, "250 debug lines", T0 + 60 * S),
            AnomalyHint("volume_spike", "queue", "q-3", "debug", T0, "280 lines", T0 + 60 * S),
        )
        facts = IncidentFacts(storm, "queue", "q-3", 7, T0)
        (found,) = match_signatures([signature("log-storm")], text, facts)
        assert found.hits[0].line.record_id == 7
        assert found.reading() == "queue logged the same debug line over and over, with no errors"
        assert found.score > 0.7

    @pytest.mark.parametrize(
        "spoiler",
        [
            AnomalyHint("error_rate", "queue", "q-3", "error", T0, "40 errors", T0 + 60 * S),
            EvidenceText("channel error: PRECONDITION_FAILED", "queue", "error", 9, "q-9", T0 + 5 * S),
        ],
        ids=["error-anomaly", "error-line"],
    )
    def test_log_storm_is_not_called_when_errors_come_with_it(self, spoiler: object) -> None:
        """The same flood with an error anomaly or error lines in that service is not a mere storm."""
        text = [EvidenceText("prefetch buffer refilled", "queue", "debug", 7, "q-3", T0)]
        storm = [
            AnomalyHint("template_burst", "queue", "q-3", "debug", T0, "", T0 + 60 * S),
            AnomalyHint("volume_spike", "queue", "q-3", "debug", T0, "", T0 + 60 * S),
        ]
        if isinstance(spoiler, AnomalyHint):
            storm.append(spoiler)
        else:
            assert isinstance(spoiler, EvidenceText)
            text.append(spoiler)
        assert not matches("log-storm", text, IncidentFacts(tuple(storm), "queue", "q-3", 7, T0))

    def test_log_storm_needs_the_burst_not_just_volume(self) -> None:
        """More lines than usual without one template bursting is busy, not a storm."""
        text = [EvidenceText("request completed status=200", "api", "info", 7, "a-8", T0)]
        spike = (AnomalyHint("volume_spike", "api", "a-8", "info", T0, "", T0 + 60 * S),)
        assert not matches("log-storm", text, IncidentFacts(spike, "api", "a-8", 7, T0))


def billing_chain() -> tuple[list[EvidenceText], IncidentFacts]:
    """Lines and facts shaped like a database deadlock that exhausted a connection pool downstream."""
    texts = [
        EvidenceText(
            "Slow query took 6355 ms: UPDATE invoices SET status = ?", "billing", "warning", 1, "b-33", T0
        ),
        EvidenceText(
            "Failed to settle invoice INV-1\norg.springframework.dao.CannotAcquireLockException: could not "
            "execute statement [ERROR: deadlock detected]",
            "billing",
            "error",
            2,
            "b-34",
            T0 + 25 * S,
        ),
        EvidenceText("ERROR: deadlock detected", "billing", "error", 3, "b-36", T0 + 26 * S),
        EvidenceText(
            "HikariPool-1 - Connection is not available, request timed out after 30000ms",
            "billing",
            "warning",
            4,
            "b-35",
            T0 + 70 * S,
        ),
        EvidenceText(
            "connection pool exhausted (pool=billing-client, size=50)",
            "api",
            "error",
            5,
            "a-51",
            T0 + 120 * S,
        ),
        EvidenceText("upstream billing timed out after 4000ms", "api", "error", 6, "a-52", T0 + 121 * S),
    ]
    anomalies = tuple(
        AnomalyHint("new_template", t.service, t.template_id, t.level, t.ts, "", (t.ts or 0) + 60 * S)
        for t in texts
    )
    return texts, IncidentFacts(anomalies, "billing", "b-33", 1, T0)


class TestMatching:
    def test_root_cause_reading_wins_over_its_consequences(self) -> None:
        """In a deadlock → pool exhausted → timeouts chain, the deadlock in the root-cause service ranks
        first, the pool second, the timeouts after them."""
        texts, facts = billing_chain()
        ranked = [m.signature.id for m in match_signatures(builtin_signatures(), texts, facts)]
        assert ranked[:3] == ["deadlock", "connection-pool-exhausted", "timeouts"]

    def test_scores_stay_in_range_and_say_why(self) -> None:
        """Every score is within 0..1 and comes with its reasons and the parts it is made of."""
        texts, facts = billing_chain()
        for m in match_signatures(builtin_signatures(), texts, facts):
            assert 0.0 < m.score <= 1.0
            assert m.why and set(m.parts) == {
                "volume",
                "breadth",
                "anomalous",
                "root",
                "service",
                "onset",
                "kinds",
            }

    def test_hit_records_the_line_and_pattern(self) -> None:
        """A hit names its line's id, the pattern, and the physical line it matched in (a trace's
        exception line rather than the message)."""
        texts, facts = billing_chain()
        (deadlock,) = match_signatures([signature("deadlock")], texts, facts)
        first = deadlock.hits[0]
        assert first.line.record_id == 2
        assert first.pattern == "deadlock detected"
        assert first.matched.startswith("org.springframework.dao.CannotAcquireLockException")
        assert "it matches the root cause's first sign" not in deadlock.why
        assert "seen in the root-cause service billing" in deadlock.why

    def test_background_lines_weigh_less_than_flagged_ones(self) -> None:
        """The same deadlock lines score lower when the detectors flagged none of their templates."""
        texts, facts = billing_chain()
        flagged = match_signatures([signature("deadlock")], texts, facts)[0].score
        unflagged_facts = IncidentFacts(
            tuple(a for a in facts.anomalies if a.template_id not in ("b-34", "b-36")),
            "billing",
            "b-33",
            1,
            T0,
        )
        background = match_signatures([signature("deadlock")], texts, unflagged_facts)[0].score
        assert background < flagged

    def test_plain_text_matching_needs_no_facts(self) -> None:
        """Without facts (no anomalies, no root cause), matching still works on text alone."""
        (found,) = match_signatures([signature("dns-failure")], lines("getaddrinfo EAI_AGAIN db.internal"))
        assert found.parts["root"] == 0.5 and found.parts["anomalous"] == 0.5

    def test_headline_filled_from_named_groups(self) -> None:
        """The reading names what the line names: the killed process and its pid."""
        text = lines("Out of memory: Killed process 4242 (java) total-vm:8388608kB", service="kernel")
        (found,) = match_signatures([signature("oom-kill")], text)
        assert found.reading() == "the kernel's OOM killer killed java (pid 4242)"
        (plain,) = match_signatures([signature("oom-kill")], lines("java.lang.OutOfMemoryError: heap"))
        assert plain.reading() == signature("oom-kill").summary

    def test_equal_scores_go_to_the_signature_listed_first(self) -> None:
        """On a tie, the signature listed first wins: learned signatures are listed before built-in ones."""
        builtin = signature("disk-full")
        learned = parse_signature(
            {**signature_fields(builtin), "id": "learned-disk", "learned_from": "inc-1"}, "doc", "learned"
        )
        text = lines("No space left on device")
        assert [m.signature.id for m in match_signatures([learned, builtin], text)] == [
            "learned-disk",
            "disk-full",
        ]
        assert [m.signature.id for m in match_signatures([builtin, learned], text)] == [
            "disk-full",
            "learned-disk",
        ]

    def test_matching_is_pure(self) -> None:
        """The same arguments give the same answer, and the lines passed are left as they were."""
        texts, facts = billing_chain()
        before = list(texts)
        first = match_signatures(builtin_signatures(), texts, facts)
        assert match_signatures(builtin_signatures(), texts, facts) == first
        assert texts == before

    def test_duplicate_lines_count_once(self) -> None:
        """A line read twice (as evidence and in the window) is one line."""
        (once,) = match_signatures([signature("segfault")], lines("Segmentation fault") * 3)
        assert once.count == 1

    def test_levels_restrict_which_lines_count(self) -> None:
        """A signature with `levels` ignores lines at other levels."""
        sig = parse_signature(entry(levels=["debug"]), "x")
        assert match_signatures([sig], lines("it failed", level="debug"))
        assert not match_signatures([sig], lines("it failed", level="error"))
