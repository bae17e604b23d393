"""Tests for loglens.demo.incidents: where incidents sit and what their lines say."""

from __future__ import annotations

import itertools
from collections import defaultdict

from loglens.demo.incidents import LIVE_ROTATION, history_schedule, live_schedule
from loglens.demo.stream import DEFAULT_START_NS, demo_lines, history_spec, live_spec


class TestSchedule:
    def test_four_incidents_apart_in_a_long_span(self) -> None:
        """A 6 h corpus holds each incident once, in the span, at least 10 minutes apart."""
        placed = history_schedule(DEFAULT_START_NS, 6 * 3600, seed=1)
        assert sorted(s.incident.kind for s in placed) == sorted(i.kind for i in LIVE_ROTATION)
        assert [s.id for s in placed] == ["INC-1", "INC-2", "INC-3", "INC-4"]
        assert placed[0].start_ns >= DEFAULT_START_NS + 30 * 60 * 10**9
        assert placed[-1].end_ns < DEFAULT_START_NS + 6 * 3600 * 10**9
        for a, b in itertools.pairwise(placed):
            assert b.start_ns - a.end_ns >= 10 * 60 * 10**9

    def test_short_spans_have_none(self) -> None:
        """Below two hours there is no room for warm-up and incidents: none are placed."""
        assert history_schedule(DEFAULT_START_NS, 3600, seed=1) == ()

    def test_live_rotation(self) -> None:
        """Live, incidents come every `every_s`, in turn, numbered on."""
        live = live_schedule(DEFAULT_START_NS, 900, seed=1, first_number=5)
        first = [next(live) for _ in range(5)]
        assert [s.id for s in first] == ["INC-5", "INC-6", "INC-7", "INC-8", "INC-9"]
        assert [(s.start_ns - DEFAULT_START_NS) // 10**9 for s in first] == [900, 1800, 2700, 3600, 4500]
        assert first[4].incident is first[0].incident

    def test_shared_values_are_drawn_once(self) -> None:
        """An incident's shared values (the attacker) are fixed for the incident, and differ by seed."""

        def attacker(seed: int) -> object:
            placed = history_schedule(DEFAULT_START_NS, 6 * 3600, seed)
            return next(s for s in placed if s.incident.kind == "ssh_brute_force").values["attacker"]

        assert attacker(1) == attacker(1)
        assert attacker(1) != attacker(2)


class TestInjectedLines:
    spec = history_spec(hours=6, lines=60_000, seed=8)

    def test_causal_chain_onsets_in_order(self) -> None:
        """The chain's first changed line is in postgresql, then inventory, api and edge, each later."""
        chain = next(s for s in self.spec.incidents if s.incident.kind == "causal_chain")
        first: dict[str, int] = {}
        for line in demo_lines(self.spec):
            if line.incident == chain.id:
                first.setdefault(line.path.split("/")[0], line.ts_ns)
        order = sorted(first, key=first.__getitem__)
        assert order == ["db", "inventory", "api", "edge"]
        assert first["db"] - chain.start_ns < 15 * 10**9
        gaps = [first[b] - first[a] for a, b in itertools.pairwise(order)]
        assert all(gap >= 10 * 10**9 for gap in gaps)

    def test_lines_stay_in_their_window(self) -> None:
        """An incident's lines all fall between its start and end."""
        windows = {s.id: (s.start_ns, s.end_ns) for s in self.spec.incidents}
        seen: dict[str, int] = defaultdict(int)
        for line in demo_lines(self.spec):
            if line.incident is not None:
                start, end = windows[line.incident]
                assert start <= line.ts_ns <= end
                seen[line.incident] += 1
        assert set(seen) == set(windows)

    def test_oom_story_names_one_pid(self) -> None:
        """The pid the kernel kills is the pid gunicorn reports SIGKILLed."""
        oom = next(s for s in self.spec.incidents if s.incident.kind == "oom_kill")
        texts = [line.text for line in demo_lines(self.spec) if line.incident == oom.id]
        for name in ("victim1", "victim2", "victim3"):
            pid = oom.values[name]
            assert any(f"Killed process {pid} (python3)" in t for t in texts)
            assert any(f"Worker (pid:{pid}) was sent SIGKILL!" in t for t in texts)

    def test_live_spec_injects_periodically(self) -> None:
        """A live stream of 40 minutes with an incident every 15 has incidents 1 and 2, not 3."""
        spec = live_spec(DEFAULT_START_NS, rate=20, seconds=40 * 60, incident_every_s=900)
        ids = {line.incident for line in demo_lines(spec)} - {None}
        assert ids == {"INC-1", "INC-2"}
