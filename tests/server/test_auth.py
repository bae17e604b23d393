"""Tests for access tokens: the forms shippers send secrets in, and the `[[server.tokens]]` rules."""

from __future__ import annotations

import base64

import pytest

from loglens.errors import ConfigError
from loglens.server.auth import Authenticator, Token, parse_tokens, presented_secrets


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer s3cret"}, {}, ["s3cret"]),
        ({"authorization": "Splunk s3cret"}, {}, ["s3cret"]),
        ({"authorization": f"Basic {b64('user:s3cret')}"}, {}, ["s3cret", "user"]),
        ({"authorization": f"ApiKey {b64('id1:s3cret')}"}, {}, [b64("id1:s3cret"), "s3cret", "id1"]),
        ({"dd-api-key": "s3cret"}, {}, ["s3cret"]),
        ({"x-api-key": "s3cret"}, {"token": "t2"}, ["s3cret", "t2"]),
        ({"authorization": "Basic !!!not-base64"}, {}, []),
        ({"authorization": "Bearer"}, {}, []),
        ({}, {}, []),
    ],
)
def test_secrets_in_every_shippers_form(
    headers: dict[str, str], query: dict[str, str], expected: list[str]
) -> None:
    assert presented_secrets(headers, query) == expected


def test_admin_holds_every_scope_and_unknown_secrets_are_nobody() -> None:
    reader = Token("r", "read-secret-0123456789", frozenset({"read"}))
    admin = Token("a", "admin-secret-0123456789", frozenset({"admin"}))
    auth = Authenticator([reader, admin])
    assert auth.identify(["nope", "admin-secret-0123456789"]) is admin
    assert auth.identify(["read-secret-012345678"]) is None
    assert admin.allows("ingest") and reader.allows("read") and not reader.allows("ingest")
    assert not Authenticator([]).enabled


def test_token_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGLENS_T", "from-the-environment-123")
    tokens = parse_tokens(
        [
            {"name": "a", "token": "a-literal-secret-1234", "scopes": ["ingest", "read"]},
            {"name": "b", "token_env": "LOGLENS_T", "scopes": ["admin"]},
        ],
        "t.toml",
    )
    assert [(t.name, t.secret, sorted(t.scopes)) for t in tokens] == [
        ("a", "a-literal-secret-1234", ["ingest", "read"]),
        ("b", "from-the-environment-123", ["admin"]),
    ]
    bad = {
        "needs a name": [{"token": "a-literal-secret-1234", "scopes": ["read"]}],
        "unknown keys ['scope']": [{"name": "a", "token": "a-literal-secret-1234", "scope": ["read"]}],
        "(one)": [{"name": "a", "token": "a-literal-secret-1234", "token_env": "X", "scopes": ["read"]}],
        "already defined": [
            {"name": "a", "token": "a-literal-secret-1234", "scopes": ["read"]},
            {"name": "a", "token": "b-literal-secret-1234", "scopes": ["read"]},
        ],
    }
    for said, entries in bad.items():
        with pytest.raises(
            ConfigError, match=said.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
        ):
            parse_tokens(entries, "t.toml")
