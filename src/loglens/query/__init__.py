"""The loglens search language and what compiles it to SQL.

`loglens.query.language` is the parser and compiler shared by the CLI, API, dashboard, alerts and MCP.
"""
