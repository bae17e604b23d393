"""loglens's MCP server: tools for agents to find, read and watch logs — `loglens mcp` on stdio, and
the daemon's `/mcp` endpoint over streamable HTTP (docs/mcp.md)."""

from loglens.mcp.http import McpHttpApp, mcp_http_app
from loglens.mcp.server import build_server, run_stdio

__all__ = ["McpHttpApp", "build_server", "mcp_http_app", "run_stdio"]
