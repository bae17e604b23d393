"""DuckDB SQL fragments and RE2 patterns made fit for PostgreSQL, at the store boundary.

Queries reach a store as DuckDB SQL with `?` parameters (query/language.py and hand-written bounds such
as `ts >= make_timestamp_ns(?)`). `PostgresStore` runs them unchanged in meaning: the functions they
call exist in its schema under DuckDB's names (postgres_schema.py), and this module rewrites the few
shapes that cannot be functions — placeholders, `TRY_CAST`, `DOUBLE`, `regexp_matches` (PostgreSQL's
own returns a set) and RE2 regex syntax.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from loglens.errors import QueryError, StoreError
from loglens.query.language import class_body

__all__ = ["TranslatedSql", "re2_to_postgres", "to_postgres", "translate"]

_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<string>[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<param>\?)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_TRY_CASTS = {
    "double": "try_double",
    "double precision": "try_double",
    "float": "try_double",
    "float8": "try_double",
    "bigint": "try_bigint",
    "int8": "try_bigint",
}
"""`TRY_CAST(x AS <type>)` → the schema's function that returns NULL where the cast would fail."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class TranslatedSql:
    """A statement in PostgreSQL's dialect, and which of its parameters are RE2 patterns (by position
    among the `?`s) that `to_postgres` must translate as well."""

    sql: str
    regex_params: tuple[int, ...] = ()


def to_postgres(sql: str, params: Sequence[object]) -> tuple[str, list[object]]:
    """A DuckDB statement with `?` parameters as a psycopg statement with `%s` ones, and its values
    (regex patterns translated); raises QueryError for a regex PostgreSQL cannot run, and for a NUL
    character, which PostgreSQL text cannot hold (stored records have `\\x00` in its place)."""
    translated = translate(sql)
    values = list(params)
    if any(isinstance(value, str) and "\x00" in value for value in values):
        raise QueryError("a query cannot hold a NUL character on the PostgreSQL store (search for \\x00)")
    for index in translated.regex_params:
        if index < len(values) and isinstance(values[index], str):
            values[index] = re2_to_postgres(str(values[index]))
    return translated.sql, values


@functools.lru_cache(maxsize=512)
def translate(sql: str, placeholders: bool = True) -> TranslatedSql:
    """Rewrites DuckDB-only shapes of `sql` into PostgreSQL's.

    With `placeholders`, `?` becomes `%s` and a literal `%` becomes `%%` (psycopg reads `%` anywhere in
    a statement that has parameters); without, the text is for a statement run without parameters
    (`loglens sql`). Cached: a store runs the same few shapes again and again.
    """
    tokens = [_Token(str(m.lastgroup), m.group()) for m in _TOKEN.finditer(sql)]
    regex_params: list[int] = []
    out = _rewrite(tokens, regex_params)
    text = "".join(_placeholder(t) if placeholders else t.text for t in out)
    return TranslatedSql(text, tuple(regex_params))


def _placeholder(token: _Token) -> str:
    if token.kind == "param":
        return "%s"
    return token.text.replace("%", "%%")


def _rewrite(tokens: list[_Token], regex_params: list[int]) -> list[_Token]:
    """One pass over the tokens, rewriting each known shape where it starts; parameters keep their
    order, so their positions still match the caller's values."""
    out: list[_Token] = []
    params_seen = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = token.text.lower() if token.kind == "ident" else ""
        if token.kind == "param":
            params_seen += 1
        elif name == "try_cast" and _opens_call(tokens, i):
            replaced, i = _try_cast(tokens, i, regex_params, params_seen)
            params_seen += sum(1 for t in replaced if t.kind == "param")
            out.extend(replaced)
            continue
        elif name == "regexp_matches" and _opens_call(tokens, i):
            replaced, i = _regexp_matches(tokens, i, regex_params, params_seen)
            params_seen += sum(1 for t in replaced if t.kind == "param")
            out.extend(replaced)
            continue
        elif name == "contains" and (lowered := _contains_lower(tokens, i)) is not None:
            # `contains(lower(message), lower(?))` is the query language's word match: as ILIKE on the
            # column itself it is the same test, and the trigram index on `message` can serve it.
            column, end = lowered
            out.extend([_Token("ident", "ilike_contains"), _Token("other", "("), column])
            out.extend([_Token("other", ","), _Token("ws", " "), _Token("param", "?"), _Token("other", ")")])
            params_seen += 1
            i = end
            continue
        elif name == "double" and not _next_is(tokens, i, "precision"):
            out.append(_Token("ident", "double precision"))
            i += 1
            continue
        out.append(token)
        i += 1
    return out


