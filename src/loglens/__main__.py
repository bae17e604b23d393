"""`python -m loglens` runs the CLI."""

from loglens.cli import main

main()
