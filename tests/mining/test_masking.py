"""Tests for loglens.mining.masking: which tokens are variables."""

from __future__ import annotations

import pytest

from loglens.mining.masking import TokenMasker, mask_token


class TestMaskToken:
    @pytest.mark.parametrize(
        ("token", "masked"),
        [
            ("blk_-6952295868487656571", "<*>"),
            ("10.250.19.102:50010", "<*>"),
            ("/10.250.19.102:50010", "<*>"),
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