def _significant(tokens: list[_Token], i: int) -> int:
    """The index of the first token at or after `i` that is not whitespace or a comment."""
    while i < len(tokens) and tokens[i].kind in ("ws", "comment"):
        i += 1
    return i


def _next_is(tokens: list[_Token], i: int, word: str) -> bool:
    j = _significant(tokens, i + 1)
    return j < len(tokens) and tokens[j].kind == "ident" and tokens[j].text.lower() == word


def _opens_call(tokens: list[_Token], i: int) -> bool:
    j = _significant(tokens, i + 1)
    return j < len(tokens) and tokens[j].text == "("


def _arguments(tokens: list[_Token], i: int) -> tuple[list[list[_Token]], int]:
    """The top-level arguments of the call whose name is at `i`, and the index after its `)`."""
    j = _significant(tokens, i + 1) + 1
    depth = 0
    args: list[list[_Token]] = [[]]
    while j < len(tokens):
        text = tokens[j].text
        if tokens[j].kind == "other" and text in "([":
            depth += 1
        elif tokens[j].kind == "other" and text in ")]":
            if depth == 0:
                return args, j + 1
            depth -= 1
        elif tokens[j].kind == "other" and text == "," and depth == 0:
            args.append([])
            j += 1
            continue
        args[-1].append(tokens[j])
        j += 1
    raise StoreError(f"unbalanced parentheses in SQL: {''.join(t.text for t in tokens)}")


def _strip(tokens: list[_Token]) -> list[_Token]:
    kept = list(tokens)
    while kept and kept[0].kind in ("ws", "comment"):
        kept.pop(0)
    while kept and kept[-1].kind in ("ws", "comment"):
        kept.pop()
    return kept


def _try_cast(
    tokens: list[_Token], i: int, regex_params: list[int], params_before: int
) -> tuple[list[_Token], int]:
    """`TRY_CAST(x AS DOUBLE)` → `try_double(x)` (x itself rewritten too)."""
    args, end = _arguments(tokens, i)
    inner = _strip(args[0]) if len(args) == 1 else []
    words = [k for k, t in enumerate(inner) if t.kind == "ident" and t.text.lower() == "as"]
    if not words:
        raise StoreError("TRY_CAST takes one `x AS type` argument")
    cut = words[-1]
    type_name = " ".join(t.text.lower() for t in inner[cut + 1 :] if t.kind == "ident")
    function = _TRY_CASTS.get(type_name)
    if function is None:
        raise StoreError(f"TRY_CAST to {type_name.upper()} is not available on the PostgreSQL store")
    value = _rewrite_nested(_strip(inner[:cut]), regex_params, params_before)
    return [_Token("ident", function), _Token("other", "("), *value, _Token("other", ")")], end


