"""The one search syntax of loglens, parsed into a public AST and compiled to a DuckDB WHERE clause.

Every value and every JSON path reaches SQL as a bound `?` parameter; the only SQL text is this
module's own column names, functions and operators. Users' reference: `docs/query.md`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from loglens.errors import QueryError
from loglens.record import Level

__all__ = [
    "And",
    "Compare",
    "CompareOp",
    "CompiledQuery",
    "Exists",
    "FieldMatch",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QuerySyntaxError",
    "Regex",
    "Term",
    "and_all",
    "canonical_field",
    "compile_node",
    "compile_query",
    "grep_clause",
    "level_clause",
    "number_expr",
    "parse_query",
    "service_clause",
    "value_expr",
]


# --------------------------------------------------------------------------------------------- errors


class QuerySyntaxError(QueryError):
    """A query could not be parsed; `position` is the 0-based offset of the offending character."""

    def __init__(self, problem: str, text: str, position: int) -> None:
        self.problem = problem
        self.text = text
        self.position = position
        # Tabs and newlines would misalign the caret under the echoed query.
        shown = re.sub(r"\s", " ", text)
        super().__init__(f"{problem} (at column {position + 1})\n  {shown}\n  {' ' * position}^")


# ------------------------------------------------------------------------------------------------ AST


CompareOp: TypeAlias = Literal[">", ">=", "<", "<="]


@dataclass(frozen=True, slots=True)
class Term:
    """A bare word: a case-insensitive substring of the message; `*` in it matches any run of text."""

    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """A quoted phrase: a case-insensitive, literal substring of the message (no wildcards)."""

    text: str


@dataclass(frozen=True, slots=True)
class Regex:
    """A regular expression (RE2 subset of Python's syntax) searched for in `field`."""

    pattern: str
    field: str = "message"
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """`field` equals `value` (or, with `wildcard`, matches it with `*` as any run of text).

    `field` is canonical: `template` is `template_id`, `msg` is `message`, and a level is its label.
    On `message` the match is a case-insensitive substring, as for a bare word.
    """

    field: str
    value: str
    wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Compare:
    """`field` compared as a number; for `level` the value is the severity number of a `Level`."""

    field: str
    op: CompareOp
    value: float


@dataclass(frozen=True, slots=True)
class Exists:
    """`field` is present with a non-null value."""

    field: str


@dataclass(frozen=True, slots=True)
class Not:
    """The negation of `node`; a record for which `node` cannot be decided (a missing field) matches."""

    node: Node


@dataclass(frozen=True, slots=True)
class And:
    """All of `nodes` match; the empty `And` is the empty query and matches everything."""

    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one of `nodes` matches."""

    nodes: tuple[Node, ...]


Node: TypeAlias = Term | Phrase | Regex | FieldMatch | Compare | Exists | Not | And | Or


@dataclass(frozen=True)
class CompiledQuery:
    """A SQL boolean expression over the `records` table and the values of its `?` placeholders."""

    where: str
    params: list[object]


# ------------------------------------------------------------------------------------- vocabulary

# Columns of `records` addressable by name; anything else is a key of the `fields` JSON object.
_TEXT_COLUMNS = frozenset(
    {"service", "host", "source", "level", "template_id", "trace_id", "span_id", "category", "message"}
)
_COLUMNS = _TEXT_COLUMNS | {"pid", "parse_error"}
_FIELD_ALIASES = {"msg": "message", "template": "template_id"}

# A local table rather than `loglens.formats.level`, so the query language does not depend on the
# parsers; it only needs the few short names people type.
_LEVEL_ALIASES: dict[str, Level] = {
    **{level.label: level for level in Level},
    "dbg": Level.DEBUG,
    "information": Level.INFO,
    "informational": Level.INFO,
    "warn": Level.WARNING,
    "err": Level.ERROR,
    "crit": Level.CRITICAL,
    "emerg": Level.FATAL,
    "panic": Level.FATAL,
}

_FIELD_NAME = re.compile(r"[A-Za-z_@][\w.@-]*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMPARE_OP = re.compile(r">=|<=|>|<")
_SQL_OPS: dict[str, CompareOp] = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
_KEYWORDS = frozenset({"OR", "AND", "NOT"})
# Characters that end a bare word or value; `"` only ends one when it opens the token.
_DELIMITERS = frozenset("()|")
# Deep enough for any hand-written query, shallow enough that recursion cannot blow the stack.
_MAX_DEPTH = 64


# --------------------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["(", ")", "OR", "AND", "NOT", "-", "word", "phrase", "regex", "field"]
    pos: int
    text: str = ""
    # For "field" tokens: how the value was written, the value and where it starts.
    value_kind: Literal["bare", "quoted", "regex", ""] = ""
    value: str = ""
    value_pos: int = 0
    ignore_case: bool = False


def _fail(text: str, pos: int, problem: str) -> QuerySyntaxError:
    return QuerySyntaxError(problem, text, pos)


def _ends_token(text: str, i: int) -> bool:
    return i >= len(text) or text[i].isspace() or text[i] in _DELIMITERS


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string opening at `start`; return its unescaped content and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            if not _ends_token(text, i + 1):
                raise _fail(text, i + 1, 'expected a space, ")" or "|" after the closing quote')
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise _fail(
        text, start, "unterminated quoted phrase: add a closing '\"' (write \\\" for a literal quote)"
    )


def _read_regex(text: str, start: int) -> tuple[str, bool, int]:
    """Read `/pattern/` (optionally `/pattern/i`) at `start`; return pattern, ignore-case, next index."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            # Only `\/` is the query language's own escape; every other escape belongs to the regex.
            out.append("/" if text[i + 1] == "/" else text[i : i + 2])
            i += 2
        elif c == "/":
            i += 1
            ignore_case = i < len(text) and text[i] == "i"
            if ignore_case:
                i += 1
            if not _ends_token(text, i):
                raise _fail(
                    text,
                    i,
                    "expected a space after the closing '/' of a regex "
                    '(to search for a path, quote it: "/api/users")',
                )
            return "".join(out), ignore_case, i
        else:
            out.append(c)
            i += 1
    raise _fail(text, start, "unterminated regex: add a closing '/' (write \\/ for a literal slash)")


def _read_bare(text: str, start: int) -> int:
    i = start
    while not _ends_token(text, i):
        i += 1
    return i


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token("(" if c == "(" else ")", i))
            i += 1
        elif c == "|":
            tokens.append(_Token("OR", i))
            i += 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(_Token("-", i))
            i += 1
        elif c == '"':
            phrase, i_next = _read_quoted(text, i)
            tokens.append(_Token("phrase", i, phrase))
            i = i_next
        elif c == "/":
            pattern, ignore_case, i_next = _read_regex(text, i)
            tokens.append(_Token("regex", i, pattern, ignore_case=ignore_case))
            i = i_next
        else:
            name = _FIELD_NAME.match(text, i)
            if name is not None and name.end() < n and text[name.end()] == ":":
                token, i = _read_field(text, i, name.group())
                tokens.append(token)
                continue
            end = _read_bare(text, i)
            word = text[i:end]
            if word in _KEYWORDS:
                tokens.append(_Token(word, i))  # type: ignore[arg-type]  # narrowed by _KEYWORDS
            else:
                tokens.append(_Token("word", i, word))
            i = end
    return tokens


