"""The variable parts of demo log lines: ids, addresses, users, latencies, drawn from a seeded RNG.

A template names a generator in braces (`{sku}`, `{int:1:40}`, `{ms:25}`); `compile_text` turns the
template once into a function of the RNG, so drawing a line costs a few calls, not a parse. The pools
(client addresses, users, SKUs) are fixed — the same for every seed — so that a corpus has returning
visitors and popular products, as real traffic does; the seed decides who comes when.
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable, Mapping
from typing import Final

Value = str | int | float | None
Bindings = Mapping[str, Value]
Draw = Callable[[random.Random, Bindings], Value]
"""Draws one value: from the RNG, or from the bindings (values already drawn for the same event)."""
Factory = Callable[[str], Callable[[random.Random], Value]]

_POOL_SEED: Final = "loglens-demo-pools"
_ALNUM: Final = string.ascii_letters + string.digits


def _pool_rng(name: str) -> random.Random:
    return random.Random(f"{_POOL_SEED}/{name}")


def _public_ip(rng: random.Random) -> str:
    """An address outside the private, loopback and multicast ranges (all documentation-free)."""
    while True:
        first = rng.randint(1, 223)
        if first not in (10, 100, 127, 169, 172, 192, 198, 203):
            return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _ip_pool(name: str, size: int) -> tuple[str, ...]:
    rng = _pool_rng(name)
    return tuple(_public_ip(rng) for _ in range(size))


_CLIENT_IPS: Final = _ip_pool("clients", 2_000)
_SCANNER_IPS: Final = _ip_pool("scanners", 600)
_INTERNAL_IPS: Final = tuple(f"10.0.{n // 250 + 1}.{n % 250 + 2}" for n in range(0, 40, 3))
_USERS: Final = (
    "amelie", "bjorn", "chiara", "dmitri", "elif", "farah", "goran", "hana", "ines", "jonas", "kenji",
    "lucia", "mateo", "nadia", "oskar", "priya", "quentin", "rosa", "sven", "tamar", "ugo", "vera",
    "wen", "ximena", "yusuf", "zofia",
)  # fmt: skip
_BAD_USERS: Final = (
    "admin", "test", "oracle", "ubuntu", "postgres", "git", "guest", "ftpuser", "pi", "support",
    "deployer", "hadoop", "minecraft", "user", "nagios", "teamspeak", "steam", "jenkins",
)  # fmt: skip
_DOMAINS: Final = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "proton.me", "icloud.com", "web.de")
_WEBKIT: Final = "AppleWebKit/537.36 (KHTML, like Gecko)"
_SAFARI: Final = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1"
_AGENTS: Final = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/131.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) {_SAFARI} Safari/605.1.15",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_SAFARI} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_WEBKIT} Chrome/131.0.0.0 Mobile Safari/537.36",
    "shop-ios/4.12.1 (iPhone15,2; iOS 18.1)",
    "okhttp/4.12.0",
)
_REFERERS: Final = (
    "-", "-", "https://shop.example.com/", "https://shop.example.com/cart",
    "https://www.google.com/", "https://shop.example.com/search",
)  # fmt: skip
_WORDS: Final = ("linen", "shirt", "mug", "lamp", "socks", "kettle", "desk", "chair", "scarf", "boots")


def _zipf_index(rng: random.Random, size: int) -> int:
    """An index into a pool, small ones far more likely (a few regulars, a long tail)."""
    return min(size - 1, int(size * rng.random() ** 3))


def _split(arg: str, n: int, defaults: tuple[str, ...]) -> tuple[str, ...]:
    parts = tuple(arg.split(":")) if arg else ()
    return parts + defaults[len(parts) : n]


def _int(arg: str) -> Callable[[random.Random], Value]:
    low, high = (int(x) for x in _split(arg, 2, ("0", "100")))
    return lambda rng: rng.randint(low, high)


def _float(arg: str) -> Callable[[random.Random], Value]:
    low_s, high_s, digits_s = _split(arg, 3, ("0", "1", "2"))
    low, high, digits = float(low_s), float(high_s), int(digits_s)
    return lambda rng: round(rng.uniform(low, high), digits)


def _ms(arg: str) -> Callable[[random.Random], Value]:
    """A latency in ms, log-normal around a median (`ms:25`, or `ms:25:0.8` for a wider spread)."""
    median_s, sigma_s = _split(arg, 2, ("20", "0.6"))
    mu, sigma = math.log(float(median_s)), float(sigma_s)
    return lambda rng: round(rng.lognormvariate(mu, sigma), 1)


def _seconds(arg: str) -> Callable[[random.Random], Value]:
    """A request time in seconds with three decimals, log-normal around a median in ms."""
    draw = _ms(arg)
    return lambda rng: round(float(draw(rng) or 0.0) / 1000, 3)


def _hex(arg: str) -> Callable[[random.Random], Value]:
    """`n` hex digits, at least one of them a digit, so that masking always sees a value."""
    n = int(arg or "16")

    def draw(rng: random.Random) -> Value:
        text = f"{rng.getrandbits(4 * n):0{n}x}"
        return text if any(c.isdigit() for c in text) else "0" + text[1:]

    return draw


def _uuid(_: str) -> Callable[[random.Random], Value]:
    def draw(rng: random.Random) -> Value:
        h = f"{rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    return draw


def _pick(arg: str) -> Callable[[random.Random], Value]:
    choices = tuple(arg.split("|"))
    return lambda rng: rng.choice(choices)


def _pool(pool: tuple[str, ...], zipf: bool = False) -> Factory:
    def factory(_: str) -> Callable[[random.Random], Value]:
        if zipf:
            return lambda rng: pool[_zipf_index(rng, len(pool))]
        return lambda rng: rng.choice(pool)

    return factory


def _ip(arg: str) -> Callable[[random.Random], Value]:
    pools = {"": _CLIENT_IPS, "scan": _SCANNER_IPS, "internal": _INTERNAL_IPS}
    pool = pools[arg]
    if arg == "scan":
        return lambda rng: rng.choice(pool)
    return lambda rng: pool[_zipf_index(rng, len(pool))]


def _sku(_: str) -> Callable[[random.Random], Value]:
    return lambda rng: f"SKU-{10_000 + _zipf_index(rng, 900) * 7:05d}"


def _order(_: str) -> Callable[[random.Random], Value]:
    return lambda rng: f"ORD-{rng.randint(1_000_000, 9_999_999)}"


def _payment(_: str) -> Callable[[random.Random], Value]:
    """A payment intent id (`pi_3…`): always with a digit, like the provider's own."""
    return lambda rng: "pi_3" + "".join(rng.choices(_ALNUM, k=21))


