"""What every benchmark script prints and writes beside its figures: date, machine and the command, then the
report itself, on stdout and atomically to ``--out``."""
from __future__ import annotations

import shlex
import sys
import time
from typing import Sequence

from ..train import machine_description, write_text

__all__ = ["command_line", "run_header", "publish"]


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """``python <script>`` and its arguments, shell-quoted: ``argv``, else ``sys.argv[1:]``."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", script, *(shlex.quote(a) for a in args)])


def run_header(script: str, argv: Sequence[str] | None = None, device: str = "cpu", **extra: str) -> dict[str, str]:
    """``date``, ``machine``, ``command`` (``python <script>`` and its arguments: ``argv``, else ``sys.argv``), then
    ``extra`` in order."""
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_description(device),
            "command": command_line(script, argv), **extra}


def publish(text: str, out: str | None = None) -> None:
    """Print the report after a blank line and, with ``out``, write it there atomically."""
    print()
    print(text)
    if out:
        write_text(out, text)
