"""The template miner: online, per service, Drain-style grouping over masked tokens, memoised by shape.

A message is split on whitespace and its variable tokens masked (masking.py). Messages with the same
masked shape always share a template (one dict lookup on the hot path). A new shape joins the most
similar template of the same service and length when it repeats enough of the template's literal words
in place; the positions that differ become wildcards. A template keeps its id when it
generalises, so older records still resolve to it; `state()` / `from_state()` carry ids across restarts
as plain JSON. (Work in progress for issue 3: no cap on the template count yet.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loglens.mining.masking import WILDCARD, TokenMasker

STATE_VERSION = 1
DEFAULT_MAX_TEMPLATES = 50_000
DEFAULT_MAX_SHAPES = 200_000
DEFAULT_SIMILARITY = 0.7
"""Measured on Loghub-2k (bench/loghub.py), message-only mean GA: 0.914 at 0.65, 0.931 at 0.7, 0.932 at
0.75, 0.869 at 0.8 — 0.7 sits inside the plateau rather than on its edge."""


@dataclass(slots=True)
class Template:
    """A template: its stable id, tokens (with `<*>` wildcards) and how many messages it has.

    `slots` (position, text before, text after the wildcard) are kept in step with `tokens`, so that
    reading a message's parameters costs one step per variable, not one per word.
    """

    id: str
    service: str
    tokens: list[str]
    count: int = 0
    slots: tuple[tuple[int, str, str], ...] = ()

    def __post_init__(self) -> None:
        self.slots = wildcard_slots(self.tokens)

    @property
    def text(self) -> str:
        """The template as one string, `<*>` for each variable."""
        return " ".join(self.tokens)

    def generalise(self, tokens: list[str]) -> None:
        """Replaces the tokens (same length, more wildcards) and re-indexes the wildcards."""
        self.tokens = tokens
        self.slots = wildcard_slots(tokens)

    def params_of(self, tokens: list[str]) -> list[str]:
        """The values behind each wildcard in one message's tokens (same length as the template)."""
        params: list[str] = []
        for index, head, tail in self.slots:
            got = tokens[index]
            if head or tail:
                got = _inner(got, head, tail)
            params.append(got)
        return params


def wildcard_slots(tokens: list[str]) -> tuple[tuple[int, str, str], ...]:
    """(position, text before, text after) of every token holding a wildcard."""
    slots = []
    for index, token in enumerate(tokens):
        if WILDCARD in token:
            head, _, tail = token.partition(WILDCARD)
            slots.append((index, head, tail))
    return tuple(slots)


def _inner(token: str, head: str, tail: str) -> str:
    """The part of `token` between a partial wildcard's fixed text (`(pid=<*>),` → the pid)."""
    if token.startswith(head) and token.endswith(tail) and len(token) >= len(head) + len(tail):
        return token[len(head) : len(token) - len(tail)] if tail else token[len(head) :]
    return token


@dataclass(frozen=True, slots=True)
class Match:
    """What mining one message gave: its template and the values of the template's variables."""

    template: Template
    params: list[str] = field(default_factory=list)


def _similarity(template: list[str], shape: tuple[str, ...]) -> float:
    """Share of the template's literal words that the shape repeats in place.

    Wildcards take no part: counting them as agreement let mostly-variable templates swallow
    everything of their length (Linux GA 0.41), and counting them as disagreement (Drain3 with masks)
    keeps mostly-masked messages from ever joining a template, so templates grow without bound.
    """
    literal = 0
    agree = 0
    for want, got in zip(template, shape, strict=True):
        if want != WILDCARD:
            literal += 1
            if want == got:
                agree += 1
    return agree / literal if literal else 1.0


def extract_params(template: list[str], tokens: list[str]) -> list[str]:
    """The values behind each `<*>` of a template (as tokens) in one message's tokens."""
    return [
        _inner(tokens[i], head, tail) if head or tail else tokens[i]
        for i, head, tail in wildcard_slots(template)
    ]


