"""`python -m loglens.mcp --store PATH [--config PATH]`: the MCP server on stdin/stdout (what `loglens
mcp` runs), for MCP clients that start their servers as commands."""

from __future__ import annotations

import argparse
import sys

from loglens.config import load_config, resolve_store_path
from loglens.errors import LoglensError
from loglens.mcp.server import run_stdio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loglens.mcp", description=__doc__)
    parser.add_argument("--store", help="The store (default: $LOGLENS_STORE, [store] path, XDG data dir).")
    parser.add_argument("--config", help="loglens.toml (default: $LOGLENS_CONFIG, ./loglens.toml, XDG).")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        run_stdio(resolve_store_path(args.store, config), config)
    except LoglensError as exc:
        print(f"loglens mcp: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
