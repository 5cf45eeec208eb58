"""`envsnap repro -- COMMAND`: do the job's runs give the same outputs, and which setting makes
them agree? The text and JSON renderings of a `ReproResult`."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace
from typing import Any

__all__ = ["register", "render", "run"]

HELP = """\
Run COMMAND (your own job: training, evaluation, preprocessing) several times, each in its own
scratch copy of the working directory, and compare what the runs made: safetensors, torch
checkpoints (loaded with weights_only=True), .npy/.npz tensor by tensor (elements that differ,
max abs, max rel, max ulps, first differing index), JSON/YAML/CSV metrics value by value, other
files byte for byte. Your files are never written: each run works on a copy.

  envsnap repro -- python train.py --epochs 1
  envsnap repro --output model.safetensors --explain -- python train.py
  envsnap repro --image envsnap/train:1 -- python train.py

--output PATH (repeatable: a file, a folder or a glob inside the working directory) says what
to compare; without it, every file a run created or changed is compared. The verdict is one
line ("reproducible: 2 runs, 1 output, 4 tensors bit-identical" or "not reproducible:
model.safetensors 4 of 4 tensors differ (max 3 ulps)") and is recorded in the capture folder's
repro.toml (--capture DIR, default ./envsnap-capture when it exists), which `envsnap report`,
`envsnap log --mlflow` and `envsnap check` read.

--explain re-runs a job whose runs differ under candidate settings, one at a time and most
likely first (PYTHONHASHSEED, BLAS and OpenMP thread counts, torch threads, torch deterministic
algorithms with the cuDNN flags; on a GPU also CUBLAS_WORKSPACE_CONFIG, TF32 off,
TF_DETERMINISTIC_OPS and XLA flags), until one makes every run agree, then all of them together
when none alone does: "fix verified: PYTHONHASHSEED=0 (3 runs identical)", or that nothing
fixes it and which outputs still differ. Torch and TensorFlow switches reach a Python command
through a bootstrap (python -m envsnap.repro.boot), never by editing your code.

--venv PATH runs it once here and once with another environment's interpreter; --image TAG
once here and once in a container of the image (for example one made by `envsnap rebuild`).
The answer is "... reproduces this machine's outputs bit for bit", or the differences with
their likely cause from the numerics facts of both sides (threads, CPU kernels, TF32...);
with --explain each cause is verified by re-running there under the setting.

Exit status: 0 reproducible, 1 not reproducible, 2 bad input or a run that failed.
"""


def register(sub: Any) -> None:
    """Add the `repro` sub-command to *sub*."""
    import argparse

    from .formatter import Formatter

    p = sub.add_parser(
        "repro",
        help="run your job several times and compare what it made",
        description=HELP,
        formatter_class=Formatter,
        usage="envsnap repro [options] -- COMMAND [ARGS...]",
    )
    p.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="runs to compare (default 2; 1 here with --venv/--image)",
    )
    p.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="PATH",
        help="what to compare (repeatable); default: every file created or changed",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="when runs differ, find and verify the setting that makes them agree",
    )
    p.add_argument(
        "--venv", metavar="PATH", help="compare with a run in this venv (or interpreter)"
    )
    p.add_argument("--image", metavar="TAG", help="compare with a run in a container of TAG")
    p.add_argument("--workdir", metavar="DIR", help="the folder copied for each run (default .)")
    p.add_argument(
        "--capture",
        metavar="DIR",
        help="record repro.toml here (default ./envsnap-capture when it exists)",
    )
    p.add_argument("--no-record", action="store_true", help="do not write repro.toml")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit of each run")
    p.add_argument("--scratch", metavar="DIR", help="where the scratch copies go (default $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep the scratch copies (path printed)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("-v", "--verbose", action="store_true", help="show the job's output")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Run the repro (`envsnap.api.repro`); print the verdict; return 0, 1 (or raise for 2)."""
    from envsnap.api import repro
    from envsnap.errors import EnvsnapError
    from envsnap.repro import RunFailed

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        result = repro(
            command,
            runs=args.runs,
            outputs=args.output,
            explain=args.explain,
            venv=args.venv,
            image=args.image,
            workdir=args.workdir,
            capture=args.capture,
            record=not args.no_record,
            timeout=args.timeout,
            keep=args.keep,
            scratch=args.scratch,
            quiet=args.quiet,
            verbose=args.verbose,
        )
    except EnvsnapError as exc:
        tail = exc.tail if isinstance(exc, RunFailed) else ()
        if args.json:
            print(json.dumps(_error(exc, tail), indent=2))
        else:
            _print_tail(tail)
        raise
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        sys.stdout.write(render(result))
    return 0 if result.reproducible else 1


def _print_tail(tail: tuple[str, ...]) -> None:
    from envsnap import _redact

    if tail:
        print("envsnap: the run's last lines of output:", file=sys.stderr)
        for line in tail:
            print(f"  | {_redact.text(line)}", file=sys.stderr)


def _error(exc: Any, tail: tuple[str, ...]) -> dict[str, Any]:
    return {
        "version": 1,
        "reproducible": False,
        "error": {
            "message": exc.message,
            "hint": exc.hint or "",
            "exit_code": exc.exit_code,
            "tail": list(tail),
        },
    }


_FACTS = (
    "torch.version",
    "torch.threads",
    "torch.cpu-capability",
    "numpy.version",
    "blas.numpy.threads",
    "blas.numpy.architecture",
)
_MOST = 8


def render(result: Any) -> str:
    """The text a person reads: the verdict first, then what differs, why, and what fixes it."""
    from envsnap import _redact

    lines = [_redact.text(result.summary)]
    for out in result.outputs:
        if not out.identical:
            lines += _output_lines(out)
    if result.causes:
        lines.append("likely cause: " + "; ".join(_redact.text(c) for c in result.causes))
    if len(result.sides) > 1 and not result.reproducible:
        lines += _facts_lines(result.sides)
    if result.explanation is not None:
        lines += _explain_lines(result.explanation)
    lines += [f"note: {_redact.text(note)}" for note in result.notes]
    if result.recorded:
        lines.append(f"recorded in {_redact.text(result.recorded)}")
    return "\n".join(lines) + "\n"


def _output_lines(out: Any) -> list[str]:
    from envsnap import _redact
    from envsnap.repro.result import number

    lines = [f"  {_redact.text(out.path)} ({out.kind}): {_redact.text(_detail(out))}"]
    bad = out.differing_tensors
    lines += ["    " + _redact.text(_tensor_line(t, number)) for t in bad[:_MOST]]
    if len(bad) > _MOST:
        lines.append(f"    ... and {len(bad) - _MOST} more tensors (--json lists them all)")
    for v in out.values[:_MOST]:
        by = f" (by {number(v.abs_diff)})" if v.abs_diff is not None else ""
        lines.append(
            f"    {_redact.text(v.key)}: {_redact.text(v.first)} vs {_redact.text(v.other)}{by}"
        )
    if out.note:
        lines.append(f"    note: {_redact.text(out.note)}")
    return lines


def _facts_lines(sides: Any) -> list[str]:
    """The numerics facts of each side that say most about a job's results."""
    from envsnap import _redact
    from envsnap.numerics.attribution import LABELS

    lines = []
    for side in sides:
        facts = dict(side.facts)
        shown = [f"{LABELS.get(k, k)} {facts[k]}" for k in _FACTS if facts.get(k)]
        if shown:
            lines.append(f"  {_redact.text(side.label)}: {_redact.text(', '.join(shown))}")
    return lines


def _explain_lines(expl: Any) -> list[str]:
    from envsnap import _redact

    lines = []
    for t in expl.trials:
        if t.failed:
            what = f"a run failed ({t.failed})"
        elif t.agreed:
            what = "agrees" if expl.target else f"{t.runs} runs agree"
        else:
            what = "still differ: " + ", ".join(t.still)
        lines.append(f"  tried {_redact.text(t.label)}: {_redact.text(what)}")
    lines += [f"  not tried: {_redact.text(s)}" for s in expl.skipped]
    lines.append(_redact.text(expl.line()))
    return lines


def _detail(out: Any) -> str:
    """What differs in *out*, without its path (the verdict line names it)."""
    return str(out.summary()).removeprefix(out.path + " ")


def _tensor_line(t: Any, number: Any) -> str:
    from envsnap._text import plural

    if t.note:
        return f"{t.name}: {t.note}"
    total = 1
    for d in t.shape:
        total *= d
    parts = [f"{t.differing} of {total} elements differ"]
    if t.max_abs is not None:
        parts.append(f"max abs {number(t.max_abs)}")
    if t.max_rel is not None:
        parts.append(f"max rel {number(t.max_rel)}")
    if t.max_ulps is not None:
        parts.append(f"max {plural(t.max_ulps, 'ulp')}")
    if t.first_index is not None:
        parts.append(f"first at {list(t.first_index)}")
    return f"{t.name} {t.dtype} {list(t.shape)}: " + ", ".join(parts)
