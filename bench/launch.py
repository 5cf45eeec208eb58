"""Run one command and report its wall time, CPU time and peak memory: the bench's launcher.

``python -I -S launch.py OUT ERR -- CMD...`` forks, execs CMD with stdout into OUT and stderr
into ERR, waits for it with ``wait4`` and prints one line: ``wall_s maxrss_kib cpu_s status``.

Why a launcher of its own, this small: Linux carries a process's peak RSS into its child's
``ru_maxrss`` across fork and exec, so the figure is max(the launcher's peak, the command's).
Started with ``-I -S`` and importing nothing but builtins, the launcher stays well below the
smallest command measured (``python -c pass``); `measure.launcher_floor` says by how much.
``wait4`` gives the child's own usage with that of the children it waited for (git under
capture), not the launcher's.
"""

import os
import sys
import time


def main(argv: list[str]) -> int:
    """Run the command after ``--`` in *argv*; print its figures."""
    out_path, err_path, sep, *cmd = argv
    if sep != "--" or not cmd:
        os.write(2, b"usage: launch.py OUT ERR -- CMD...\n")
        return 2
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    out, err = os.open(out_path, flags, 0o644), os.open(err_path, flags, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.execvp(cmd[0], cmd)  # noqa: S606 (the command to measure, as given)
        except OSError as exc:
            os.write(2, f"{cmd[0]}: {exc}\n".encode())
        os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    print(f"{wall:.6f} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime:.6f} {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
