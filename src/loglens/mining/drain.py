"""The template miner: online, per service, Drain-style grouping over masked tokens, memoised by shape.

A message is split on whitespace and its variable tokens masked (masking.py). Messages with the same
masked shape always share a template (one dict lookup on the hot path). A new shape joins the most
similar template of the same service and length when it repeats enough of the template's literal words
in place; the positions that differ become wildcards. A template keeps its id when it
generalises, so older records still resolve to it; `state()` / `from_state()` carry ids across restarts
as plain JSON, and `take_changes()` hands the templates made or generalised since the last call to
whoever persists them (the store's `templates` table).

A message is mined by its first line (its headline: what follows is a stack trace or a dump, context
rather than wording) and at most `MAX_TOKENS` words, the rest of the line being the last one, so that
neither one huge message nor a flood of them can make templates without bound.

Records of a tenant are mined apart from every other tenant's (and from records without one): the
templates of a service are those of one (tenant, service) owner, so no template's text or id ever
mixes two tenants' messages, and a tenant's template ids start with its name (`acme/api-3`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from loglens.mining.masking import CLOSERS, MAX_TOKENS, WILDCARD, TokenMasker

STATE_VERSION = 1
DEFAULT_MAX_TEMPLATES = 50_000
DEFAULT_MAX_SHAPES = 20_000
"""Masked shapes remembered (cleared when full; a shape then finds its template again by similarity).
The 2M-line generated corpus has 29k shapes; mining it ran at the same speed with 20k, 50k and 200k
(408k, 410k, 411k lines/s), while at 200k a 10M-line ingest held ~25 MB more."""
MESSAGE_MEMO = 16_384
"""Recent messages remembered word for word (cleared when full): 51% of a generated corpus' messages
hit it at this size, 54% at 65,536."""
MEMO_MESSAGE_CHARS = 512
"""Longer messages are not remembered, so the memo holds at most ~8 MB of text."""
DEFAULT_SIMILARITY = 0.7
"""Measured on Loghub-2k (bench/loghub.py), message-only mean GA: 0.914 at 0.65, 0.931 at 0.7, 0.932 at
0.75, 0.869 at 0.8 — 0.7 sits inside the plateau rather than on its edge."""


Owner = str | tuple[str, str]
"""Whose messages a template groups: the service's name, or (tenant, service) for a tenant's records
(a tuple never equals a name, so no service name can stand for a tenant's)."""

Slot = tuple[int, str, str, "re.Pattern[str] | None"]
"""Where a template's variable is: token position, fixed text before and after a single `<*>`, or,
for a token holding several (`/cart/<*>/items/<*>`), a pattern capturing each."""


@dataclass(slots=True)
class Template:
    """A template: its stable id, tokens (with `<*>` wildcards) and how many messages it has.

    `slots` and `wording` are kept in step with `tokens`, so that reading a message's parameters
    costs one step per variable, and comparing a new message shape one step per word of wording.
    """

    id: str
    service: str
    tokens: list[str]
    count: int = 0
    catch_all: bool = False
    slots: tuple[Slot, ...] = ()
    wording: tuple[tuple[int, str, bool], ...] = ()
    tenant: str = ""

    def __post_init__(self) -> None:
        self.slots = wildcard_slots(self.tokens)
        self.wording = wording_of(self.tokens)

    @property
    def text(self) -> str:
        """The template as one string, `<*>` for each variable."""
        return " ".join(self.tokens)

    def generalise(self, tokens: list[str]) -> None:
        """Replaces the tokens (same length, more wildcards) and re-indexes the wildcards."""
        self.tokens = tokens
        self.slots = wildcard_slots(tokens)
        self.wording = wording_of(tokens)

    def params_of(self, tokens: list[str]) -> list[str]:
        """The values behind each wildcard in one message's tokens (same length as the template)."""
        params: list[str] = []
        for index, head, tail, pattern in self.slots:
            got = tokens[index]
            if pattern is not None:
                match = pattern.match(got)
                if match is not None:
                    params.extend(match.groups())
                    continue
            elif head or tail:
                got = _inner(got, head, tail)
            params.append(got)
        return params


def wildcard_slots(tokens: list[str]) -> tuple[Slot, ...]:
    """The slot of every token holding a wildcard."""
    slots: list[Slot] = []
    for index, token in enumerate(tokens):
        if WILDCARD in token:
            pieces = token.split(WILDCARD)
            if len(pieces) > 2:
                pattern = re.compile("(.*?)".join(map(re.escape, pieces)) + r"\Z", re.DOTALL)
                slots.append((index, "", "", pattern))
            else:
                slots.append((index, pieces[0], pieces[1], None))
    return tuple(slots)


def _inner(token: str, head: str, tail: str) -> str:
    """The part of `token` between a partial wildcard's fixed text (`(pid=<*>),` → the pid)."""
    if token.startswith(head) and token.endswith(tail) and len(token) >= len(head) + len(tail):
        return token[len(head) : len(token) - len(tail)] if tail else token[len(head) :]
    return token


def tokenize(message: str) -> list[str]:
    """The words a message is mined by: its first line, split on whitespace, capped at `MAX_TOKENS`."""
    if "\n" in message:
        message = message.split("\n", 1)[0]
    return message.split(None, MAX_TOKENS - 1)


class TemplateChange(NamedTuple):
    """A template as it stands now, for whoever persists templates: made or generalised since the last
    `take_changes()`."""

    id: str
    service: str
    text: str
    catch_all: bool
    tenant: str = ""


def owner_of(service: str, tenant: str) -> Owner:
    """The owner a record's templates belong to (see `Owner`)."""
    return (tenant, service) if tenant else service


def id_prefix(service: str, tenant: str) -> str:
    """What a template id starts with: the service (`x` when it has none), after the tenant's name."""
    return f"{tenant}/{service or 'x'}" if tenant else service or "x"


class MinedRecord(Protocol):
    """A record the miner can label in place: its message in, its template id and values out."""

    service: str
    tenant: str
    message: str
    template_id: str | None
    params: list[str] | None


@dataclass(frozen=True, slots=True)
class Match:
    """What mining one message gave: its template and the values of the template's variables."""

    template: Template
    params: list[str] = field(default_factory=list)


def wording_of(tokens: list[str]) -> tuple[tuple[int, str, bool], ...]:
    """The words of a template that a message must repeat: (position, word, framed) for every word
    but the wildcards and the framed values without wording (`<*>:<*>`, `(<*>)`); a framed word with
    wording (`uid=<*>`) is repeated by any word that fills it."""
    return tuple(
        (index, token, WILDCARD in token)
        for index, token in enumerate(tokens)
        if token != WILDCARD and (WILDCARD not in token or _has_wording(token))
    )


def _similarity(template: Template, shape: tuple[str, ...]) -> float:
    """Share of the template's wording that the shape repeats in place.

    Wildcards take no part: counting them as agreement let mostly-variable templates swallow
    everything of their length (Linux GA 0.41), and counting them as disagreement (Drain3 with masks)
    keeps mostly-masked messages from ever joining a template, so templates grow without bound.
    """
    wording = template.wording
    if not wording:
        return 1.0
    agree = 0
    for index, want, framed in wording:
        got = shape[index]
        if want == got or (framed and _fits(want, got)):
            agree += 1
    return agree / len(wording)


def _has_wording(word: str) -> bool:
    """True when a word with wildcards keeps a letter or digit of its own (`uid=<*>`, not `(<*>)`)."""
    return any(c.isalnum() for c in word.replace(WILDCARD, ""))


_FRAME_OPENERS = "=:([{'\"/"
"""Where a shared frame may end before its wildcard: a key, an opening bracket or quote, a slash."""


def _fits(want: str, got: str) -> bool:
    """True when the word `got` fills a framed wildcard word `want` (`(<*>)` takes `(unknown)`)."""
    head, _, tail = want.partition(WILDCARD)
    return (
        WILDCARD not in tail
        and len(got) >= len(head) + len(tail)
        and got.startswith(head)
        and got.endswith(tail)
    )


def _shared_start(a: str, b: str) -> str:
    """The characters `a` and `b` begin with in common."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def merge_words(want: str, got: str) -> str:
    """One template word for two different words: the frame they share kept around a wildcard.

    `(<*>)` and `(unknown)` give `(<*>)`, `<*>:` and `main:` give `<*>:`, `tty=ssh` and `tty=pts`
    give `tty=<*>`: the shared text up to a key or opening sign, and shared closing punctuation.
    Without a frame in common the word is `<*>`.
    """
    if WILDCARD in want and _fits(want, got):
        return want
    shared = _shared_start(want, got)
    head = shared[: max(shared.rfind(c) for c in _FRAME_OPENERS) + 1]
    if WILDCARD[:2] in head:
        head = ""
    rest_want, rest_got = want[len(head) :], got[len(head) :]
    tail = _shared_start(rest_want[::-1], rest_got[::-1])[::-1]
    tail = tail[len(tail.rstrip(CLOSERS)) :]
    if len(head) + len(tail) >= min(len(want), len(got)):
        return WILDCARD
    return f"{head}{WILDCARD}{tail}"


class TemplateMiner:
    """Mines templates from messages, one service's messages never joining another's templates.

    Memory is bounded: the message and shape memos are caches (cleared past `MESSAGE_MEMO` and
    `max_shapes`; shapes find their templates again by similarity), and past `max_templates` no
    template is created: a new shape joins the most similar template of its group, however little it
    agrees (generalising it), or, in a group with none, one all-wildcard template per service and
    length, so that ids already handed out stay valid.

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
        self._by_shape: dict[tuple[Owner, tuple[str, ...]], Template] = {}
        self._messages: dict[tuple[Owner, str], tuple[Template, tuple[Slot, ...], list[str]]] = {}
        self._groups: dict[tuple[Owner, int, str], list[Template]] = {}
        self._catch_alls: dict[tuple[Owner, int], Template] = {}
        self._next_number: dict[str, int] = {}  # per id prefix, so no two owners share an id
        self._changed: dict[str, Template] = {}
        self.templates: dict[str, Template] = {}

    def add(self, message: str, service: str = "", tenant: str = "") -> Match:
        """Mines one message: its template (created or generalised as needed) and parameters."""
        return Match(*self._mine(message, service, tenant))

    def label(self, records: Iterable[MinedRecord]) -> None:
        """Mines each record's message and sets its `template_id` and `params` (the ingest hot path).

        Records with the same message share one `params` list: treat it as read-only.
        """
        mine = self._mine
        for record in records:
            template, record.params = mine(record.message, record.service, record.tenant)
            record.template_id = template.id

    def mine_columns(
        self, services: list[str], messages: list[str], tenants: list[str] | None = None
    ) -> tuple[list[str], list[list[str]]]:
        """Template ids and values of a batch given as columns (what the mining process receives)."""
        mine = self._mine
        ids: list[str] = []
        values: list[list[str]] = []
        owners = tenants if tenants is not None else [""] * len(services)
        for service, message, tenant in zip(services, messages, owners, strict=True):
            template, params = mine(message, service, tenant)
            ids.append(template.id)
            values.append(params)
        return ids, values

    def _mine(self, message: str, service: str, tenant: str = "") -> tuple[Template, list[str]]:
        # Half the messages of a typical stream repeat one seen shortly before, word for word
        # (`message published`, `GET /healthz HTTP/1.1`): those skip tokenizing and masking. The
        # template's `slots` tuple says whether it generalised since; if so the values are read again.
        owner = (tenant, service) if tenant else service
        key = (owner, message)
        known = self._messages.get(key)
        if known is not None:
            template, slots, params = known
            template.count += 1
            if template.slots is slots:
                return template, params
            params = template.params_of(tokenize(message))
            self._messages[key] = (template, template.slots, params)
            return template, params
        tokens = tokenize(message)
        template = self._template_of(tokens, owner)
        params = template.params_of(tokens) if template.slots else []
        if len(message) <= MEMO_MESSAGE_CHARS:
            if len(self._messages) >= MESSAGE_MEMO:
                self._messages.clear()
            self._messages[key] = (template, template.slots, params)
        return template, params

    def take_changes(self) -> list[TemplateChange]:
        """The templates made or generalised since the last call, as they stand now."""
        changes = [
            TemplateChange(t.id, t.service, t.text, t.catch_all, t.tenant) for t in self._changed.values()
        ]
        self._changed.clear()
        return changes

    def _template_of(self, tokens: list[str], owner: Owner) -> Template:
        shape = self._masker.mask(tokens)
        key = (owner, shape)
        template = self._by_shape.get(key)
        if template is None:
            template = self._place(owner, shape)
            if len(self._by_shape) >= self._max_shapes:
                self._by_shape.clear()
            self._by_shape[key] = template
        template.count += 1
        return template

    def state(self) -> dict[str, Any]:
        """The miner's state as plain JSON-able data (never a pickle: a state file must not be code)."""
        return {
            "version": STATE_VERSION,
            "similarity": self._similarity,
            "next_number": dict(self._next_number),
            "templates": [
                {"id": t.id, "service": t.service, "tokens": list(t.tokens), "count": t.count}
                | ({"tenant": t.tenant} if t.tenant else {})
                for t in self.templates.values()
            ],
            "catch_all": [t.id for t in self._catch_alls.values()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], max_templates: int = DEFAULT_MAX_TEMPLATES) -> TemplateMiner:
        """A miner that continues from `state()`: same ids, same templates.

        The shape memo is not saved: a shape seen before repeats every literal word of its template,
        so it finds the same template again on first sight.
        """
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"miner state version {state.get('version')!r}, expected {STATE_VERSION}")
        similarity = float(state.get("similarity", DEFAULT_SIMILARITY))
        miner = cls(similarity=similarity, max_templates=max_templates)
        miner._next_number = {str(k): int(v) for k, v in state.get("next_number", {}).items()}
        for item in state["templates"]:
            template = Template(str(item["id"]), str(item["service"]), [str(t) for t in item["tokens"]],
                                int(item["count"]), tenant=str(item.get("tenant", "")))  # fmt: skip
            miner.templates[template.id] = template
        catch_alls = set(state.get("catch_all", []))
        for template in miner.templates.values():
            owner = owner_of(template.service, template.tenant)
            if template.id in catch_alls:
                template.catch_all = True
                miner._catch_alls[(owner, len(template.tokens))] = template
                continue
            key = (owner, len(template.tokens), template.tokens[0] if template.tokens else "")
            miner._groups.setdefault(key, []).append(template)
        for template in miner.templates.values():
            # Ids handed out are never handed out again, even when the saved counter is behind them.
            prefix, _, number = template.id.rpartition("-")
            if number.isdigit() and prefix:
                known = miner._next_number.get(prefix, 0)
                miner._next_number[prefix] = max(known, int(number))
        return miner

    @classmethod
    def from_changes(
        cls, rows: Iterable[TemplateChange], max_templates: int = DEFAULT_MAX_TEMPLATES
    ) -> TemplateMiner:
        """A miner that continues from persisted templates (the store's `templates` rows)."""
        rows = list(rows)
        templates = [
            {"id": r.id, "service": r.service, "tokens": r.text.split(" ") if r.text else [], "count": 0,
             "tenant": r.tenant}
            for r in rows
        ]  # fmt: skip
        catch_all = [r.id for r in rows if r.catch_all]
        state = {"version": STATE_VERSION, "templates": templates, "catch_all": catch_all}
        return cls.from_state(state, max_templates)

    def _catch_all(self, owner: Owner, length: int) -> Template:
        """The all-wildcard template of an owner and length, used once the cap is reached.

        Kept apart from the groups: there it would agree with every shape of its length.
        """
        template = self._catch_alls.get((owner, length))
        if template is None:
            template = self._catch_alls[(owner, length)] = self._new_template(owner, [WILDCARD] * length)
            template.catch_all = True
        return template

    def _new_template(self, owner: Owner, tokens: list[str]) -> Template:
        tenant, service = owner if isinstance(owner, tuple) else ("", owner)
        prefix = id_prefix(service, tenant)
        number = self._next_number.get(prefix, 0) + 1
        self._next_number[prefix] = number
        template = Template(f"{prefix}-{number}", service, tokens, tenant=tenant)
        self.templates[template.id] = template
        self._changed[template.id] = template
        return template

    def _place(self, owner: Owner, shape: tuple[str, ...]) -> Template:
        # The first word splits groups as in Drain's prefix tree: "Accepted password for …" and "Failed
        # password for …" agree on every other word, yet are different events.
        group = self._groups.setdefault((owner, len(shape), shape[0] if shape else ""), [])
        best: Template | None = None
        best_score = 0.0
        for candidate in group:
            score = _similarity(candidate, shape) if shape else 1.0
            if score > best_score:
                best, best_score = candidate, score
        at_cap = len(self.templates) >= self._max_templates
        if best is not None and (best_score >= self._similarity or at_cap):
            tokens = [
                want if want == got else merge_words(want, got)
                for want, got in zip(best.tokens, shape, strict=True)
            ]
            if tokens != best.tokens:
                best.generalise(tokens)
                self._changed[best.id] = best
            return best
        if at_cap:
            return self._catch_all(owner, len(shape))
        template = self._new_template(owner, list(shape))
        group.append(template)
        return template
