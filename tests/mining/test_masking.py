"""Tests for loglens.mining.masking: which tokens are variables."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loglens.mining.masking import (
    MAX_TOKENS,
    MAX_WORD_CHARS,
    WILDCARD,
    TokenMasker,
    mask_request_target,
    mask_token,
)


class TestMaskToken:
    @pytest.mark.parametrize(
        ("token", "masked"),
        [
            ("blk_-6952295868487656571", "<*>"),
            ("10.250.19.102:50010", "<*>:<*>"),
            ("/10.250.19.102:50010", "<*>:<*>"),
            ("jk2_init()", "jk2_init()"),
            ("chdir(/p/gb1/run/2183)", "chdir(<*>)"),
            ("core.4567", "core.<*>"),
            ("0x1f3a", "<*>"),
            ("deadbeefcafe1234", "<*>"),
            ("12ms", "<*>"),
            ("user@example.com", "<*>"),
            ("/var/log/app.log", "<*>"),
            ("https://example.com/a", "<*>"),
            ("(pid=4242),", "(pid=<*>),"),
            ("[1209153.450814]", "[<*>]"),
            ("size=<*>", "size=<*>"),
        ],
    )
    def test_variables(self, token: str, masked: str) -> None:
        """Data-carrying tokens become wildcards; framing punctuation and keys stay."""
        assert mask_token(token) == masked

    @pytest.mark.parametrize("token", ["terminating", "port", "PacketResponder", "/", "(ok),", "key=value"])
    def test_words_stay(self, token: str) -> None:
        """Wording is kept as written."""
        assert mask_token(token) == token

    def test_masker_memoises_and_agrees(self) -> None:
        """The memoised masker gives what mask_token gives, token by token."""
        tokens = ["PacketResponder", "1", "for", "block", "blk_123", "terminating"]
        masker = TokenMasker()
        assert masker.mask(tokens) == tuple(mask_token(t) for t in tokens)
        assert masker.mask(tokens) == ("PacketResponder", "<*>", "for", "block", "<*>", "terminating")

    def test_over_long_word_is_a_value_and_not_remembered(self) -> None:
        """A word longer than MAX_WORD_CHARS (a blob) is a wildcard and stays out of the memo."""
        blob = "abcdefghijklmnopqrstuvwxyz" * 20
        masker = TokenMasker()
        assert masker.mask(["payload", blob]) == ("payload", WILDCARD)
        assert blob not in masker._memo

    def test_rest_of_an_over_long_message_is_one_wildcard(self) -> None:
        """The last word of a message cut at MAX_TOKENS holds the rest of the line: a wildcard."""
        tokens = [f"w{chr(97 + i % 26)}" for i in range(MAX_TOKENS - 1)] + ["and the rest of it"]
        assert TokenMasker().mask(tokens)[-1] == WILDCARD


# The rules of mask_token written plainly, one pattern after another, as a reference: mask_token
# reaches the same answers with cheap guards in front of each pattern, and must never differ.
_R_OPENERS, _R_CLOSERS = "([{<'\"", "()]}>'\",;:.!?"
_R_KEY_VALUE = re.compile(r"^([^\d=\s]*?[A-Za-z_][\w.\-]*[=:])(.+)$", re.DOTALL)
_R_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]{8,}$|^0x[0-9a-fA-F]+$")
_R_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_R_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_R_NAME_WITH_DIGIT = re.compile(r"^[A-Za-z]{2,}\d$")
_R_DIGIT_IN_NAME = re.compile(r"^[A-Za-z]+\d+_[A-Za-z_]+$")
_R_IP_PORT = re.compile(r"^/?\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$")
_R_CALL = re.compile(r"^([A-Za-z_]\w*\()(.+)$", re.DOTALL)
_R_NUMBERED = re.compile(r"^([A-Za-z][A-Za-z_\-]*\.)\d+$")


def _reference_is_variable(core: str) -> bool:
    if not core:
        return False
    if re.search(r"\d", core):
        return _R_NAME_WITH_DIGIT.match(core) is None and _R_DIGIT_IN_NAME.match(core) is None
    path = core.startswith("/") and len(core) > 1 and "/" in core[1:]
    return bool(_R_HEX.match(core) or _R_EMAIL.match(core) or _R_URL.match(core)) or path


def _reference_mask(token: str) -> str:
    if token.isdigit() or len(token) > MAX_WORD_CHARS:
        return WILDCARD
    opened = token.lstrip(_R_OPENERS)
    core = opened.rstrip(_R_CLOSERS)
    head, tail = token[: len(token) - len(opened)], opened[len(core) :]
    if not core:
        return token
    if _R_URL.match(core):
        return f"{head}{WILDCARD}{tail}"
    if _R_IP_PORT.match(core):
        return f"{head}{WILDCARD}:{WILDCARD}{tail}"
    key_value = _R_KEY_VALUE.match(core)
    if key_value is not None and not re.search(r"\d", key_value.group(1)):
        key, value = key_value.groups()
        return f"{head}{key}{WILDCARD}{tail}" if _reference_is_variable(value) else token
    call = _R_CALL.match(core)
    if call is not None:
        return f"{head}{call.group(1)}{WILDCARD}{tail}" if _reference_is_variable(call.group(2)) else token
    numbered = _R_NUMBERED.match(core)
    if numbered is not None:
        return f"{head}{numbered.group(1)}{WILDCARD}{tail}"
    return f"{head}{WILDCARD}{tail}" if _reference_is_variable(core) else token


_TOKEN_CHARS = "aAbcdefxzZ019_-.:=/@()[]<>'\",;!?+%é٣²"


@given(st.text(alphabet=_TOKEN_CHARS, min_size=1, max_size=24))
@settings(max_examples=3000, deadline=None)
def test_mask_token_agrees_with_the_plain_rules(token: str) -> None:
    """The guarded mask_token and the plain statement of its rules agree on any token."""
    assert mask_token(token) == _reference_mask(token)


@pytest.mark.parametrize(
    "token",
    ["deadbeef", "DEADBEEF12", "0x1f", "1x23abcd", "ssh2", "ssh22", "é5", "ab٣", "x=1", "key:=5", "a:b:c",
     "'0xab'", "[12:30:01]", "http://a/b", "mailto:x@y.z", "/health", "/a/b", "-", "://"],
)  # fmt: skip
def test_mask_token_agrees_on_edge_cases(token: str) -> None:
    """Hex without digits, `0x`, names with a digit, non-ASCII digits, keys with colons, URLs."""
    assert mask_token(token) == _reference_mask(token)


class TestRequestTarget:
    @pytest.mark.parametrize(
        ("target", "masked"),
        [
            ("/api/v1/cart/5faa3f5f-ca81-4f88-a894-7cad995eb8b2/items/12", "/api/v1/cart/<*>/items/<*>"),
            ("/static/js/app.1b007370.js", "/static/js/app.<*>.js"),
            ("/static/css/app.cabbbcea.css", "/static/css/app.<*>.css"),
            ("/api/v1/products?page=7&limit=20", "/api/v1/products?page=<*>&limit=<*>"),
            ("/api/v1/payments/pi_ziXKORFlymLgJyQR/confirm", "/api/v1/payments/<*>/confirm"),
            ("/api/v2/orders/1626/status", "/api/v2/orders/<*>/status"),
            ("/", "/"),
            ("/healthz", "/healthz"),
            ("/wp-login.php", "/wp-login.php"),
            ("/PacketResponder/status", "/PacketResponder/status"),
        ],
    )
    def test_routes_stay_routes(self, target: str, masked: str) -> None:
        """Ids, hashes, random ids and query values masked per segment; words, versions, files kept."""
        assert mask_request_target(target) == masked

    def test_request_lines_are_masked_by_route(self) -> None:
        """A request line keeps its method, route and protocol; other 3-word messages are not touched."""
        masker = TokenMasker()
        assert masker.mask(["GET", "/api/v1/orders/42", "HTTP/1.1"]) == (
            "GET",
            "/api/v1/orders/<*>",
            "HTTP/1.1",
        )
        assert masker.mask(["GET", "/api/v1/orders/42", "now"]) == ("GET", "<*>", "now")
