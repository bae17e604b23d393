"""The `loglens` subcommands that live outside cli.py, one module per group of commands."""
