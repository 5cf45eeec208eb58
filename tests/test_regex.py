"""Patterns compiled on first use (`envsnap._regex`): they answer as `re` does, and importing
envsnap's modules compiles no pattern of envsnap's."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from envsnap._regex import Pattern, lazy
from tests.fakes.imports import python_without_site

CASES = [
    (r"(?P<name>[a-z]+)-(?P<v>[0-9.]+)", 0, ["torch-2.1", "x-", "abc-1.2.3 tail", "", "A-1"]),
    (r"[&;]", 0, ["a&b;c", "", "&&", "plain"]),
    (r"^lib(mkl|openblas)\.so", re.IGNORECASE, ["LIBMKL.so.1", "libopenblas.so", "xlibmkl.so"]),
    (r"(?m)^\s*#\s*define\s+(\w+)\s+(\d+)\b", 0, ["#define CUDA 12\n # define X 3\n", "no"]),
]


@pytest.mark.parametrize(("source", "flags", "inputs"), CASES)
def test_a_lazy_pattern_answers_as_re(source: str, flags: int, inputs: list[str]) -> None:
    real = re.compile(source, flags)

    def answers(p: Pattern | re.Pattern[str], text: str) -> list[object]:
        spans = [
            (m.span(), m.groups()) if m else None
            for m in (p.match(text), p.fullmatch(text), p.search(text), p.match(text, 1))
        ]
        return [
            *spans,
            p.sub("<\\g<0>>", text),
            p.subn(lambda m: m.group(0).upper(), text, 1),
            p.split(text),
            p.findall(text),
            [m.span() for m in p.finditer(text)],
        ]

    for text in inputs:
        fresh = lazy(source, flags)  # each method as the first call, and after compiling
        assert answers(fresh, text) == answers(real, text) == answers(fresh, text)
        assert fresh.compiled() is real  # re's cache: the same compiled pattern
    assert (lazy(source, flags).pattern, lazy(source, flags).flags) == (source, flags)


def test_a_bad_pattern_fails_on_first_use_with_res_error() -> None:
    bad = lazy(r"(unclosed")
    with pytest.raises(re.error):
        bad.search("x")


# Run in a fresh interpreter without .pth files (tests.fakes.imports): every envsnap module is
# imported, and each compile of a pattern is noted with the file that asked for it.
_PROBE = r"""
import json, pkgutil, sys, importlib
import re, re._compiler as rc
import envsnap

asked = []
original = rc.compile
def noting(p, flags=0):
    frame = sys._getframe(1)
    while frame and ("/re/" in frame.f_code.co_filename or "_regex.py" in frame.f_code.co_filename):
        frame = frame.f_back
    asked.append([frame.f_code.co_filename if frame else "?", str(p)[:60]])
    return original(p, flags)
rc.compile = noting
failed = []
for info in pkgutil.walk_packages(envsnap.__path__, "envsnap."):
    if info.name.endswith("__main__"):  # runs the CLI
        continue
    try:
        importlib.import_module(info.name)
    except ImportError as exc:  # an optional dependency missing: not this test's business
        failed.append([info.name, str(exc)])
ours = [a for a in asked if "/envsnap/" in a[0]]
print(json.dumps({"patterns": ours, "failed": failed,
                  "modules": sum(m.startswith("envsnap.") for m in sys.modules)}))
"""


def test_importing_every_module_compiles_nothing_of_envsnaps() -> None:
    argv, env = python_without_site()
    done = subprocess.run(
        [*argv, "-c", _PROBE], capture_output=True, text=True, env=env, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["modules"] > 100, result  # the walk did import the package
    assert result["patterns"] == []
