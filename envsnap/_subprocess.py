"""The processes door: the one place that starts subprocesses (argument lists, timeouts, no shell).

Some of what envsnap runs touches what a stranger wrote: a checkout from an archive or a shared
folder, a capture's recorded settings, a program name the current folder could shadow. Those go
through the functions here, which carry the guarantees, and `tests/test_doors_words.py` keeps
every other module from starting a process itself:

- `git` runs no code of the repository: hooks, fsmonitor, textconv, external diff, pager and
  the clean/smudge/process filters that the repository's own config defines (directly or
  through ``include.path``/``includeIf``) are off, and ``status`` writes no index
  (``GIT_OPTIONAL_LOCKS=0``) and never prompts. The user's system and global config still
  apply (``safe.directory``, ``core.excludesFile``): they are the user's.
- `which` and `interpreter` look a bare name up in the absolute folders of ``PATH`` only,
  never in the current folder (an empty or ``.`` entry of ``PATH`` included); a name with a
  slash is a path, used as given.
- `run_untrusted` starts a program whose environment changes come from a capture: a change
  reaches it only when `envsnap._envvars.ALLOWLIST` names the variable and its value has that
  variable's shape (`envsnap._redact.shaped`). ``PYTHONPATH`` or ``LD_PRELOAD`` from a
  capture never does.
- `stream` runs a long job of the user's (`envsnap repro`): an argument list, no shell, a bare
  program name looked up like `which` (never in the current folder), its own process group so
  that a time-out or an interrupt leaves no child of it running, and its output into a log.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # under `signal`, whose enums cost 0.4 ms
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from ._record import Record, record

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    import subprocess
    from typing import IO, Any

__all__ = [
    "Completed",
    "Streamed",
    "accepted",
    "capture_env",
    "changed_env",
    "git",
    "git_bytes",
    "git_remote_urls",
    "interpreter",
    "pip",
    "run",
    "run_bytes",
    "run_untrusted",
    "stream",
    "which",
]


@record
class Completed(Record):
    """What a finished command returned; `returncode` is None when it could not start."""

    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the command started and exited 0."""
        return self.returncode == 0