def _read_field(text: str, start: int, name: str) -> tuple[_Token, int]:
    vpos = start + len(name) + 1
    if vpos >= len(text) or text[vpos].isspace() or text[vpos] in ")|":
        raise _fail(
            text,
            vpos,
            f"expected a value after '{name}:' (use {name}:\"\" for an empty value, has:{name} for presence)",
        )
    c = text[vpos]
    if c == "(":
        raise _fail(
            text,
            vpos,
            f"a group cannot follow '{name}:'; write ({name}:a OR {name}:b) or {name}:a,b",
        )
    if c == '"':
        value, end = _read_quoted(text, vpos)
        return _Token("field", start, name, "quoted", value, vpos), end
    if c == "/":
        # `path:/healthcheck` is far more often a path than a regex, so a value that does not read as a
        # whole `/regex/` is taken as plain text instead of being an error.
        try:
            pattern, ignore_case, end = _read_regex(text, vpos)
        except QuerySyntaxError:
            pass
        else:
            return _Token("field", start, name, "regex", pattern, vpos, ignore_case), end
    end = _read_bare(text, vpos)
    return _Token("field", start, name, "bare", text[vpos:end], vpos), end


# ------------------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, pos: int, problem: str) -> QuerySyntaxError:
        return _fail(self.text, pos, problem)

    def parse(self) -> Node:
        if not self.tokens:
            return And(())
        node = self.parse_or()
        extra = self.peek()
        if extra is not None:
            # parse_or only stops early at a ')' it did not open.
            raise self.fail(extra.pos, "unexpected ')' with no matching '('")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            after = self.peek()
            if after is None or after.kind in ("OR", "AND", ")"):
                raise self.fail(token.pos, "OR needs a term after it")
            items.append(self.parse_and())
        return _flatten(Or, items)

    def parse_and(self) -> Node:
        items: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
                after = self.peek()
                if not items:
                    raise self.fail(token.pos, "AND needs a term before it")
                if after is None or after.kind in ("OR", "AND", ")"):
                    raise self.fail(token.pos, "AND needs a term after it")
                continue
            items.append(self.parse_unary())
        if not items:
            if token is None:
                raise self.fail(len(self.text), "expected a term at the end of the query")
            if token.kind == "OR":
                raise self.fail(token.pos, "OR needs a term before it")
            raise self.fail(token.pos, "empty parentheses: put a term inside or remove them")
        return _flatten(And, items)

    def parse_unary(self) -> Node:
        negations = 0
        while (token := self.peek()) is not None and token.kind in ("-", "NOT"):
            last = self.take()
            negations += 1
        target = self.peek()
        if negations and (target is None or target.kind in ("OR", "AND", ")")):
            what = "'-'" if last.kind == "-" else "NOT"
            raise self.fail(last.pos, f"{what} needs a term after it")
        node = self.parse_primary()
        # A run of negations collapses, so `NOT NOT ... x` cannot nest arbitrarily deep.
        return Not(node) if negations % 2 else node

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail(token.pos, f"parentheses nested deeper than {_MAX_DEPTH} levels")
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise self.fail(token.pos, "'(' is never closed: add ')'")
            self.take()
            self.depth -= 1
            return inner
        if token.kind == "phrase":
            return Phrase(token.text)
        if token.kind == "regex":
            _check_regex(token.text, self.text, token.pos + 1)
            return Regex(token.text, ignore_case=token.ignore_case)
        if token.kind == "field":
            return _field_node(token, self.text)
        return Term(token.text)


