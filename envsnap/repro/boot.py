"""Run a Python job under determinism switches, without editing its code.

``python -m envsnap.repro.boot SETTINGS -- script.py ARGS`` (or ``-- -m module ARGS``, or
``-- -c CODE ARGS``) applies the torch/TensorFlow switches in SETTINGS (a JSON object: see
`envsnap.numerics.switches`), then runs the job as ``__main__`` with runpy, as the interpreter
would have: same ``sys.argv``, the script's folder first on ``sys.path``. Where envsnap is not
installed (another venv, a rebuilt image), `repro` runs this file's text with ``-c``, after the
switches' text (`envsnap.numerics.runner.script_source`). Standard library only; it works when
torch is absent (its switches are skipped with a note on stderr).
"""

import json
import runpy
import sys
from pathlib import Path

if "apply_switches" not in globals():  # run as a module of an installed envsnap
    from envsnap.numerics.switches import apply_switches


def main(argv):
    """*argv*: SETTINGS, ``--``, then what follows ``python`` on the job's command line."""
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m envsnap.repro.boot SETTINGS -- script.py|-m MODULE|-c CODE ...")
    for note in apply_switches(json.loads(argv[0])):
        print(f"envsnap.repro.boot: {note}", file=sys.stderr)
    target = argv[2:]
    if target[0] == "-m" and len(target) > 1:
        sys.argv = [target[1], *target[2:]]
        sys.path[0] = str(Path.cwd())
        runpy.run_module(target[1], run_name="__main__", alter_sys=True)
    elif target[0] == "-c" and len(target) > 1:
        sys.argv = ["-c", *target[2:]]
        code = compile(target[1], "<string>", "exec")
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102 - the job
    else:
        sys.argv = list(target)
        sys.path[0] = str(Path(target[0]).absolute().parent)
        runpy.run_path(target[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
