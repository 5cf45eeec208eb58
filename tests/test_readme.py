"""Every shell command in README.md, run in order on a fresh clone, prints what the README shows.

How to keep README.md runnable (the convention this test reads, tests/fakes/readme.py):

- A code block (indented by 4 spaces, or fenced as sh/console) is a *session*: each line that
  starts with ``$ `` is a command, run in bash in the clone's folder; the lines under it, up to
  the next ``$ ``, are what it prints (stdout and stderr together, as a terminal shows them).
  A command shown with no lines under it must print nothing. Shell state carries over from one
  command to the next (``cd``, variables, functions, ``. .venv/bin/activate``), across blocks
  too.
- A line ``...`` in the output stands for any number of lines (none included): show what the
  reader needs, elide the rest.
- Compared after normalising what legitimately varies: every number, version, duration and
  hash (7+ hex digits) reads as ``#``, runs of spaces as one (tables realign), this clone's
  folder as ``/home/me/envsnap``. Write real output you produced; do not hand-edit numbers.
- The clone is a ``git clone`` of this tree plus its uncommitted changes (committed in the
  clone, so its tree is clean), on branch ``main``, with ``origin`` at ``ORIGIN`` as a clone
  from a server has it. Commands run with a scrubbed environment (tests/fakes/hermetic.py), an
  empty envsnap cache and no virtualenv active: the README activates ``.venv`` itself.
- An HTML comment just before a block (only blank lines between; indented like the list item
  when the block is in one) marks it, invisibly:
  ``<!-- readme-test: skip REASON -->``: illustrative only, not run (keep these few, and say
  why: a cluster, a registry, placeholders); ``<!-- readme-test: python -->``: a Python
  snippet, run with the session's ``python``, which must exit 0; ``<!-- readme-test: docker
  -->``: needs a Docker daemon, skipped without one and run under ``flock
  /tmp/envsnap-docker.lock`` with one (held once across consecutive Docker steps, and the
  images they tag with ``-t``, and the stages their builds leave untagged, are removed before it
  is let go);
  ``<!-- readme-test: xfail REASON -->``: known to differ today, strictly: when it starts to
  pass the test fails until the mark goes; ``<!-- readme-test: provide venv REASON -->``: the
  block makes ``venv``, which the test links to the shared cached venv with the same packages
  (numpy, threadpoolctl, torch 2.13.0 CPU) instead of installing torch again;
  ``<!-- readme-test: again REASON -->``: a step of the block whose output is not the one shown
  runs once more (for output that depends on what a loaded machine does, with the reason).
- Files the README's commands write into the clone must be gitignored: the last test checks
  that the clone's tree is still clean, since later captures of it would record it "dirty".

`test_the_readme_follows_the_convention` (fast) fails on an unmarked block; the steps
themselves are slow (``make run`` installs a venv; the MLflow extra another minute or two).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fakes import readme
from tests.fakes.docker import (
    daemon_unavailable,
    docker_lock,
    image_ids,
    remove_new_dangling_images,
)

README = ROOT / "README.md"
ORIGIN = "https://example.org/envsnap.git"
CLONE_AS = "/home/me/envsnap"  # how the README writes the clone's folder
TIMEOUT = 900.0  # one command; `make run` on a busy machine takes a minute or two
# What a user's terminal does not have: the calling make's, pytest's and a venv's variables.
DROP = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "PYTHONPATH", "VIRTUAL_ENV")
DROP_PREFIXES = ("PYTEST_", "COLUMNS", "LINES")
_TAG = re.compile(r"(?:-t|--tag)[ =](\S+)")


def _steps() -> list[readme.Step]:
    try:
        return readme.steps(README.read_text(encoding="utf-8"))
    except readme.ReadmeError:
        return []  # test_the_readme_follows_the_convention says why


STEPS = _steps()


def test_the_readme_follows_the_convention() -> None:
    found = readme.steps(README.read_text(encoding="utf-8"))
    assert found, "README.md has no `$ ` command"
    commands = [s for s in found if not s.python and s.block.marker("skip") is None]
    assert any(s.command.startswith("make run") for s in commands)


def test_drift_is_caught_and_what_varies_is_not() -> None:
    shown = "captured 6 packages, Python 3.11.7 -> envsnap-capture/\n...\nwrote it   (41 files)"
    expected = readme.normalise(shown)
    same = "captured 67 packages, Python 3.12.1 -> envsnap-capture/\nwrote it (3 files)\n"
    assert readme.matches(expected, readme.normalise(same))
    more = "captured 1 packages, Python 3.9.0 -> envsnap-capture/\nx\ny\nwrote it (3 files)\n"
    assert readme.matches(expected, readme.normalise(more))
    drifted = same.replace("captured", "recorded")
    assert not readme.matches(expected, readme.normalise(drifted))
    assert not readme.matches(expected, readme.normalise(same + "one line more\n"))
    folder = readme.normalise("fix: pip install -e /tmp/x/envsnap", [("/tmp/x/envsnap", CLONE_AS)])
    assert folder == ["fix: pip install -e /home/me/envsnap"]
    assert readme.normalise("commit a3fe9ed, run ee1ce062f39e, branch feed") == [
        "commit #, run #, branch feed"
    ]
    haswell = (
        "gemm: bits differ (outside the 32 sampled values, which all match); "
        "kernel (OpenBLAS core type) Haswell"
    )
    skylake = (
        "gemm: bits differ (25 of 32 sampled values differ, max 68 ulps, rel 9.2e-15); "
        "kernel (OpenBLAS core type) SkylakeX"
    )
    assert readme.normalise(haswell) == readme.normalise(skylake)
    unknown = "gemm: bits differ (every sampled value differs); kernel (OpenBLAS core type) Haswell"
    assert readme.normalise(unknown) != readme.normalise(haswell)  # only the battery's two forms


def test_an_unmarked_block_is_refused() -> None:
    text = "Some text:\n\n    pip install thing\n"
    with pytest.raises(readme.ReadmeError, match=r"README.md:3: a code block that is not"):
        readme.steps(text)
    marked = "Text:\n\n<!-- readme-test: skip needs a GPU -->\n\n    nvidia-smi\n"
    (step,) = readme.steps(marked)
    assert step.block.marker("skip") == "needs a GPU"
    with pytest.raises(readme.ReadmeError, match="needs a reason"):
        readme.steps("<!-- readme-test: skip -->\n\n    x\n")


# --- the run -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one step printed, or why it did not run."""

    output: str = ""
    returncode: int = 0
    skipped: str = ""
    seconds: float = 0.0


