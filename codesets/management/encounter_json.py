"""What the commands that take an encounter JSON share: the --json FILE argument and reading it."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser


def add_encounter_json_argument(parser: CommandParser, help_text: str) -> None:
    parser.add_argument("--json", dest="path", required=True, metavar="FILE", help=help_text)


def read_encounter_json(path: str) -> Any:
    """The parsed JSON of FILE ('-' reads stdin), or a CommandError saying what is wrong."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not JSON: {exc}.") from exc