def run(
    args: Sequence[str],
    *,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    input_text: str | None = None,
) -> Completed:
    """Run *args* and capture its output; never raises for a missing binary or a timeout.

    A bare program name is looked up like `which` (the absolute folders of the ``PATH`` it is
    given, never the current folder). The output is decoded as `subprocess` decodes text (the
    locale's encoding, undecodable bytes replaced, universal newlines).
    """
    program = _program(args, env)
    if program is None:
        return Completed(tuple(args), None, "", _missing(args))
    if cwd is None and input_text is None:
        spawned = _spawn(args, timeout, env)
        if spawned is not None:
            code, out, err = spawned
            if code is None:
                return Completed(tuple(args), None, "", err.decode())
            return Completed(tuple(args), code, _text(out), _text(err))
    import subprocess  # only where posix_spawn cannot serve (a cwd, an input, no POSIX)

    try:
        proc = subprocess.run(
            list(args),
            executable=program,  # found as above: subprocess's own search tries the current folder
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input_text,
            check=False,
            errors="replace",
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Completed(tuple(args), None, "", str(exc))
    return Completed(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def run_bytes(
    args: Sequence[str], *, timeout: float = 30.0, env: Mapping[str, str] | None = None
) -> bytes | None:
    """Run *args* and return its standard output as bytes, undecoded and untranslated (for a
    digest of it); None when it could not start, timed out or exited non-zero."""
    program = _program(args, env)
    if program is None:
        return None
    spawned = _spawn(args, timeout, env)
    if spawned is not None:
        code, out, _ = spawned
        return out if code == 0 else None
    import subprocess

    try:
        proc = subprocess.run(
            list(args),
            executable=program,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env is not None else None,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


# --- the common case without `subprocess` ------------------------------------------------------
# `import subprocess` (with threading, selectors, signal and locale) cost a third of the time a
# capture adds to an interpreter's start, for its one `git status`. `_spawn` starts a program
# with os.posix_spawn as `subprocess.run(capture_output=True, timeout=...)` does with fork and
# exec: standard input inherited, output and errors on two pipes, every other inheritable file
# descriptor closed in the child, the signals Python ignores (SIGPIPE, SIGXFSZ) at their
# defaults again, and on a time-out the child killed and reaped.


_SIGKILL = getattr(_signal, "SIGKILL", 9)
# What Python ignores and subprocess's restore_signals puts back to default in the child.
_DEFAULT_SIGNALS = tuple(
    # SIGXFZ as CPython's _Py_RestoreSignals lists it (absent on Linux: hasattr drops it)
    getattr(_signal, name)
    for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ")
    if hasattr(_signal, name)
)


def _spawn(
    args: Sequence[str], timeout: float, env: Mapping[str, str] | None
) -> tuple[int | None, bytes, bytes] | None:
    """(exit code, stdout, stderr) of *args*, or (None, b"", why) when it could not start or did
    not finish within *timeout* seconds; None where posix_spawn cannot serve (then the caller
    uses `subprocess`)."""
    if not hasattr(os, "posix_spawn") or not args:
        return None
    argv = [os.fspath(a) for a in args]
    program = _program(argv, env)
    if program is None:
        return None, b"", _missing(argv).encode()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    mine = (out_r, out_w, err_r, err_w)
    if min(mine) <= 2:  # a standard stream was closed: leave the juggling to subprocess
        for fd in mine:
            os.close(fd)
        return None
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd not in mine]
    try:
        pid = os.posix_spawn(
            program,
            argv,
            os.environ if env is None else env,
            file_actions=actions,
            setsigdef=_DEFAULT_SIGNALS,
        )
    except OSError as exc:
        for fd in mine:
            os.close(fd)
        return None, b"", str(exc).encode()
    os.close(out_w)
    os.close(err_w)
    try:
        return _collect(pid, out_r, err_r, argv, timeout)
    except BaseException:  # an interrupt: no child is left running
        _kill(pid)
        raise
    finally:
        os.close(out_r)
        os.close(err_r)


def _collect(
    pid: int, out_r: int, err_r: int, argv: list[str], timeout: float
) -> tuple[int | None, bytes, bytes]:
    """Read both pipes to their end and reap *pid*, within *timeout* seconds of now."""
    import select
    import time

    deadline = time.monotonic() + timeout
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    for fd in chunks:
        poller.register(fd, select.POLLIN)
    open_fds = len(chunks)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            return _timed_out(pid, argv, timeout)
        for fd, _ in poller.poll(left * 1000):
            data = os.read(fd, 1 << 16)
            if data:
                chunks[fd].append(data)
            else:
                poller.unregister(fd)
                open_fds -= 1
    status = _reap(pid, deadline)
    if status is None:
        return _timed_out(pid, argv, timeout)
    code = os.waitstatus_to_exitcode(status)
    return code, b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _reap(pid: int, deadline: float) -> int | None:
    """The wait status of *pid*, whose pipes both closed (it is exiting), or None when it still
    runs at *deadline*. Waits on a pidfd (Linux), which wakes the moment the child is gone,
    else in growing naps."""
    import select
    import time

    pidfd = _pidfd(pid)
    delay = 0.0002
    try:
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # SIGCHLD ignored: reaped already; 0, as subprocess says
                return 0
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if pidfd is not None:
                exited = select.poll()
                exited.register(pidfd, select.POLLIN)
                exited.poll(left * 1000)
            else:
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.05)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when *pid* exits (Linux 5.3), else None."""
    try:
        return os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return None


def _timed_out(pid: int, argv: list[str], timeout: float) -> tuple[None, bytes, bytes]:
    _kill(pid)
    return None, b"", f"Command '{argv}' timed out after {timeout} seconds".encode()


def _kill(pid: int) -> None:
    """Kill and reap the child *pid* (gone already: nothing to do)."""
    try:
        os.kill(pid, _SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _inheritable_fds() -> list[int]:
    """This process's inheritable descriptors above 2 (``close_fds``: none reaches the child)."""
    try:
        names = os.listdir("/proc/self/fd")  # noqa: PTH208 (names, not Path objects)
    except OSError:
        try:
            names = os.listdir("/dev/fd")  # noqa: PTH208 (the BSDs and macOS)
        except OSError:
            return []
    found = []
    for name in names:
        fd = int(name) if name.isdigit() else -1
        try:
            if fd > 2 and os.get_inheritable(fd):
                found.append(fd)
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return found


def _text(data: bytes) -> str:
    """*data* decoded as `subprocess.run(text=True, errors="replace")` decodes output."""
    text = data.decode(_locale_encoding(), "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _locale_encoding() -> str:
    if sys.flags.utf8_mode:
        return "utf-8"
    try:
        from _locale import getencoding  # 3.11+, as subprocess decodes
    except ImportError:
        import locale

        return locale.getpreferredencoding(False)
    return str(getencoding())


# --- programs found by name -------------------------------------------------------------------


def _program(args: Sequence[str], env: Mapping[str, str] | None) -> str | None:
    """What *args* runs: a path as given, a bare name as `which` finds it on the ``PATH`` of
    *env* (never in the current folder, whichever way the process is started); None when it
    is not there."""
    if not args:
        return None
    first = os.fspath(args[0])
    if os.sep in first:
        return first
    return which(first, path=(os.environ if env is None else env).get("PATH", os.defpath))


def _missing(args: Sequence[str]) -> str:
    first = os.fspath(args[0]) if args else ""
    return f"[Errno 2] No such file or directory: {first!r}"


def which(name: str, *, path: str | None = None) -> str | None:
    """The executable *name* in an absolute folder of *path* (default ``PATH``), or None.

    `shutil.which` would also look in the current folder for an empty or relative ``PATH``
    entry (and imports bz2 and lzma on every check); a capture unpacked here must not be able
    to shadow ``nvcc`` or ``python3``.
    """
    if path is None:
        path = os.environ.get("PATH", os.defpath)
    for folder in path.split(os.pathsep):
        if not Path(folder).is_absolute():
            continue
        candidate = Path(folder, name)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def interpreter(python: str) -> str:
    """The absolute path of the interpreter the user named with ``--python``.

    A name with a slash (``./python``, ``venv/bin/python``) is a path, used as given; a bare
    name (``python3``) is looked up on ``PATH`` only (`which`), never in the current folder.
    The path keeps a venv's ``bin/python`` symlink (no resolve). `InputError` naming *python*
    when it is missing, a folder or not executable.
    """
    from .errors import InputError

    if os.sep in python or (os.altsep and os.altsep in python):
        path = Path(os.path.abspath(python))  # noqa: PTH100 (keep a venv's bin/python symlink)
        if not path.exists():
            raise InputError(f"{python}: --python interpreter does not exist")
    else:
        found = which(python)
        if found is None:
            raise InputError(
                f"{python}: --python interpreter not found on PATH",
                hint=f"give its path (./{python} for one in this folder)",
            )
        path = Path(os.path.abspath(found))  # noqa: PTH100
    if path.is_dir():
        raise InputError(f"{python}: --python is a directory, expected a Python executable")
    if not os.access(path, os.X_OK):
        raise InputError(f"{python}: --python is not executable")
    return str(path)


# --- environments from a capture --------------------------------------------------------------


def accepted(name: str, value: str | None) -> bool:
    """True when a capture may set *name* to *value* (None: unset it) in a host process: the
    variable is allow-listed (`envsnap._envvars.ALLOWLIST`) and the value has the shape its
    recorded values may take (`envsnap._redact.shaped`)."""
    from ._envvars import ALLOWLIST
    from ._redact import shaped

    return name in ALLOWLIST and (value is None or shaped(name, value))


def capture_env(changes: Mapping[str, str | None]) -> tuple[dict[str, str], tuple[str, ...]]:
    """(this process's environment with the *changes* a capture asked for, the names refused).

    A change (a value, or None to unset) is applied only when it is `accepted`; every other one
    is refused and named, never applied.
    """
    refused = tuple(sorted(n for n, v in changes.items() if not accepted(n, v)))
    kept = {n: v for n, v in changes.items() if n not in refused}
    return changed_env(os.environ, kept), refused


def changed_env(base: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """*base* with *changes* applied: a value sets the variable, None removes it. The caller
    vouches for *changes* (envsnap's own candidates); a capture's go through `capture_env`."""
    out = dict(base)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def run_untrusted(
    args: Sequence[str],
    *,
    changes: Mapping[str, str | None],
    timeout: float = 30.0,
) -> Completed:
    """Run *args* with the environment changes a capture asked for, as far as `capture_env`
    accepts them (the refused ones are left out; callers propose only accepted ones)."""
    env, _ = capture_env(changes)
    return run(args, timeout=timeout, env=env)


# --- git in a folder that may be a stranger's --------------------------------------------------

# Config that would run a program during status/diff/config/rev-parse, turned off from the
# command line, which outranks every config file (and reaches the gits that git starts, such as
# a submodule's status, through GIT_CONFIG_PARAMETERS).
_GIT_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "status.submoduleSummary=false",
    "log.showSignature=false",
)
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",  # never ask for a password
    "GIT_OPTIONAL_LOCKS": "0",  # `status` does not refresh (write) the index: no index hooks
    "GIT_PAGER": "cat",
    "PAGER": "cat",
}
_GIT_ENV_OFF = ("GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS")
_CONFIG_MAX = 1 << 20  # a config file larger than this is no config git hands a user
_INCLUDE_DEPTH = 10  # git's own limit


def git(args: Sequence[str], *, folder: str, timeout: float = 30.0) -> Completed:
    """``git -C FOLDER ARGS`` with nothing of the repository's run (see the module docstring).

    A repository whose config cannot be read to find its filter drivers (a FIFO, a file over
    1 MiB) is not run at all: `Completed` with returncode None and the reason.
    """
    command = _git_command(args, folder)
    if isinstance(command, str):
        return Completed(("git", *args), None, "", command)
    return run(command, timeout=timeout, env=_git_env())


def git_bytes(args: Sequence[str], *, folder: str, timeout: float = 30.0) -> bytes | None:
    """`git`, returning standard output as bytes (None when it failed or could not run)."""
    command = _git_command(args, folder)
    if isinstance(command, str):
        return None
    return run_bytes(command, timeout=timeout, env=_git_env())


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_OFF}
    env.update(_GIT_ENV)
    return env


