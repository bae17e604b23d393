"""Explaining logs: offline incident explanation from failure signatures, questions, and the optional LLM."""
