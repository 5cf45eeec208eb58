"""Run a command with one of its streams on a pseudo-terminal, as a user at a terminal sees it."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Mapping, Sequence

__all__ = ["run_on_tty"]


def run_on_tty(
    argv: Sequence[str], *, stream: str, env: Mapping[str, str], timeout: float = 120
) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """Run *argv* with its *stream* (``"stdout"`` or ``"stderr"``) on a terminal; return the
    finished process (the other stream captured) and what the terminal received."""
    main, child = pty.openpty()
    try:
        proc = subprocess.run(
            list(argv),
            stdout=child if stream == "stdout" else subprocess.PIPE,
            stderr=child if stream == "stderr" else subprocess.PIPE,
            env=dict(env),
            timeout=timeout,
            check=False,
        )
    finally:
        os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO once the child side is closed and drained
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc, b"".join(chunks).decode()