def _flatten(kind: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.nodes if isinstance(item, kind) else (item,))
    return kind(tuple(flat))


def canonical_field(name: str) -> str:
    """The name a query means by `name`: a column (`msg` → `message`, `Level` → `level`) or, when it is
    not one, the `fields` key exactly as written. Settings that name a field (metrics) read it the same
    way as a query does."""
    lowered = name.lower()
    lowered = _FIELD_ALIASES.get(lowered, lowered)
    return lowered if lowered in _COLUMNS else name


def _field_node(token: _Token, text: str) -> Node:
    name, value, vpos = token.text, token.value, token.value_pos
    if name.lower() == "has":
        if token.value_kind != "bare" or not _FIELD_NAME.fullmatch(value):
            raise _fail(text, vpos, "expected a field name after 'has:', such as has:user or has:http.method")
        return Exists(canonical_field(value))
    field = canonical_field(name)
    if token.value_kind == "regex":
        if field == "pid":
            raise _fail(text, vpos, "pid is a number: use pid:1234 or pid:>1000, not a regex")
        _check_regex(value, text, vpos + 1)
        return Regex(value, field, token.ignore_case)
    if token.value_kind == "quoted":
        return _single_value(field, value, False, text, vpos)
    return _bare_value(field, value, text, vpos)


def _bare_value(field: str, value: str, text: str, vpos: int) -> Node:
    """Turn an unquoted value (`*`, `>=N`, `a,b*`) of `field` into a node; positions are into `text`."""
    if value == "*":
        return Exists(field)
    op = _COMPARE_OP.match(value)
    if op is not None:
        return _compare(field, _SQL_OPS[op.group()], value[op.end() :], text, vpos, vpos + op.end())
    items: list[Node] = []
    offset = vpos
    for item in value.split(","):
        if not item:
            raise _fail(text, offset, "empty value in a comma list: remove the extra ','")
        items.append(_single_value(field, item, "*" in item, text, offset))
        offset += len(item) + 1
    return _flatten(Or, items)


def _single_value(field: str, value: str, wildcard: bool, text: str, pos: int) -> Node:
    if field == "level":
        return FieldMatch("level", _level(value, text, pos).label)
    if field == "pid":
        if not re.fullmatch(r"\d+", value):
            raise _fail(text, pos, f"pid is a whole number, got {value!r}")
        return FieldMatch("pid", value)
    if field == "parse_error" and not wildcard and value.lower() in ("true", "false"):
        exists = Exists("parse_error")
        return exists if value.lower() == "true" else Not(exists)
    return FieldMatch(field, value, wildcard)