def _regexp_matches(
    tokens: list[_Token], i: int, regex_params: list[int], params_before: int
) -> tuple[list[_Token], int]:
    """`regexp_matches(text, pattern)` → `re_matches(text, pattern)`, a boolean as in DuckDB; a pattern
    given as `?` is noted for translation, one written as a literal is translated here."""
    args, end = _arguments(tokens, i)
    if len(args) != 2:
        raise StoreError("regexp_matches takes (text, pattern) on the PostgreSQL store")
    target = _rewrite_nested(_strip(args[0]), regex_params, params_before)
    params_before += sum(1 for t in target if t.kind == "param")
    pattern = _strip(args[1])
    if len(pattern) == 1 and pattern[0].kind == "param":
        regex_params.append(params_before)
    elif len(pattern) == 1 and pattern[0].kind == "string" and pattern[0].text.startswith("'"):
        literal = pattern[0].text[1:-1].replace("''", "'")
        pattern = [_Token("string", "'" + re2_to_postgres(literal).replace("'", "''") + "'")]
    else:
        pattern = _rewrite_nested(pattern, regex_params, params_before)
    comma = [_Token("other", ","), _Token("ws", " ")]
    return [
        _Token("ident", "re_matches"),
        _Token("other", "("),
        *target,
        *comma,
        *pattern,
        _Token("other", ")"),
    ], end


def _rewrite_nested(tokens: list[_Token], regex_params: list[int], params_before: int) -> list[_Token]:
    """Rewrites an argument's tokens, numbering its regex parameters after the `params_before` ones."""
    nested: list[int] = []
    out = _rewrite(tokens, nested)
    regex_params.extend(params_before + n for n in nested)
    return out


def _contains_lower(tokens: list[_Token], i: int) -> tuple[_Token, int] | None:
    """For `contains(lower(<column>), lower(?))` at `i`: the column and the index after the call."""
    if not _opens_call(tokens, i):
        return None
    args, end = _arguments(tokens, i)
    if len(args) != 2:
        return None
    shapes = [[t for t in arg if t.kind not in ("ws", "comment")] for arg in args]
    first, second = shapes
    if (
        len(first) == 4
        and first[0].text.lower() == "lower"
        and first[1].text == "("
        and first[2].kind == "ident"
        and first[3].text == ")"
        and len(second) == 4
        and second[0].text.lower() == "lower"
        and second[1].text == "("
        and second[2].kind == "param"
        and second[3].text == ")"
    ):
        return first[2], end
    return None


# -------------------------------------------------------------------------------------------- regex

_CLASSES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
"""RE2's \\d, \\w and \\s are ASCII (PostgreSQL's follow the locale: é is a \\w there), and its
\\s leaves out \\v."""
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\U00000001-\\U0000007F",
    "blank": "\\t ",
    "cntrl": "\\U00000001-\\U0000001F\\U0000007F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
"""RE2's POSIX classes, `[[:alpha:]]` and the like, are ASCII; PostgreSQL's follow the locale (ß is
alpha there). A negated one (`[:^alpha:]`) is left to PostgreSQL, which refuses it."""
_WORD = "[0-9A-Za-z_]"
_BOUNDARY = f"(?:(?<!{_WORD})(?={_WORD})|(?<={_WORD})(?!{_WORD}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
"""RE2's \\b and \\B between ASCII word characters (PostgreSQL's \\y counts é as one)."""
_LEADING_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)")
_HEX = re.compile(r"\{([0-9A-Fa-f]{1,8})\}|([0-9A-Fa-f]{2})")


def re2_to_postgres(pattern: str) -> str:
    """An RE2 pattern (what the query language checks, and DuckDB runs) as a PostgreSQL ARE with the
    same matches.

    RE2's defaults differ from PostgreSQL's: `.` stops at a newline there, while `[^a]` does not;
    `\\b` is a boundary between ASCII word characters (written with look-arounds), `\\z` the end
    (`\\Z`), `\\xHH` exactly two digits, `(?P<n>…)` a named group, `\\d\\w\\s` ASCII classes, and
    flags may come first as `(?i)` — PostgreSQL takes one flag group, first.
    Raises QueryError for what has no PostgreSQL form: flags after the start, Unicode classes (`\\pL`).
    """
    flags: set[str] = set()
    i = 0
    while (leading := _LEADING_FLAGS.match(pattern, i)) is not None:
        on, off = leading.group(1), leading.group(2) or ""
        for flag in on + off:
            if flag not in "ims":
                raise QueryError(f"the regex flag {flag!r} is not available on the PostgreSQL store")
        flags.update(on)
        flags.difference_update(off)
        i = leading.end()
    body = _translate_body(pattern, i, dot_all="s" in flags)
    # RE2 without m: ^ and $ only at the ends of the text (PostgreSQL's default); with m, at every
    # line too (its `w`, which keeps bracket expressions matching a newline, as RE2's always do; its
    # newline-sensitive `p` and `n` would stop `[^a]` there too, so `.` is translated instead).
    options = ("i" if "i" in flags else "") + ("w" if "m" in flags else "")
    return f"(?{options}){body}" if options else body


