"""The ``assistant`` command (``assistant.cli:main``): arguments in parser.py, the sub-commands in
commands.py, what they print in output.py."""

from __future__ import annotations

import os
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
    except BrokenPipeError:  # whoever read our output stopped (`assistant ask ... --json | head`): stop quietly
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises nothing more (Python's own advice for
    a closed pipe)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