def _git_command(args: Sequence[str], folder: str) -> list[str] | str:
    """The hardened command line, or why git must not run in *folder*."""
    try:
        drivers = _filter_drivers(folder)
    except _Unsafe as exc:
        return str(exc)
    command = ["git", "--no-pager", "-C", folder]
    for item in _GIT_CONFIG:
        command += ["-c", item]
    for name in sorted(drivers):
        for key in ("clean", "smudge", "process"):
            command += ["-c", f"filter.{name}.{key}="]
        command += ["-c", f"filter.{name}.required=false"]
    if args and args[0] in ("diff", "show", "log"):  # diff drivers: external and textconv
        return [*command, args[0], "--no-ext-diff", "--no-textconv", *args[1:]]
    return [*command, *args]


class _Unsafe(Exception):
    """A repository config envsnap cannot read safely (so git must not read it either)."""


def _git_dirs(folder: str) -> tuple[Path, Path] | None:
    """(git dir, common dir) of the repository git finds from *folder*, as git discovers it
    (``$GIT_DIR``, else the first ``.git`` folder or ``gitdir:`` file upwards); None outside
    a repository."""
    given = os.environ.get("GIT_DIR")
    if given:
        git_dir: Path | None = Path(folder, given)
    else:
        git_dir = None
        for node in (Path(folder).absolute(), *Path(folder).absolute().parents):
            dot = node / ".git"
            if dot.is_dir():
                git_dir = dot
                break
            if dot.is_file():
                line = _read_config(dot).decode("utf-8", "replace").strip()
                if line.startswith("gitdir:"):
                    git_dir = node / line.removeprefix("gitdir:").strip()
                break
            if (node / "HEAD").is_file() and (node / "objects").is_dir():
                git_dir = node  # a bare repository, or the inside of .git
                break
    if git_dir is None:
        return None
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = git_dir / _read_config(git_dir / "commondir").decode("utf-8", "replace").strip()
    return git_dir, common