def _git(*args: str | os.PathLike[str], cwd: Path, data: bytes | None = None) -> bytes:
    ident = ["-c", "user.name=readme-test", "-c", "user.email=readme-test@envsnap.invalid"]
    done = subprocess.run(
        ["git", *ident, *map(str, args)], cwd=cwd, input=data, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def fresh_clone(dest: Path) -> Path:
    """A clone of this repository's HEAD with its uncommitted changes committed on top, on
    branch main, with origin where a clone from a server has it."""
    _git("clone", "-q", ROOT, dest, cwd=ROOT.parent)
    diff = _git("diff", "HEAD", "--binary", cwd=ROOT)
    if diff:
        _git("apply", "--binary", "-", cwd=dest, data=diff)
    others = _git("ls-files", "-z", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, others.decode().split("\0")):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    _git("add", "-A", cwd=dest)
    if _git("status", "--porcelain", cwd=dest):
        _git("commit", "-q", "-m", "the source tree's uncommitted changes", cwd=dest)
    _git("checkout", "-q", "-B", "main", cwd=dest)
    _git("remote", "set-url", "origin", ORIGIN, cwd=dest)
    return dest


def _base_env(cache: Path) -> dict[str, str]:
    """A newcomer's terminal: this (scrubbed) environment without make's, pytest's or a
    virtualenv's variables, no venv on PATH, an empty envsnap cache, Python line-buffered."""
    venvs = {str(Path(sys.prefix) / "bin"), str(ROOT / ".venv" / "bin")}
    if os.environ.get("VIRTUAL_ENV"):
        venvs.add(str(Path(os.environ["VIRTUAL_ENV"]) / "bin"))
    env = {k: v for k, v in os.environ.items() if k not in DROP and not k.startswith(DROP_PREFIXES)}
    path = os.environ.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in path if p.rstrip("/") not in venvs)
    env["ENVSNAP_CACHE_DIR"] = str(cache)
    env["PYTHONUNBUFFERED"] = "1"  # a terminal sees stdout and stderr lines in order
    return env


