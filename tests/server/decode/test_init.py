"""Tests for the decode package's public face: what the server imports is there, and every decoder
and protocol answer a module defines is exported (without restating the list, which would only
test that it was copied)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import loglens.server.decode as decode


class TestPublicNames:
    def test_exports_exist_once(self) -> None:
        assert len(decode.__all__) == len(set(decode.__all__))
        assert all(hasattr(decode, name) for name in decode.__all__)

    def test_every_decoder_and_answer_is_exported(self) -> None:
        """A `decode_*` function or a `*_response` builder added to a protocol module is reachable
        from the package, where the server's routes take them."""
        defined = set()
        for module_info in pkgutil.iter_modules(decode.__path__):
            module = importlib.import_module(f"{decode.__name__}.{module_info.name}")
            for name, value in vars(module).items():
                ours = inspect.isfunction(value) and value.__module__ == module.__name__
                if ours and (name.startswith("decode_") or name.endswith("_response")):
                    defined.add(name)
        assert defined and defined <= set(decode.__all__)
