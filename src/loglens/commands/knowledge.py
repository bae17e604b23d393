"""`loglens kb add|list|forget` (the failure signatures the explainer knows, and learning one from a
resolved incident) and `loglens ask "…"` (a plain-English question answered from the logs)."""

from __future__ import annotations

import getpass
import sys
import time

import click

from loglens.ai.ask import answer_question, render_answer
from loglens.ai.kb import all_signatures, forget_signature, learn_signature
from loglens.ai.llm import LlmClient
from loglens.ai.signatures import signature_json
from loglens.analysis.explain import explain_view
from loglens.client import daemon_for
from loglens.commands.common import open_store, store_options, view, write_json
from loglens.config import load_config, resolve_store_path
from loglens.errors import LoglensError


@click.group()
def kb() -> None:
    """The failure signatures `loglens explain` recognises; teach it one from an incident."""


@kb.command("add")
@click.argument("incident_id")
@click.option("--fix", required=True, help='What fixed it; one step per line ("\\n" or several lines).')
@click.option("--notes", help="Anything worth knowing next time.")
@click.option("--name", help="A name for the signature (default: from the root cause).")
@store_options
def add(incident_id: str, fix: str, notes: str | None, name: str | None, store_path: str | None,
        config_path: str | None) -> None:  # fmt: skip
    """Turn INCIDENT_ID into a signature: later incidents that match it cite it and its fix."""
    config = load_config(config_path)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:
        body = {"incident_id": incident_id, "fix": fix, "notes": notes, "name": name}
        learned = daemon.call("POST", "/api/kb/signatures", body=body)
    else:
        store = open_store(store_path, config, read_only=False)
        try:
            found = explain_view(store, config, incident_id, 5)
            learned = signature_json(learn_signature(store, found, fix, notes, name, getpass.getuser()))
        finally:
            store.close()
    click.echo(f"learned {learned['id']}: {learned['name']}")
    for pattern in learned["patterns"]:
        click.echo(f"  pattern  {pattern}")
    for step in learned["fix"]:
        click.echo(f"  fix      {step}")


@kb.command("list")
@click.option("--learned", is_flag=True, help="Only the signatures learned here.")
@click.option("--json", "as_json", is_flag=True)
@store_options
def list_signatures(learned: bool, as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """The signatures: learned first, then the built-in library."""
    config = load_config(config_path)
    found = view(
        store_path,
        config,
        lambda store: [signature_json(s) for s in all_signatures(store)],
        lambda daemon: daemon.call("GET", "/api/kb/signatures"),
    )
    if learned:
        found = [s for s in found if s["source"] == "learned"]
    if as_json:
        write_json(found)
        return
    for item in found:
        origin = f"learned from {item['learned_from']}" if item["source"] == "learned" else item["category"]
        click.echo(f"{item['id']:<32} {item['name']:<40} {origin}")


@kb.command("forget")
@click.argument("signature_id")
@store_options
def forget(signature_id: str, store_path: str | None, config_path: str | None) -> None:
    """Remove a learned signature."""
    config = load_config(config_path)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:
        daemon.call("DELETE", f"/api/kb/signatures/{signature_id}")
    else:
        store = open_store(store_path, config, read_only=False)
        try:
            if not forget_signature(store, signature_id):
                raise LoglensError(f"no learned signature {signature_id!r} (see `loglens kb list --learned`)")
        finally:
            store.close()
    click.echo(f"forgot {signature_id}")


@click.command()
@click.argument("question", nargs=-1, required=True)
@click.option("-n", "--lines", "limit", type=click.IntRange(0, 200), default=20, show_default=True,
              help="Matching lines shown at most.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The structured question, query and answer as JSON.")
@store_options
def ask(question: tuple[str, ...], limit: int, as_json: bool, store_path: str | None,
        config_path: str | None) -> None:  # fmt: skip
    """Ask about the logs in plain English: "errors about memory in the last hour", "what caused the
    OOM killer?". Answered offline; with [llm] configured, also in the model's words."""
    config = load_config(config_path)
    text = " ".join(question)

    def local(store: object) -> dict[str, object]:
        narrator = LlmClient(config.llm) if config.llm is not None else None
        try:
            return answer_question(store, config, text, time.time_ns(), narrator, limit)  # type: ignore[arg-type]
        finally:
            if narrator is not None:
                narrator.close()

    found = view(
        store_path, config, local, lambda daemon: daemon.call("GET", "/api/ask", {"q": text, "limit": limit})
    )
    if as_json:
        write_json(found)
        return
    sys.stdout.write(render_answer(found))
