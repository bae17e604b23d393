"""Tests for loglens.demo.values: placeholders compiled into draws."""

from __future__ import annotations

import random

import pytest

from loglens.demo.values import compile_text
from loglens.mining.masking import WILDCARD, mask_token


class TestCompileText:
    def test_single_placeholder_keeps_its_type(self) -> None:
        """A template that is one placeholder draws a number, so JSON and logfmt fields stay numbers."""
        rng = random.Random(1)
        assert compile_text("{n:200}")(rng, {}) == 200
        assert isinstance(compile_text("{int:1:9}")(rng, {}), int)
        assert isinstance(compile_text("{ms:25:0.4}")(rng, {}), float)

    def test_mixed_text_is_text(self) -> None:
        """Literal text around placeholders comes out as one string."""
        text = compile_text("status={n:200} for {pick:a|b}")(random.Random(1), {})
        assert text in ("status=200 for a", "status=200 for b")

    def test_bound_values_are_reused(self) -> None:
        """`{$name}` repeats a value drawn earlier, so a story's lines agree (the same pid twice)."""
        assert compile_text("pid {$pid} and {$pid}")(random.Random(1), {"pid": 4242}) == "pid 4242 and 4242"

    def test_unknown_generator_is_named(self) -> None:
        """A typo in a template fails at compile time, naming the generator."""
        with pytest.raises(ValueError, match="'sku_id'"):
            compile_text("order {sku_id}")

    def test_same_seed_same_values(self) -> None:
        """Draws depend on the RNG only."""
        draw = compile_text("{uuid} {ip} {sku} {payment}")
        assert draw(random.Random(7), {}) == draw(random.Random(7), {})
        assert draw(random.Random(7), {}) != draw(random.Random(8), {})

    def test_ids_always_mask_as_values(self) -> None:
        """Hex and payment ids always hold a digit, so loglens masks them and templates stay few."""
        rng = random.Random(3)
        for text in ("{hex:8}", "{hex:16}", "{payment}"):
            draw = compile_text(text)
            for _ in range(2_000):
                assert mask_token(str(draw(rng, {}))) == WILDCARD
