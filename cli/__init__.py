"""The `firebrick` command line and the end-to-end flow: the front end over every stage (nothing imports it)."""

from firebrick.cli.main import main

__all__ = ["main"]