class TemplateMiner:
    """Mines templates from messages, one service's messages never joining another's templates.

    Memory is bounded: the shape memo is a cache (cleared past `max_shapes`, shapes find their
    templates again by similarity), and past `max_templates` no template is created: a new shape
    joins the most similar template of its group, however little it agrees (generalising it), or,
    in a group with none, one all-wildcard template per service and length, so that ids already
    handed out stay valid.

    Args:
        similarity: share of the template's literal words a message must repeat to join it.
        max_templates: the cap on templates (all services together).
        max_shapes: the cap on remembered message shapes.
    """

    def __init__(
        self,
        similarity: float = DEFAULT_SIMILARITY,
        max_templates: int = DEFAULT_MAX_TEMPLATES,
        max_shapes: int = DEFAULT_MAX_SHAPES,
    ) -> None:
        self._similarity = similarity
        self._max_templates = max_templates
        self._max_shapes = max_shapes
        self._masker = TokenMasker()
        self._by_shape: dict[tuple[str, tuple[str, ...]], Template] = {}
        self._groups: dict[tuple[str, int, str], list[Template]] = {}
        self._catch_alls: dict[tuple[str, int], Template] = {}
        self._next_number: dict[str, int] = {}
        self.templates: dict[str, Template] = {}

    def add(self, message: str, service: str = "") -> Match:
        """Mines one message: its template (created or generalised as needed) and parameters."""
        tokens = message.split()
        shape = self._masker.mask(tokens)
        key = (service, shape)
        template = self._by_shape.get(key)
        if template is None:
            template = self._place(service, shape)
            if len(self._by_shape) >= self._max_shapes:
                self._by_shape.clear()
            self._by_shape[key] = template
        template.count += 1
        return Match(template, template.params_of(tokens))

    def add_batch(self, messages: list[str], service: str = "") -> list[Match]:
        """Mines a batch of one service's messages, in order."""
        add = self.add
        return [add(message, service) for message in messages]

    def state(self) -> dict[str, Any]:
        """The miner's state as plain JSON-able data (never a pickle: a state file must not be code)."""
        return {
            "version": STATE_VERSION,
            "similarity": self._similarity,
            "next_number": dict(self._next_number),
            "templates": [
                {"id": t.id, "service": t.service, "tokens": list(t.tokens), "count": t.count}
                for t in self.templates.values()
            ],
            "catch_all": [t.id for t in self._catch_alls.values()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        """A miner that continues from `state()`: same ids, same templates.

        The shape memo is not saved: a shape seen before repeats every literal word of its template,
        so it finds the same template again on first sight.
        """
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"miner state version {state.get('version')!r}, expected {STATE_VERSION}")
        miner = cls(similarity=float(state["similarity"]))
        miner._next_number = {str(k): int(v) for k, v in state["next_number"].items()}
        for item in state["templates"]:
            template = Template(str(item["id"]), str(item["service"]), [str(t) for t in item["tokens"]],
                                int(item["count"]))  # fmt: skip
            miner.templates[template.id] = template
        catch_alls = set(state.get("catch_all", []))
        for template in miner.templates.values():
            if template.id in catch_alls:
                miner._catch_alls[(template.service, len(template.tokens))] = template
                continue
            key = (template.service, len(template.tokens), template.tokens[0] if template.tokens else "")
            miner._groups.setdefault(key, []).append(template)
        return miner

    def _catch_all(self, service: str, length: int) -> Template:
        """The all-wildcard template of a service and length, used once the cap is reached.

        Kept apart from the groups: there it would agree with every shape of its length.
        """
        template = self._catch_alls.get((service, length))
        if template is None:
            template = self._catch_alls[(service, length)] = self._new_template(service, [WILDCARD] * length)
        return template

    def _new_template(self, service: str, tokens: list[str]) -> Template:
        number = self._next_number.get(service, 0) + 1
        self._next_number[service] = number
        template = Template(f"{service or 'x'}-{number}", service, tokens)
        self.templates[template.id] = template
        return template

    def _place(self, service: str, shape: tuple[str, ...]) -> Template:
        # The first word splits groups as in Drain's prefix tree: "Accepted password for …" and "Failed
        # password for …" agree on every other word, yet are different events.
        group = self._groups.setdefault((service, len(shape), shape[0] if shape else ""), [])
        best: Template | None = None
        best_score = 0.0
        for candidate in group:
            score = _similarity(candidate.tokens, shape) if shape else 1.0
            if score > best_score:
                best, best_score = candidate, score
        at_cap = len(self.templates) >= self._max_templates
        if best is not None and (best_score >= self._similarity or at_cap):
            best.generalise(
                [want if want == got else WILDCARD for want, got in zip(best.tokens, shape, strict=True)]
            )
            return best
        if at_cap:
            return self._catch_all(service, len(shape))
        template = self._new_template(service, list(shape))
        group.append(template)
        return template
