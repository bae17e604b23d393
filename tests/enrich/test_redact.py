"""Tests for loglens.enrich.redact: each default rule on real-looking log lines, and the look-alikes
(order ids, timestamps, UUIDs) that must stay as they are."""

from __future__ import annotations

import re

import pytest

from loglens.enrich.redact import (
    DEFAULT_RULES,
    RedactionRule,
    Redactor,
    card_number,
    digit_run,
    ipv4_octets,
    luhn_valid,
)


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


class TestEmail:
    def test_address_replaced(self, redactor: Redactor) -> None:
        """An e-mail address in a message becomes <email> and is counted under `email`."""
        line = "Failed to send email to vmitchell@post.example.org (smtp 550)"
        assert redactor.redact(line) == "Failed to send email to <email> (smtp 550)"
        assert redactor.redact_counts["email"] == 1

    def test_plus_and_subdomains(self, redactor: Redactor) -> None:
        """Tagged addresses on sub-domains are found whole."""
        assert redactor.redact("to=<j.doe+billing@mail.eu.example.co.uk>,") == "to=<<email>>,"

    def test_systemd_units_stay(self, redactor: Redactor) -> None:
        """systemd's template units (`user@1000.service`, `getty@tty1.service`) are not addresses."""
        line = "Started user@1000.service and getty@tty1.service; Stopped user-runtime-dir@1000.socket"
        assert redactor.redact(line) == line


class TestCard:
    @pytest.mark.parametrize(
        "number", ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005"]
    )
    def test_luhn_valid_numbers_replaced(self, redactor: Redactor, number: str) -> None:
        """A Luhn-valid 13–19 digit number, with or without spaces or dashes, becomes <card>."""
        line = f"Charging card {number} for account acct_UVV78LSZ8S"
        assert redactor.redact(line) == "Charging card <card> for account acct_UVV78LSZ8S"

    def test_order_id_failing_luhn_stays(self, redactor: Redactor) -> None:
        """A 16-digit order id that fails the Luhn check is left alone."""
        line = "order 4111111111111112 shipped to warehouse 7"
        assert not luhn_valid("4111111111111112")
        assert redactor.redact(line) == line
        assert redactor.redact_counts["card"] == 0

    def test_epoch_timestamps_stay(self, redactor: Redactor) -> None:
        """Epoch milliseconds and nanoseconds (starting with 1) are not cards, even when Luhn-valid."""
        assert luhn_valid("1763683200002") and luhn_valid("1763683200000000002")
        line = "ts_ms=1763683200002 ts_ns=1763683200000000002"
        assert redactor.redact(line) == line

    @pytest.mark.parametrize("number", ["3782 822463 10005", "3056-930902-5904", "4111 1111 1111 1111 003"])
    def test_grouped_as_cards_are_printed(self, redactor: Redactor, number: str) -> None:
        """Amex and Diners grouping (4-6-5, 4-6-4) and a 19-digit number with a short last group are found."""
        assert redactor.redact(f"card {number} declined") == "card <card> declined"

    def test_digit_columns_stay(self, redactor: Redactor) -> None:
        """Numbers in columns with single spaces (a kernel's OOM task table) are not read as one card,
        even where their digits together pass the Luhn check."""
        assert card_number("32703 1864377 1832193")
        line = "[  32703]  1000   32703 1864377 1832193 24166556        0             0 python3"
        assert redactor.redact(line) == line

    def test_mixed_separators_stay(self, redactor: Redactor) -> None:
        """Groups split by a space here and a dash there are not a card number."""
        assert redactor.redact("ref 4111 1111-1111 1111") == "ref 4111 1111-1111 1111"

    def test_validator_needs_a_network_prefix(self) -> None:
        """Card numbers start 2–6; the same Luhn-valid digits starting 8 are refused."""
        assert card_number("5555 5555 5555 4444")
        assert luhn_valid("8888888888888888") and not card_number("8888888888888888")


