"""HTML built from elements rather than string templates, so log text can only ever land in a document
as text: every plain string is escaped, and only markup this package made passes through as is."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TypeAlias


class Markup(str):
    """Text that is already HTML: made by `element`, `escape` or a constant of this package — never
    from log data, which goes in as a plain `str` and is escaped on the way."""

    __slots__ = ()


Child: TypeAlias = Markup | str | int | float | Iterable["Child"] | None
"""What an element may hold: markup, text (escaped), numbers, nothing, or a sequence of these."""


def escape(value: object) -> Markup:
    """`value` as HTML text: `&`, `<`, `>` and both quotes replaced (safe in text and in attribute
    values alike); markup is returned as it is."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def _flat(children: Iterable[Child]) -> Iterable[Markup]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, str | int | float):
            yield escape(child)
        else:
            yield from _flat(child)


def join(children: Iterable[Child]) -> Markup:
    """Several children as one piece of markup (text among them escaped)."""
    return Markup("".join(_flat(children)))


def _attribute(name: str, value: object) -> str:
    # `class_` and `for_` dodge Python keywords; `aria_label` is `aria-label`. SVG's camelCase names
    # (`viewBox`) are passed as they are written.
    name = name.rstrip("_").replace("_", "-")
    return f" {name}" if value is True else f' {name}="{escape(value)}"'


def element(tag: str, *children: Child, **attributes: object) -> Markup:
    """`<tag attributes>children</tag>`: attribute values and text children escaped; an attribute
    that is None or False is left out, one that is True is written bare. Tag and attribute names
    come from this package's code, never from data."""
    attrs = "".join(_attribute(k, v) for k, v in attributes.items() if v is not None and v is not False)
    return Markup(f"<{tag}{attrs}>{join(children)}</{tag}>")


def void(tag: str, **attributes: object) -> Markup:
    """An element without content or end tag (`<meta>`, `<br>`), attributes as `element` writes them."""
    attrs = "".join(_attribute(k, v) for k, v in attributes.items() if v is not None and v is not False)
    return Markup(f"<{tag}{attrs}>")