def _email(_: str) -> Callable[[random.Random], Value]:
    return lambda rng: f"{rng.choice(_USERS)}.{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}"


def _port(_: str) -> Callable[[random.Random], Value]:
    return lambda rng: rng.randint(32_768, 60_999)


def _pid(_: str) -> Callable[[random.Random], Value]:
    return lambda rng: rng.randint(1_200, 64_000)


def _uid(_: str) -> Callable[[random.Random], Value]:
    return lambda rng: 10_000 + _zipf_index(rng, 40_000)


def _const(arg: str) -> Callable[[random.Random], Value]:
    """A typed constant: `{n:200}` is the number 200 in a JSON or logfmt field."""
    number = float(arg)
    value: Value = int(number) if number.is_integer() and "." not in arg else number
    return lambda _: value


GENERATORS: Final[dict[str, Factory]] = {
    "int": _int,
    "n": _const,
    "float": _float,
    "ms": _ms,
    "secs": _seconds,
    "hex": _hex,
    "uuid": _uuid,
    "pick": _pick,
    "ip": _ip,
    "user": _pool(_USERS, zipf=True),
    "baduser": _pool(_BAD_USERS),
    "domain": _pool(_DOMAINS),
    "agent": _pool(_AGENTS, zipf=True),
    "referer": _pool(_REFERERS),
    "word": _pool(_WORDS),
    "sku": _sku,
    "order": _order,
    "payment": _payment,
    "email": _email,
    "port": _port,
    "pid": _pid,
    "uid": _uid,
}
"""Every generator a template may name: `{name}` or `{name:argument}`."""

_PLACEHOLDER: Final = re.compile(r"\{([^{}]+)\}")


def compile_value(expression: str) -> Draw:
    """One placeholder's body (`int:1:40`, or `$name` for a value bound earlier) as a draw."""
    if expression.startswith("$"):
        name = expression[1:]
        return lambda _, bound: bound[name]
    name, _, arg = expression.partition(":")
    try:
        factory = GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown demo value generator {name!r} in {{{expression}}}") from None
    draw = factory(arg)

    def drawn(rng: random.Random, _: Bindings) -> Value:
        return draw(rng)

    return drawn


def compile_text(template: str) -> Draw:
    """A template (`Reserved {int:1:5} of {sku}`) as a draw of its text.

    A template that is exactly one placeholder keeps the value's type (a number stays a number, for
    JSON and logfmt fields); anything else is text.
    """
    pieces: list[str | Draw] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            pieces.append(template[position : match.start()])
        pieces.append(compile_value(match.group(1)))
        position = match.end()
    if position < len(template):
        pieces.append(template[position:])
    if not pieces:
        return lambda _, __: ""
    if len(pieces) == 1:
        only = pieces[0]
        if isinstance(only, str):
            return lambda _, __: only
        return only
    frozen = tuple(pieces)

    def draw(rng: random.Random, bound: Bindings) -> Value:
        return "".join([p if isinstance(p, str) else _text(p(rng, bound)) for p in frozen])

    return draw


def _text(value: Value) -> str:
    return "-" if value is None else str(value)