class TestTokens:
    def test_authorization_header(self, redactor: Redactor) -> None:
        """An Authorization header keeps its scheme and loses its credential."""
        line = 'GET /v1/orders headers={"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}'
        assert redactor.redact(line) == 'GET /v1/orders headers={"Authorization": "Basic <token>"}'

    def test_bearer_token_anywhere(self, redactor: Redactor) -> None:
        """`Bearer <credential>` outside a header is redacted too."""
        line = "retrying with Bearer 9a8b7c6d5e4f3a2b1c0d after 401"
        assert redactor.redact(line) == "retrying with Bearer <token> after 401"

    @pytest.mark.parametrize(
        "key",
        [
            "sk-proj-Q2xhdWRlIGlzIG5vdCBhIGtleQ12345",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "AKIAIOSFODNN7EXAMPLE",
        ],
    )
    def test_api_keys(self, redactor: Redactor, key: str) -> None:
        """OpenAI, GitHub and AWS access keys become <token> wherever they appear."""
        assert redactor.redact(f"loaded credentials {key} from env") == "loaded credentials <token> from env"

    def test_key_value_tokens(self, redactor: Redactor) -> None:
        """`api_key=`, `token=` and `secret=` values are replaced, the keys kept."""
        line = "GET /hook?api_key=abc123&token=t0k3n&client_secret=s3cr3t&page=2"
        assert redactor.redact(line) == "GET /hook?api_key=<token>&token=<token>&client_secret=<token>&page=2"

    def test_token_prose_stays(self, redactor: Redactor) -> None:
        """`token: expired` is prose, not a credential, and is kept."""
        assert redactor.redact("refresh token: expired") == "refresh token: expired"

    def test_jwt(self, redactor: Redactor) -> None:
        """A JSON Web Token is replaced whole."""
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        assert redactor.redact(f"session {jwt} rejected") == "session <token> rejected"
        assert redactor.redact_counts["jwt"] == 1


class TestPasswords:
    def test_url_password_keeps_user(self, redactor: Redactor) -> None:
        """`scheme://user:pass@host` keeps the user and host and loses the password."""
        line = "connecting to postgres://billing:hunter2@db.internal:5432/billing"
        assert redactor.redact(line) == "connecting to postgres://billing:<secret>@db.internal:5432/billing"

    def test_key_value_passwords(self, redactor: Redactor) -> None:
        """password=, passwd= and pwd= values are replaced."""
        line = "login attempt password=hunter2 passwd=x pwd=abc user=bob"
        assert (
            redactor.redact(line) == "login attempt password=<secret> passwd=<secret> pwd=<secret> user=bob"
        )

    def test_json_password_with_spaces(self, redactor: Redactor) -> None:
        """A JSON password is replaced up to its closing quote, spaces and all."""
        line = 'config {"user": "bob", "db_password": "correct horse battery", "port": 5432}'
        assert redactor.redact(line) == 'config {"user": "bob", "db_password": "<secret>", "port": 5432}'

    def test_sudo_working_directory_stays(self, redactor: Redactor) -> None:
        """sudo's `PWD=/home/deploy` is a directory; a `pwd=` that is not a path is still a password."""
        line = "sudo: deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/ls"
        assert redactor.redact(line) == line
        assert redactor.redact("mysql -u root pwd=s3cret") == "mysql -u root pwd=<secret>"

    def test_sshd_failed_password_stays(self, redactor: Redactor) -> None:
        """sshd's `Failed password for` has no value to hide and is kept whole."""
        line = "Failed password for deploy from 10.8.175.213 port 29024 ssh2"
        assert redactor.redact(line) == line


