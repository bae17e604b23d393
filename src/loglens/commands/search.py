"""`loglens search TEXT [--semantic]`: by words, the same as `loglens logs`; by meaning with
`--semantic` (the optional `semantic` extra), the templates closest to the text, then their lines."""

from __future__ import annotations

import sys

import click

from loglens.client import daemon_for
from loglens.commands.common import open_store, range_options, store_options, write_json
from loglens.config import load_config, resolve_store_path
from loglens.output import format_line, use_colour


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@click.argument("text", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option(
    "--semantic",
    is_flag=True,
    help="By meaning: templates closest to TEXT (pip install 'loglens[semantic]').",
)
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only these services (globs)."
)
@range_options
@click.option("-k", "--top", "top", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Templates shown (--semantic).")  # fmt: skip
@click.option("-n", "--lines", "lines", type=click.IntRange(0, 1000), default=20, show_default=True,
              help="Lines of those templates shown, newest last.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="`{hits, records}` as JSON (--semantic).")
@store_options
@click.pass_context
def search(ctx: click.Context, text: tuple[str, ...], semantic: bool, services: tuple[str, ...],
           since: str | None, until: str | None, top: int, lines: int, as_json: bool,
           store_path: str | None, config_path: str | None) -> None:  # fmt: skip
    """Search the logs: by words and the search language (as `loglens logs`), or by meaning with
    --semantic ("disk is full" finds "No space left on device")."""
    if not semantic:
        from loglens.cli import logs

        ctx.invoke(logs, query=text, services=services, since=since, until=until, lines=str(lines),
                   as_json=as_json, store_path=store_path, config_path=config_path)  # fmt: skip
        return
    config = load_config(config_path)
    phrase = " ".join(text)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:
        params = {
            "q": phrase,
            "k": top,
            "lines": lines,
            "service": list(services),
            "since": since,
            "until": until,
        }
        found = daemon.call("GET", "/api/search/semantic", {k: v for k, v in params.items() if v is not None})
    else:
        from loglens.query.semantic import SemanticIndex, cache_path_for, semantic_json

        store = open_store(store_path, config, read_only=True)
        try:
            index = SemanticIndex(store, cache_path_for(resolve_store_path(store_path, config)))
            found = semantic_json(store, index, phrase, top, services, since, until, lines, config.timezone)
        finally:
            store.close()
    if as_json:
        write_json(found)
        return
    for hit in found["hits"]:
        click.echo(f"{hit['score']:.3f}  {hit['count']:>9,}  {hit['service']:<16} {hit['template']}")
    if found["records"]:
        click.echo()
    from loglens.client import stored_record

    colour = use_colour(sys.stdout)
    for row in found["records"]:
        click.echo(format_line(stored_record(row), colour))
