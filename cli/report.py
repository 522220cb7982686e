"""Command output: one JSON document on stdout with --json, a human table otherwise."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def emit(args: argparse.Namespace, document: dict[str, Any], text: str) -> None:
    if args.json:
        json.dump(document, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(text)