def _level(name: str, text: str, pos: int) -> Level:
    level = _LEVEL_ALIASES.get(name.lower())
    if level is None:
        names = ", ".join(level.label for level in Level)
        raise _fail(text, pos, f"unknown level {name!r}: expected one of {names} (or warn, err, crit)")
    return level


def _compare(field: str, op: CompareOp, operand: str, text: str, op_pos: int, pos: int) -> Node:
    if field == "level":
        if _NUMBER.fullmatch(operand):
            return Compare("level", op, float(operand))
        if not operand:
            raise _fail(text, pos, f"expected a level name after '{op}', such as level:{op}warning")
        return Compare("level", op, float(_level(operand, text, pos)))
    if field in _COLUMNS and field != "pid":
        raise _fail(
            text,
            op_pos,
            f"'{field}' is text: numeric comparisons work on pid, level and parsed fields",
        )
    if not _NUMBER.fullmatch(operand):
        got = f", got {operand!r}" if operand else ""
        raise _fail(text, pos, f"expected a number after '{op}'{got}")
    return Compare(field, op, float(operand))


# ------------------------------------------------------------------------------------------- regex

_RE2_UNSUPPORTED = (
    ("(?=", "look-ahead (?=...)"),
    ("(?!", "negative look-ahead (?!...)"),
    ("(?<=", "look-behind (?<=...)"),
    ("(?<!", "negative look-behind (?<!...)"),
    ("(?>", "atomic groups (?>...)"),
    ("(?P=", "named backreferences (?P=name)"),
    ("(?(", "conditional groups (?(...))"),
    ("(?#", "comments (?#...)"),
)


_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_RE2_MAX_REPEAT = 1000


def _check_regex(pattern: str, text: str, pos: int) -> None:
    """Reject what Python's `re` cannot compile, then what DuckDB's RE2 engine does not support.

    `pos` is where the pattern starts in `text`; offsets are approximate where `\\/` was unescaped.
    """
    try:
        with warnings.catch_warnings():
            # Python warns about `[[` that may change meaning one day; RE2 reads it as a POSIX class.
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
    except re.error as exc:
        at = pos + (exc.pos or 0)
        raise _fail(text, at, f"invalid regex: {exc.msg}") from None
    except OverflowError as exc:  # a repeat count past what `re` takes, such as a{4294967296}
        raise _fail(text, pos, f"invalid regex: {exc}") from None
    problem = _re2_problem(pattern)
    if problem is not None:
        offset, what = problem
        raise _fail(text, pos + offset, f"regexes run on DuckDB's RE2 engine, which does not support {what}")


def class_body(pattern: str, i: int) -> int:
    """Where the body of the character class opened at `i` starts: past `[` or `[^`, and past a `]`
    right after them, which is a literal there, not the end of the class."""
    i += 2 if pattern[i + 1 : i + 2] == "^" else 1
    return i + 1 if pattern[i : i + 1] == "]" else i


_EMPTY_GROUP_OR_PIECE = re.compile(
    r"(?P<empty>\(\?[a-zA-Z-]*:\))|\\.|\[\^?\]?(?:\[:\^?[a-z]+:\]|\\.|[^\]])*\]?", re.DOTALL
)
"""An empty non-capturing group, or what may hold text that looks like one: an escape, a class."""


def without_empty_groups(pattern: str) -> str:
    """`pattern` with each empty non-capturing group, `(?:)` or `(?i:)`, written `()`: the same
    matches, but DuckDB 2.0's regex optimizer reads `(?:)a` as "starts with a" and `a(?:)` as "ends
    with a" on a column (found by fuzzing the two stores against each other). Escapes and classes
    are matched whole, so `\\(?:)` and `[(?:)]` stay as they are."""
    if "(?" not in pattern:
        return pattern
    return _EMPTY_GROUP_OR_PIECE.sub(lambda m: "()" if m["empty"] else m[0], pattern)


