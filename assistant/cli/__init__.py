"""The ``assistant`` command (``assistant.cli:main``): arguments in parser.py, the sub-commands in
commands.py, what they print in output.py."""

from __future__ import annotations

import sys

from assistant.errors import AssistantError
from assistant.telemetry import quiet_telemetry

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run one ``assistant`` sub-command; errors of the package are printed as one line (exit code 1)."""
    quiet_telemetry()  # before chromadb, gradio or the models are imported
    from assistant.cli.commands import command_settings
    from assistant.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, command_settings(args)) or 0)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