def _read_config(path: Path) -> bytes:
    """The bytes of a config file git would read (symlinks followed, as git does); `_Unsafe`
    for a FIFO, device or oversized file, which git could hang on or be flooded by."""
    from ._io import read_bytes_bounded
    from .errors import InputError

    try:
        return read_bytes_bounded(os.path.realpath(path), what="git config", limit=_CONFIG_MAX)
    except InputError as exc:
        raise _Unsafe(f"the repository's git config cannot be read safely: {exc}") from None


def _filter_drivers(folder: str) -> set[str]:
    """The names of the filter drivers the repository's own config files define, following
    their includes (every ``includeIf`` taken: naming a driver too many only turns off one more
    filter). Read in Python, because git has no switch that turns every filter off."""
    dirs = _git_dirs(folder)
    if dirs is None:
        return set()
    git_dir, common = dirs
    names: set[str] = set()
    files = [common / "config", git_dir / "config.worktree", *_submodule_configs(common)]
    for path in files:
        for entry in _config_entries(path):
            if entry.section == "filter" and entry.sub is not None:
                names.add(entry.sub)
    return names


def _submodule_configs(git_dir: Path, depth: int = 0) -> list[Path]:
    """The configs of the submodules' git dirs under ``GIT_DIR/modules`` (a name may hold
    slashes; a git dir is a folder with a ``HEAD``), which their own status would read; their
    objects are never walked."""
    out: list[Path] = []
    todo = [git_dir / "modules"]
    while todo and depth < 8 and len(out) < 1000:
        folder = todo.pop()
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            continue
        for child in children:
            if (child / "HEAD").is_file():
                out += [child / "config", *_submodule_configs(child, depth + 1)]
            else:
                todo.append(child)
    return out