def _re2_problem(pattern: str) -> tuple[int, str] | None:
    i = 0
    in_class = False
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            escaped = pattern[i + 1 : i + 2]
            if not in_class and escaped and (escaped in "123456789" or escaped == "g"):
                return i, "a backreference"
            if escaped == "Z":
                return i, r"\Z (use $)"
            if escaped and escaped in "uUN":
                return i, f"the escape \\{escaped} (write the character itself)"
            if escaped and not escaped.isascii():
                return i, f"a backslash before {escaped!r} (write the character without it)"
            if in_class and escaped and escaped in "1234567b":
                return i, f"\\{escaped} in a character class (octal and backspace escapes)"
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i = class_body(pattern, i)
            continue
        elif c == "(":
            for prefix, what in _RE2_UNSUPPORTED:
                if pattern.startswith(prefix, i):
                    return i, what
            flags = re.match(r"\(\?([a-zA-Z-]+)[:)]", pattern[i:])
            if flags is not None and set(flags.group(1)) - set("ims-"):
                return i, f"the inline flag set (?{flags.group(1)})"
        elif c in "*+?}" and pattern[i + 1 : i + 2] == "+":
            return i + 1, "a possessive quantifier"
        elif c == "{":
            bounds = _REPEAT.match(pattern, i)
            if bounds is not None and any(int(b) > _RE2_MAX_REPEAT for b in bounds.groups() if b):
                return i, f"a repeat count above {_RE2_MAX_REPEAT}"
        i += 1
    return None


# ----------------------------------------------------------------------------------------- compiler


def parse_query(text: str) -> Node:
    """Parse a search query into its AST; the empty query is `And(())`.

    Raises:
        QuerySyntaxError: (a `QueryError`) with the offending position and what was expected.
    """
    return _Parser(text).parse()


def compile_query(text: str) -> CompiledQuery:
    """Parse and compile a search query to a WHERE expression over `records` with bound parameters."""
    return compile_node(parse_query(text))


def compile_node(node: Node) -> CompiledQuery:
    """Compile an AST (from `parse_query` or built by hand) to SQL with `?` parameters in order."""
    params: list[object] = []
    where = _compile(node, params)
    return CompiledQuery(where, params)


def _compile(node: Node, params: list[object]) -> str:
    match node:
        case Term(text):
            return _message_match(text, "*" in text, params)
        case Phrase(text):
            return _message_match(text, False, params)
        case Regex(pattern, field, ignore_case):
            target = value_expr(field, params)
            params.append(("(?i)" if ignore_case else "") + without_empty_groups(pattern))
            return f"regexp_matches({target}, ?)"
        case FieldMatch(field, value, wildcard):
            return _field_match(field, value, wildcard, params)
        case Compare(field, op, value):
            return _compare_sql(field, op, value, params)
        case Exists(field):
            return f"({value_expr(field, params)} IS NOT NULL)"
        case Not(inner):
            # IS NOT TRUE rather than NOT: a record missing the field (NULL) does not match `x`, so it
            # must match `-x`.
            return f"(({_compile(inner, params)}) IS NOT TRUE)"
        case And(nodes):
            return _join(nodes, "AND", "TRUE", params)
        case Or(nodes):
            return _join(nodes, "OR", "FALSE", params)
    raise TypeError(f"not a query node: {node!r}")


def _join(nodes: tuple[Node, ...], keyword: str, empty: str, params: list[object]) -> str:
    if not nodes:
        return empty
    if len(nodes) == 1:
        return _compile(nodes[0], params)
    return "(" + f" {keyword} ".join(_compile(child, params) for child in nodes) + ")"


def value_expr(field: str, params: list[object]) -> str:
    """SQL for the value of `field` (a canonical name): its column, or the text of its JSON value in
    `fields`, NULL where absent. JSON paths are appended to `params`, so a field name never becomes
    SQL text; raises QueryError for a name the query language could not have parsed."""
    if field in _COLUMNS:
        return field
    if not _FIELD_NAME.fullmatch(field):
        raise QueryError(f"{field!r} is not a field name: use letters, digits, '_', '.', '@' and '-'")
    params.append(_json_pointer(field.split(".")))
    if "." not in field:
        return "json_extract_string(fields, ?)"
    # `http.method` is the nested path first, then a flat key spelled with a dot, as loggers write both.
    params.append(_json_pointer([field]))
    return "COALESCE(json_extract_string(fields, ?), json_extract_string(fields, ?))"


def number_expr(field: str, params: list[object]) -> str:
    """SQL for `field` read as a DOUBLE, NULL where absent or not a number.

    A JSON number 250 and a string "250" both read as 250.0 (loggers write both); numeric comparisons
    and numeric metrics go through here so that they agree on what a field's number is.
    """
    if field in _COLUMNS and field != "pid":
        raise QueryError(f"'{field}' is text, not a number: numbers come from pid and parsed fields")
    return f"TRY_CAST({value_expr(field, params)} AS DOUBLE)"


def _json_pointer(keys: list[str]) -> str:
    # RFC 6901 pointers need no quoting of dots, unlike `$.a.b` paths.
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in keys)