def _translate_body(pattern: str, i: int, dot_all: bool) -> str:
    """The pattern from `i` on in PostgreSQL's words; `.` stops at a newline unless `dot_all` (RE2's s)."""
    out: list[str] = []
    n = len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            escaped, i = _escape(pattern, i + 1, in_class)
            out.append(escaped)
            continue
        if in_class:
            if pattern.startswith("[:", i):
                close = pattern.find(":]", i + 2)
                if close != -1:
                    name = pattern[i + 2 : close]
                    out.append(_POSIX_CLASSES.get(name, pattern[i : close + 2]))
                    i = close + 2
                    continue
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            start, i = i, class_body(pattern, i)
            out.append(pattern[start:i])
            continue
        if c == "(" and pattern.startswith("(?", i):
            if pattern.startswith(("(?P<", "(?<"), i) and not pattern.startswith(("(?<=", "(?<!"), i):
                close = pattern.find(">", i)
                if close == -1:
                    raise QueryError(f"unterminated group name in regex {pattern!r}")
                out.append("(")
                i = close + 1
                continue
            if not pattern.startswith(("(?:", "(?=", "(?!", "(?<=", "(?<!"), i):
                raise QueryError(
                    "regexes on the PostgreSQL store take flags only at their start, as (?i) or /…/i: "
                    f"{pattern!r}"
                )
        out.append("[^\\n]" if c == "." and not dot_all else c)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The PostgreSQL form of the escape whose letter is at `i`, and the index after it."""
    c = pattern[i]
    if c in _CLASSES:
        return (_CLASSES[c] if in_class else f"[{_CLASSES[c]}]"), i + 1
    if c.lower() in _CLASSES:
        if in_class:  # the complement of RE2's ASCII class has no spelling inside a bracket
            raise QueryError(
                f"\\{c} inside [...] is not available on the PostgreSQL store (write [^...] or "
                f"(?:[...]|\\{c})): {pattern!r}"
            )
        return f"[^{_CLASSES[c.lower()]}]", i + 1
    if c == "b" and not in_class:
        return _BOUNDARY, i + 1
    if c == "B" and not in_class:
        return _NOT_BOUNDARY, i + 1
    if c == "z":
        return r"\Z", i + 1
    if c == "x":
        hexa = _HEX.match(pattern, i + 1)
        if hexa is None:
            raise QueryError(f"\\x needs two hex digits or {{hex}} in regex {pattern!r}")
        code = int(hexa.group(1) or hexa.group(2), 16)
        return f"\\U{code:08X}", hexa.end()
    if c == "Q":
        end = pattern.find(r"\E", i + 1)  # `\Q…\E` quotes a literal; without `\E`, to the end
        stop = len(pattern) if end == -1 else end
        literal = pattern[i + 1 : stop]
        quoted = "".join(ch if ch.isalnum() or ch == "_" else "\\" + ch for ch in literal)
        return quoted, stop if end == -1 else stop + 2
    if c in "pPC":
        raise QueryError(
            f"the regex escape \\{c} (Unicode classes, single bytes) is not available on the PostgreSQL "
            f"store: {pattern!r}"
        )
    return "\\" + c, i + 1