class Session:
    """A bash session in *clone* whose variables (exported or not), functions and folder carry
    over from one command to the next, as in a terminal."""

    def __init__(self, clone: Path, scratch: Path, env: dict[str, str]) -> None:
        self.clone, self.scratch = clone, scratch
        self.state, self.cwd = scratch / "state.sh", scratch / "cwd"
        self.state.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
        self.cwd.write_text(str(clone))
        # bash's own variables (BASHPID, EUID, PPID...): never saved, some are read-only
        self.own = scratch / "bash-variables"
        own = subprocess.run(
            ["bash", "-c", "compgen -v"], env={}, capture_output=True, text=True, check=True
        )
        self.own.write_text(own.stdout)

    def run(self, command: str) -> Outcome:
        state, own = shlex.quote(str(self.state)), shlex.quote(str(self.own))
        script = (
            f". {state}\n"
            f'cd "$(cat {shlex.quote(str(self.cwd))})"\n'
            f"{command}\n"
            "__readme_rc=$?\n"
            f"__readme_names=$(compgen -v | grep -vxF -f {own} | grep -v '^__readme_')\n"
            '{ export -p; [ -z "$__readme_names" ] || declare -p $__readme_names; declare -f; }'
            f" > {state}\n"
            f"pwd > {shlex.quote(str(self.cwd))}\n"
            "exit $__readme_rc\n"
        )
        try:
            done = subprocess.run(
                ["bash", "-c", script],
                env={},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raw = exc.output or ""
            out = raw if isinstance(raw, str) else raw.decode(errors="replace")
            return Outcome(f"{out}\n(timed out after {TIMEOUT:g} s)", 124)
        return Outcome(done.stdout, done.returncode)


def test_the_session_keeps_variables_functions_and_the_folder(tmp_path: Path) -> None:
    (tmp_path / "clone" / "sub").mkdir(parents=True)
    (tmp_path / "scratch").mkdir()
    session = Session(tmp_path / "clone", tmp_path / "scratch", {"PATH": os.environ["PATH"]})
    for command in ("a=$(echo one)", 'f() { echo f "$@"; }', "export B=two", "cd sub"):
        assert session.run(command) == Outcome()
    done = session.run('echo "$a $B"; f x; basename "$PWD"; exit 3')
    assert (done.output, done.returncode) == ("one two\nf x\nsub\n", 3)


def _provide(what: str, session: Session, request: pytest.FixtureRequest) -> Outcome:
    name = what.split(maxsplit=1)[0].rstrip(":")
    if name != "venv":
        return Outcome(f"readme-test: cannot provide {name!r}", 2)
    try:
        python = request.getfixturevalue("torch_python")
    except pytest.skip.Exception as exc:
        return Outcome(skipped=f"no cached torch venv: {exc}")
    folder = Path(session.cwd.read_text().strip()) / "venv"
    folder.symlink_to(Path(python).parent.parent, target_is_directory=True)
    return Outcome(skipped=f"provided: venv -> {Path(python).parent.parent} ({what})")


def _images() -> set[str]:
    """Every image on the daemon now, intermediate ones included."""
    from envsnap.engine.docker import DockerEngine

    engine = DockerEngine()
    try:
        return image_ids(engine.api())
    finally:
        engine.close()


def _remove_made(tags: set[str], before: set[str]) -> None:
    """Remove the images the steps tagged, then the stages their builds left untagged (the
    classic builder keeps each stage's image; not removed, they fill the disk run after run)."""
    import docker

    from envsnap.engine.docker import DockerEngine

    engine = DockerEngine()
    try:
        client = engine.api()
        for tag in tags:
            with contextlib.suppress(docker.errors.APIError):
                client.remove_image(tag, force=True)
        remove_new_dangling_images(client, before)
    finally:
        engine.close()


def _docker(step: readme.Step | None) -> bool:
    return step is not None and step.block.marker("docker") is not None


def _run_all(session: Session, request: pytest.FixtureRequest) -> list[Outcome]:
    """Run every step in order. Consecutive Docker steps (a build, then a run of its image) run
    holding the docker lock once, and the images they made (tagged, and the stages their builds
    left untagged) are removed before it goes."""
    outcomes: list[Outcome] = []
    no_docker: str | None = None
    tags: set[str] = set()
    before: set[str] = set()
    checked_docker = False
    locked = False
    with contextlib.ExitStack() as held:
        for number, step in enumerate(STEPS):
            block = step.block
            skip = block.marker("skip")
            if skip is not None:
                outcomes.append(Outcome(skipped=f"README.md:{block.line}: illustrative: {skip}"))
                continue
            provide = block.marker("provide")
            if provide is not None:
                first = next(s for s in STEPS if s.block is block)
                outcomes.append(
                    _provide(provide, session, request)
                    if step is first
                    else Outcome(skipped="provided")
                )
                continue
            if _docker(step):
                if not checked_docker:
                    no_docker, checked_docker = daemon_unavailable(), True
                if no_docker:
                    outcomes.append(Outcome(skipped=f"needs Docker: {no_docker}"))
                    continue
                tags.update(_TAG.findall(step.command))
                if not locked:
                    held.enter_context(docker_lock())
                    locked = True
                    before = _images()
            command = step.command
            if step.python:
                script = session.scratch / f"step-{number}.py"
                script.write_text(step.command + "\n")
                command = f"python {shlex.quote(str(script))}"
            start = time.monotonic()
            outcome = session.run(command)
            if block.marker("again") is not None and not _agrees(step, outcome, session.clone):
                outcome = session.run(command)  # once more: see the block's reason
            outcome.seconds = time.monotonic() - start  # without the wait for the docker lock
            outcomes.append(outcome)
            following = STEPS[number + 1] if number + 1 < len(STEPS) else None
            if locked and not _docker(following):
                _remove_made(tags, before)
                tags.clear()
                held.close()
                locked = False
    return outcomes


@pytest.fixture(scope="module")
def readme_run(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Path, list[Outcome]]:
    """The README's steps, run once in order on a fresh clone: (the clone, each outcome)."""
    root = tmp_path_factory.mktemp("readme")
    clone = fresh_clone(root / "envsnap")
    scratch = root / "session"
    scratch.mkdir()
    session = Session(clone, scratch, _base_env(root / "envsnap-cache"))
    return clone, _run_all(session, request)


def _agrees(step: readme.Step, outcome: Outcome, clone: Path) -> bool:
    """Whether what *step* printed is what the README shows, once normalised."""
    swap = [(str(clone), CLONE_AS), (str(Path.home()), "~")]
    expected = readme.normalise("\n".join(step.expected))
    return readme.matches(expected, readme.normalise(outcome.output, swap))


def _params() -> list[Any]:
    out = []
    for number, step in enumerate(STEPS):
        why = step.block.marker("xfail")
        reason = f"README.md:{step.block.line}: {why}; when it passes, remove its xfail mark"
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if why else []
        out.append(pytest.param(number, id=step.id, marks=marks))
    return out


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("number", _params())
def test_readme_step(number: int, readme_run: tuple[Path, list[Outcome]]) -> None:
    clone, outcomes = readme_run
    step, outcome = STEPS[number], outcomes[number]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if step.python:
        assert outcome.returncode == 0, f"README.md:{step.line}: the Python block failed:\n" + (
            outcome.output
        )
        return
    if _agrees(step, outcome, clone):
        return
    swap = [(str(clone), CLONE_AS), (str(Path.home()), "~")]
    expected = readme.normalise("\n".join(step.expected))
    actual = readme.normalise(outcome.output, swap)
    diff = "\n".join(
        difflib.unified_diff(expected, actual, "README.md (normalised)", "printed", lineterm="")
    )
    pytest.fail(
        f"README.md:{step.line}: `{step.command}` printed something else (exit "
        f"{outcome.returncode}):\n{diff}\n--- as printed:\n{outcome.output}",
        pytrace=False,
    )


@pytest.mark.slow
@pytest.mark.network
def test_the_readme_leaves_the_clone_clean(readme_run: tuple[Path, list[Outcome]]) -> None:
    """What the README's commands write is gitignored: a capture of the repository after
    following the README records a clean tree."""
    clone, outcomes = readme_run
    assert _git("status", "--porcelain", "--untracked-files=all", cwd=clone).decode() == ""
    ran = [(o.seconds, s.id) for s, o in zip(STEPS, outcomes) if not o.skipped]
    print(f"README steps: {sum(t for t, _ in ran):.0f} s in all")  # shown by `pytest -rP`
    for seconds, name in sorted(ran, reverse=True)[:5]:
        print(f"{seconds:7.1f} s  {name}")