def _like(target: str, operator: str, glob: str, substring: bool, params: list[object]) -> str:
    """`target LIKE pattern` for a `*` glob, with the ESCAPE clause only when the glob needs it."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = escaped.replace("*", "%")
    params.append(f"%{pattern}%" if substring else pattern)
    # DuckDB turns an escape-free LIKE into a prefix/contains scan; with ESCAPE it falls back to the
    # generic matcher, measured 2-5x slower on 1M rows.
    escape = " ESCAPE '\\'" if escaped != glob else ""
    return f"({target} {operator} ?{escape})"


def _message_match(text: str, wildcard: bool, params: list[object]) -> str:
    if wildcard:
        return _like("message", "ILIKE", text, True, params)
    # Needs no escaping of user text, and is as fast as an escape-free ILIKE on 1M rows (ILIKE with
    # ESCAPE, needed for text holding % or _, is twice as slow). lower(?) folds case as the column does.
    params.append(text)
    return "contains(lower(message), lower(?))"


def _field_match(field: str, value: str, wildcard: bool, params: list[object]) -> str:
    if field == "message":
        return _message_match(value, wildcard, params)
    if field == "pid":
        if not value.isdigit():
            raise QueryError(f"pid is a whole number, got {value!r}")
        params.append(int(value))
        return "(pid = ?)"
    if field == "level" and value.lower() in _LEVEL_ALIASES:
        # Parsed trees already hold labels; this serves trees built by hand with `warn` or `ERROR`.
        value = _LEVEL_ALIASES[value.lower()].label
    target = value_expr(field, params)
    if wildcard:
        return _like(target, "LIKE", value, False, params)
    params.append(value)
    if field in _COLUMNS or not _NUMBER.fullmatch(value):
        return f"({target} = ?)"
    # A JSON number 502 and a string "502" both read as '502', but 502.0 only matches numerically.
    second = value_expr(field, params)
    params.append(float(value))
    return f"({target} = ? OR TRY_CAST({second} AS DOUBLE) = ?)"


def _compare_sql(field: str, op: CompareOp, value: float, params: list[object]) -> str:
    sql_op = _SQL_OPS[op]
    if field == "level":
        params.append(int(value) if value.is_integer() else value)
        return f"(severity {sql_op} ?)"
    if field == "pid":
        params.append(value)
        return f"(pid {sql_op} ?)"
    if field in _COLUMNS:
        raise QueryError(f"'{field}' is text: numeric comparisons work on pid, level and parsed fields")
    target = number_expr(field, params)
    params.append(value)
    return f"({target} {sql_op} ?)"


# -------------------------------------------------------------------------------------- CLI helpers


def level_clause(spec: str) -> CompiledQuery:
    """The query for `--level`: a name (`error`), a list (`error,warning`) or a bound (`>=warning`)."""
    return compile_node(level_node(spec))


def level_node(spec: str) -> Node:
    """`level_clause`'s query as a tree."""
    spec = "".join(spec.split())
    if not spec:
        raise QuerySyntaxError("expected a level such as error, error,warning or >=warning", spec, 0)
    return _bare_value("level", spec, spec, 0)


def service_clause(names: Sequence[str]) -> CompiledQuery:
    """The query for repeated `--service` flags: any of the names (each may hold `*` or a comma list)."""
    return compile_node(service_node(names))


def service_node(names: Sequence[str]) -> Node:
    """`service_clause`'s query as a tree (the empty `And`, matching everything, for no names)."""
    nodes: list[Node] = []
    for name in names:
        if not name.strip():
            raise QuerySyntaxError("expected a service name", name, 0)
        nodes.append(_bare_value("service", name.strip(), name.strip(), 0))
    return _flatten(Or, nodes) if nodes else And(())


def grep_clause(pattern: str) -> CompiledQuery:
    """The query for `--grep`: a case-sensitive regex searched for in the message, as grep does."""
    _check_regex(pattern, pattern, 0)
    return compile_node(Regex(pattern))


def and_all(parts: Sequence[CompiledQuery]) -> CompiledQuery:
    """Combine query fragments so that all must match; `TRUE` fragments are dropped."""
    kept = [part for part in parts if part.where != "TRUE"]
    if not kept:
        return CompiledQuery("TRUE", [])
    if len(kept) == 1:
        return CompiledQuery(kept[0].where, list(kept[0].params))
    params: list[object] = []
    for part in kept:
        params.extend(part.params)
    return CompiledQuery("(" + " AND ".join(f"({part.where})" for part in kept) + ")", params)
