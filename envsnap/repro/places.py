"""Where a run happens: this machine, another interpreter (--venv) or an image (--image).

Each place runs an argv in a scratch copy of the working directory and writes the job's output
to a log file. On this machine and in a venv the job gets the user's environment (it is the
user's job); a venv is activated for it (``VIRTUAL_ENV``, its ``bin`` first on ``PATH``) and a
Python command runs that venv's interpreter. In an image the scratch copy is mounted read-write
(the user's tree is not mounted at all), the container runs as the user's uid, and its
environment holds only the determinism variables set here, in the shapes envsnap records, and
the setting under test; a Python command runs the image's ``python``.
"""

from __future__ import annotations

import os
from pathlib import Path

from envsnap import _subprocess
from envsnap._envvars import ALLOWLIST
from envsnap._redact import shaped

from .command import Job

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["Host", "Image", "Venv"]

IMAGE_ROOT = "/envsnap-repro/run"


class Host:
    """This machine: the job as written, in the user's environment."""

    kind = "host"

    def __init__(self, label: str = "this machine") -> None:
        self.label = label

    def job(self, job: Job) -> Job:
        """*job* as it runs here."""
        return job

    def environ(self) -> dict[str, str]:
        """The environment a run starts from."""
        return dict(os.environ)

    def python(self, job: Job, workdir: Path) -> str:
        """The interpreter a Python job runs with here (as found on PATH), or ""."""
        from .command import resolve

        if not job.is_python:
            return ""
        return resolve(job.python, workdir, self.environ().get("PATH", os.defpath)) or ""

    def execute(
        self,
        argv: tuple[str, ...],
        *,
        tree: Path,
        cwd: Path,
        env: Mapping[str, str | None],
        log: Path,
        timeout: float | None,
        tick: Callable[[float], None] | None,
        echo: Callable[[str], None] | None,
    ) -> _subprocess.Streamed:
        """Run *argv* in *cwd* (inside the scratch copy *tree*) with *env* applied."""
        full = _subprocess.changed_env(self.environ(), env)
        return _subprocess.stream(
            argv, log=str(log), env=full, cwd=str(cwd), timeout=timeout, tick=tick, echo=echo
        )


class Venv(Host):
    """Another interpreter's environment, activated for the run."""

    kind = "venv"

    def __init__(self, python: str, prefix: str) -> None:
        super().__init__(f"venv {prefix}")
        self.exe = python
        self.prefix = prefix

    def job(self, job: Job) -> Job:
        return job.with_python(self.exe)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = self.prefix
        env["PATH"] = os.pathsep.join([str(Path(self.exe).parent), env.get("PATH", os.defpath)])
        return env

    def python(self, job: Job, workdir: Path) -> str:
        return self.exe if job.is_python else ""


class Image(Host):
    """A container of an image: the scratch copy mounted read-write at `IMAGE_ROOT`."""

    kind = "image"

    def __init__(self, tag: str) -> None:
        super().__init__(f"image {tag}")
        self.tag = tag

    def job(self, job: Job) -> Job:
        return job.with_python("python")  # the image's own, first on its PATH

    def environ(self) -> dict[str, str]:
        out = {"HOME": "/tmp"}  # noqa: S108 - inside the container: a home any uid can write
        for key, value in os.environ.items():
            if key in ALLOWLIST and shaped(key, value):
                out[key] = value
        return out

    def python(self, job: Job, workdir: Path) -> str:
        return "python" if job.is_python else ""

    def execute(
        self,
        argv: tuple[str, ...],
        *,
        tree: Path,
        cwd: Path,
        env: Mapping[str, str | None],
        log: Path,
        timeout: float | None,
        tick: Callable[[float], None] | None,
        echo: Callable[[str], None] | None,
    ) -> _subprocess.Streamed:
        import time

        from envsnap.engine import get_engine

        full = _subprocess.changed_env(self.environ(), env)
        inside = Path(IMAGE_ROOT, cwd.relative_to(tree)).as_posix()
        start = time.monotonic()
        engine = get_engine("docker")
        timed_out = False
        try:
            code: int | None
            code, output = engine.run(
                self.tag,
                list(argv),
                mounts={str(tree): IMAGE_ROOT},
                environment=full,
                working_dir=inside,
                user=f"{os.getuid()}:{os.getgid()}",
                timeout=timeout or 7 * 24 * 3600,
            )
        except TimeoutError as exc:
            code, output, timed_out = None, str(exc), True
        finally:
            engine.close()
        log.write_text(output, encoding="utf-8")
        if echo is not None:
            for line in output.splitlines():
                echo(line)
        tail = tuple(output.splitlines()[-20:])
        return _subprocess.Streamed(
            tuple(argv), code, tail, time.monotonic() - start, timed_out=timed_out
        )