# What makes git's answer to `git config --get-regexp` more than its config files say: config
# from the environment or the command line, another repository or another discovery.
_GIT_CONFIG_VARS = (
    "GIT_CONFIG",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_DIR",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
)


_GIT_TRUE = ("1", "true", "yes", "on")
_GIT_FALSE = ("", "0", "false", "no", "off")


def git_remote_urls(folder: str) -> list[tuple[str, str]] | None:
    """``(remote, url)`` of each ``remote.<name>.url`` git would list for *folder*, in git's
    order, read from the config files in Python (no git process); None when only git can say.

    The files are those git reads: the system's (``/etc/gitconfig``), the user's
    (``$XDG_CONFIG_HOME/git/config``, ``~/.gitconfig``) and the repository's, with their
    ``include.path`` files. git is left to answer (None) when an ``includeIf`` condition, a
    ``config.worktree``, an escape sequence in a URL, config from the environment
    (`_GIT_CONFIG_VARS`) or a file that cannot be read safely is involved.
    """
    files = _config_files(folder)
    if files is None:
        return None
    urls: list[tuple[str, str]] = []
    try:
        for path in files:
            for entry in _config_entries(path):
                if entry.conditional or entry.section == "includeif":
                    return None
                if entry.section == "remote" and entry.sub is not None and entry.key == "url":
                    url = _config_value(entry.value)
                    if url is None:
                        return None
                    urls.append((entry.sub, url))
    except _Unsafe:
        return None
    return urls