class TestIps:
    def test_off_by_default(self, redactor: Redactor) -> None:
        """Addresses are kept unless asked for (they are often the evidence itself)."""
        line = "Invalid user centos from 193.97.59.47 port 35962"
        assert redactor.redact(line) == line

    def test_ipv4_and_ipv6_when_asked(self) -> None:
        """With ips=True, IPv4 and IPv6 addresses become <ip>; times and MAC addresses stay."""
        redactor = Redactor(ips=True)
        line = "peer 10.8.175.213 and [2001:db8::1]:443 at 01:16:12 via 00:1a:2b:3c:4d:5e and ::1."
        assert redactor.redact(line) == "peer <ip> and [<ip>]:443 at 01:16:12 via 00:1a:2b:3c:4d:5e and <ip>."
        assert redactor.redact_counts == {"ipv4": 1, "ipv6": 2}

    def test_not_addresses(self) -> None:
        """Octets over 255, browser versions and longer dotted numbers are not addresses."""
        redactor = Redactor(ips=True)
        line = "Chrome/131.0.6778.86 build 300.1.1.1 oid 1.3.6.1.4.1 v10.1.2.3.4"
        assert not ipv4_octets("300.1.1.1")
        assert redactor.redact(line) == line
        assert redactor.redact("from 10.0.2.15:5672 (10.0.1.21)") == "from <ip>:5672 (<ip>)"


class TestRedactor:
    def test_timestamps_and_uuids_stay(self, redactor: Redactor) -> None:
        """ISO timestamps and UUIDs (even all-digit ones) are never taken for secrets."""
        line = (
            "2026-11-21T01:23:48.395Z Webhook 1165d7bf-64a3-4538-822b-b2d442c4639d "
            "12345678-1234-1234-1234-123456789012 processed (event=stock.low)"
        )
        assert redactor.redact(line) == line
        assert sum(redactor.redact_counts.values()) == 0

    def test_idempotent(self, redactor: Redactor) -> None:
        """Redacting twice changes nothing more: markers are never redacted again."""
        line = (
            'Authorization: Bearer abc.def.ghi-123456 password="p w" '
            "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.x mailto bob@example.com redis://:pw@cache:6379"
        )
        once = redactor.redact(line)
        assert redactor.redact(once) == once
        assert "abc.def" not in once and "bob@" not in once and ":pw@" not in once

    def test_counts_per_rule(self, redactor: Redactor) -> None:
        """`redact_counts` adds up each rule's replacements across calls."""
        redactor.redact("a@example.com b@example.com")
        redactor.redact("password=x")
        assert redactor.redact_counts == {"email": 2, "password": 1}

    def test_custom_rules_with_validator(self) -> None:
        """Rules of one's own apply in order, and a validator that refuses leaves the match alone."""
        rule = RedactionRule(
            "ticket", re.compile(r"TCK-\d+"), "<ticket>", validator=lambda v: v.endswith("7")
        )
        redactor = Redactor((rule, *DEFAULT_RULES))
        assert redactor.redact("TCK-17 and TCK-18") == "<ticket> and TCK-18"

    def test_digit_run_precheck(self) -> None:
        """The card pre-check passes 13 digits in a row however spaced or dashed, and nothing shorter."""
        assert digit_run("pan 4111 1111 1111 1111") and digit_run("x 3782-822463-10005")
        assert not digit_run("2026-11-21 00:00:06.118 id 123456789012")

    def test_rules_for_screens_once(self) -> None:
        """`rules_for` names only the rules whose pre-checks pass, in order, and `among` narrows it;
        `redact` given those rules finds the same."""
        redactor = Redactor()
        line = "mail ana@example.com card 4111111111111111"
        chosen = redactor.rules_for(line)
        assert [rule.name for rule in chosen] == ["url_password", "email", "card"]
        assert [rule.name for rule in redactor.rules_for("no card here", chosen)] == []
        assert redactor.redact(line, chosen) == redactor.redact(line) == "mail <email> card <card>"
        assert redactor.rules_for("") == []

    def test_empty_matches_are_never_replaced(self) -> None:
        """A rule whose pattern can match nothing does not put its marker between every character."""
        redactor = Redactor((RedactionRule("maybe", re.compile(r"x*"), "<x>"),))
        assert redactor.redact("abc xx d") == "abc <x> d"
        assert redactor.redact_counts == {"maybe": 1}

    def test_hints_skip_rules(self) -> None:
        """A rule whose hint does not occur never runs (the pre-check that keeps clean lines cheap)."""
        rule = RedactionRule("digits", re.compile(r"\d+"), "<n>", hints=("order",))
        redactor = Redactor((rule,))
        assert redactor.redact("id 42") == "id 42"
        assert redactor.redact("Order 42") == "Order <n>"