def _config_files(folder: str) -> list[Path] | None:
    """The config files git reads in *folder*, in its order; None when it reads more."""
    if any(os.environ.get(name) for name in _GIT_CONFIG_VARS):
        return None
    try:
        dirs = _git_dirs(folder)
    except _Unsafe:
        return None
    if dirs is None or (dirs[0] / "config.worktree").exists():
        return None
    nosystem = os.environ.get("GIT_CONFIG_NOSYSTEM", "").strip().lower()
    if nosystem not in _GIT_TRUE + _GIT_FALSE:
        return None  # a value git reads its own way, or refuses
    home = Path("~").expanduser()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    system = [] if nosystem in _GIT_TRUE else [Path("/etc/gitconfig")]
    return [*system, xdg / "git" / "config", home / ".gitconfig", dirs[1] / "config"]


@record
class _Entry(Record):
    """One line of a git config file: a key (``""`` for a section header) and its raw value."""

    section: str
    sub: str | None
    key: str
    value: str
    conditional: bool  # read through an ``includeIf``


def _logical_lines(text: str) -> list[str]:
    """The lines of a git config file, a value continued with a final backslash joined to the
    next line, as git reads them; a comment is never continued."""
    out: list[str] = []
    pending = ""
    for physical in text.splitlines():
        line = pending + physical
        if line.endswith("\\") and not _in_comment(line[:-1]):
            pending = line[:-1]
            continue
        out.append(line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def _in_comment(line: str) -> bool:
    """Whether *line* ends inside a comment (``#`` or ``;`` outside double quotes)."""
    quoted = escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            return True
    return False


def _config_entries(path: Path, depth: int = 0, conditional: bool = False) -> Iterator[_Entry]:
    """The headers and keys of the config file *path*, its includes read where they stand (every
    ``includeIf`` taken, its entries marked `conditional`). Nothing for a missing file."""
    import re

    if depth > _INCLUDE_DEPTH or not path.exists():
        return
    section, sub = "", None
    text = _read_config(path).decode("utf-8", "replace")
    for raw in _logical_lines(text):
        line = raw.strip()
        header = re.match(r"\[\s*([A-Za-z0-9.-]+)(?:\s+\"((?:[^\"\\]|\\.)*)\")?\s*\]", line)
        if header:
            section = header[1].lower()
            sub = re.sub(r"\\(.)", r"\1", header[2]) if header[2] is not None else None
            if sub is None and "." in section:  # the old [section.subsection] syntax
                section, _, sub = section.partition(".")
            yield _Entry(section, sub, "", "", conditional)
            line = line[header.end() :].strip()
        key, eq, value = line.partition("=")
        key = key.strip().lower()
        if not key or key.startswith(("#", ";")):
            continue
        yield _Entry(section, sub, key, value if eq else "", conditional)
        if eq and section in ("include", "includeif") and key == "path":
            nested = _include_path(value, path)
            yield from _config_entries(nested, depth + 1, conditional or section == "includeif")


def _config_value(raw: str) -> str | None:
    """A config value as git reads it: quotes removed, each blank outside quotes and between
    words one space, a ``#``/``;`` comment cut; None for a backslash, which git may read
    otherwise (escapes) or refuse."""
    if "\\" in raw:
        return None
    chars: list[str] = []
    quoted, spaces = False, 0
    for char in raw:
        if char.isspace() and not quoted:
            spaces += 1 if chars else 0
            continue
        if char in "#;" and not quoted:
            break
        chars += " " * spaces
        spaces = 0
        if char == '"':
            quoted = not quoted
        else:
            chars.append(char)
    return "".join(chars)


def _include_path(raw: str, config: Path) -> Path:
    """The file an include's *raw* value names (quotes, escapes and a trailing comment as git
    reads them), relative to the including *config*'s folder."""
    chars: list[str] = []
    quoted, i = False, 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            chars.append({"n": "\n", "t": "\t", "b": "\b"}.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            break
        else:
            chars.append(char)
        i += 1
    value = "".join(chars).strip()
    if value.startswith("~"):
        return Path(value).expanduser()
    return config.parent / value


# --- a long job of the user's -----------------------------------------------------------------


@record
class Streamed(Record):
    """What `stream` saw: the exit status (None: could not start, or killed by the time limit),
    the last lines of output, and the wall time."""

    args: tuple[str, ...]
    returncode: int | None
    tail: tuple[str, ...]
    seconds: float
    timed_out: bool = False
    error: str = ""  # why it could not start


def stream(
    args: Sequence[str],
    *,
    log: str,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    tick: Callable[[float], None] | None = None,
    echo: Callable[[str], None] | None = None,
    keep: int = 20,
) -> Streamed:
    """Run *args* (a job that may take hours) with stdout and stderr into the file *log*.

    A bare program name is looked up in the absolute folders of *env*'s ``PATH`` (`which`),
    never in *cwd*; a name with a slash is a path, relative to *cwd*. *tick* is called with the
    elapsed seconds about twice a second (live progress); *echo*, when given, receives each
    line of output as it comes (decoded, undecodable bytes replaced). The job runs in its own
    process group: on a time-out or an interrupt the whole group is killed, so no child of the
    job outlives it. The last *keep* lines are read back from *log*.
    """
    import subprocess
    import threading
    import time

    args = list(args)
    program = args[0] if args else ""
    if program and os.sep not in program:
        search = (env if env is not None else os.environ).get("PATH", os.defpath)
        found = which(program, path=search)
        if found is None:
            return Streamed(tuple(args), None, (), 0.0, error="not found on PATH")
        program = found
    start = time.monotonic()
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(
                args,
                executable=program,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if echo else out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            return Streamed(tuple(args), None, (), 0.0, error=why)
        reader = None
        if echo is not None and proc.stdout is not None:
            reader = threading.Thread(target=_copy, args=(proc.stdout, out, echo), daemon=True)
            reader.start()
        timed_out = False
        try:
            while True:
                try:
                    proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - start
                    if timeout is not None and elapsed >= timeout:
                        timed_out = True
                        _kill_group(proc)
                        break
                    if tick is not None:
                        tick(elapsed)
        except BaseException:  # KeyboardInterrupt: nothing of the job may keep running
            _kill_group(proc)
            raise
        finally:
            if reader is not None:
                reader.join(timeout=5)
    seconds = time.monotonic() - start
    code = None if timed_out else proc.returncode
    return Streamed(tuple(args), code, _tail(log, keep), seconds, timed_out=timed_out)


def _copy(pipe: IO[bytes], out: IO[bytes], echo: Callable[[str], None]) -> None:
    for line in iter(pipe.readline, b""):
        out.write(line)
        echo(line.decode("utf-8", "replace").rstrip("\r\n"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill *proc*'s process group (started in a session of its own) and reap it."""
    import contextlib
    import signal

    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: str, keep: int) -> tuple[str, ...]:
    """The last *keep* lines of the job's log at *path* (read from its last 64 KiB)."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - 65536))
        data = fh.read()
    lines = data.decode("utf-8", "replace").splitlines()
    if size > 65536 and lines:
        lines = lines[1:]  # the first one is cut
    return tuple(lines[-keep:])


# --- pip for this interpreter -----------------------------------------------------------------


def pip(*args: str) -> list[str]:
    """``python -m pip ARGS`` for this interpreter; `BuildError` with the fix when it has no pip
    (a `uv tool install` or a ``--without-pip`` venv), rather than pip's own one-line failure."""
    import importlib.util

    from .errors import BuildError

    if importlib.util.find_spec("pip") is None:
        raise BuildError(
            f"{sys.executable} has no pip, which rebuild runs here to build wheels of local,"
            " VCS and sdist packages and to download locked files",
            hint=f"install pip next to envsnap: {sys.executable} -m ensurepip",
        )
    return [sys.executable, "-m", "pip", *args]
