"""The target interpreter: where its distributions live and which wheels it installs.

``probe(None)`` describes the running interpreter in-process; ``probe(PATH)`` runs PATH with the
stdlib-only script in `_target_script` (pipx style: the target may lack `packaging`) and turns
the JSON it prints into a `Target` with the pure `from_facts`. Both answers are cached
(`_probecache`): a repeated check or capture neither collects nor starts anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from .._record import Record, record
from ..errors import InputError
from ..model import PythonInfo

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Target", "from_facts", "platform_tags", "probe", "python_info"]

TIMEOUT_S = 30.0

# glibc minor floors for manylinux tags (PEP 600; packaging._manylinux): x86 goes back to 2.5.
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@record
class Target(Record):
    """The interpreter whose environment is captured."""

    executable: str
    prefix: str
    base_prefix: str
    site_dirs: tuple[str, ...]
    is_conda: bool
    python: PythonInfo


def probe(python: str | None = None, *, timeout: float = TIMEOUT_S) -> Target:
    """Describe *python* (a path or command name), or the running interpreter when None.

    Raises `InputError` naming *python* when it is missing, not executable, not a Python, or
    does not answer within *timeout* seconds.
    """
    from ._probecache import cached

    if python is None:
        import sys

        facts = cached(sys.executable, _collect, running=True)
        if not valid_facts(facts):  # a damaged cache entry: collect again
            facts = _collect()
        return from_facts(facts)
    from .._subprocess import interpreter

    path = interpreter(python)
    facts = cached(path, lambda: _run_script(path, timeout))
    if not valid_facts(facts):  # a damaged cache entry: ask the interpreter again
        facts = _run_script(path, timeout)
    return from_facts(facts)


def _collect() -> dict[str, Any]:
    """The running interpreter's facts, collected in-process."""
    from . import _target_script

    return _target_script.collect()


def _run_script(python: str, timeout: float) -> dict[str, Any]:
    from .. import _subprocess
    from . import _target_script

    source = Path(_target_script.__file__).read_text(encoding="utf-8")
    done = _subprocess.run([python, "-c", source], timeout=timeout)
    if done.returncode is None:
        timed_out = "timed out" in done.stderr
        started = (done.stderr.strip().splitlines() or ["did not start"])[0]
        why = f"no answer within {timeout:g} s" if timed_out else started
        raise InputError(f"{python}: --python could not be run ({why})")
    if not done.ok:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        if last.startswith("SyntaxError"):  # our script needs `from __future__ import annotations`
            raise InputError(
                f"{python}: --python is older than Python 3.7, which envsnap cannot read"
            )
        raise InputError(f"{python}: --python is not a working Python ({last})")
    import json  # only when the interpreter was asked: a cached answer needs none

    try:
        facts = json.loads(done.stdout)
    except ValueError:
        facts = None
    if (
        not valid_facts(facts)
        or not isinstance(facts.get("site_dirs"), list)
        or not isinstance(facts.get("prefix"), str)
        or not isinstance(facts.get("executable"), str)
    ):
        raise InputError(f"{python}: --python is not a Python interpreter (unexpected output)")
    return dict(facts)


_STR_FACTS = (
    "executable", "prefix", "base_prefix", "implementation", "version", "compiler", "soabi",
    "ext_suffix", "platform", "system", "machine", "glibc", "musl", "mac_ver",
)  # fmt: skip


def valid_facts(facts: Any) -> bool:
    """True when *facts* has the types `_target_script.collect()` gives (missing keys allowed).

    The answer of another interpreter (or a cache entry) is data: a wrong type is refused here
    rather than met as a TypeError, or worse as a wrong but plausible fact, further on.
    """
    if not isinstance(facts, dict):
        return False
    for key in _STR_FACTS:
        if key in facts and not isinstance(facts[key], str):
            return False
    lists = [facts.get("site_dirs", []), facts.get("build", [])]
    if not all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in lists):
        return False
    return all(isinstance(facts.get(k, True), bool) for k in ("gil_disabled", "is_64bit"))


def from_facts(facts: Mapping[str, Any]) -> Target:
    """Build a `Target` from the dict that `_target_script.collect()` returns."""
    prefix = str(facts["prefix"])
    return Target(
        executable=str(facts["executable"]),
        prefix=prefix,
        base_prefix=str(facts.get("base_prefix", prefix)),
        site_dirs=tuple(str(p) for p in facts["site_dirs"]),
        is_conda=Path(prefix, "conda-meta").is_dir(),
        python=python_info(facts),
    )


def python_info(facts: Mapping[str, Any]) -> PythonInfo:
    """Pure: the `PythonInfo` of an interpreter from its collected facts."""
    build = facts.get("build") or []
    glibc = str(facts.get("glibc") or "").rpartition(" ")
    return PythonInfo(
        implementation=str(facts.get("implementation", "")),
        version=str(facts.get("version", "")),
        build=" ".join(" ".join(str(b) for b in build).split()),
        compiler=str(facts.get("compiler", "")),
        abi=_abi_tag(str(facts.get("soabi", "")), str(facts.get("ext_suffix", ""))),
        soabi=str(facts.get("soabi", "")),
        gil_disabled=bool(facts.get("gil_disabled", False)),
        platform_tags=tuple(
            platform_tags(
                str(facts.get("platform", "")),
                glibc=_version_pair(glibc[2]) if glibc[0] == "glibc" else None,
                musl=_version_pair(str(facts.get("musl") or "")),
                is_64bit=bool(facts.get("is_64bit", True)),
                mac_ver=str(facts.get("mac_ver") or ""),
                machine=str(facts.get("machine", "")),
            )
        ),
    )


def _version_pair(text: str) -> tuple[int, int] | None:
    parts = text.split(".")
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return int(parts[0]), int(parts[1])


def _abi_tag(soabi: str, ext_suffix: str) -> str:
    """The wheel ABI tag (cp311, cp313t, pypy310_pp73), as packaging.tags derives it."""
    if not soabi and ext_suffix.count(".") >= 2:
        soabi = ext_suffix.split(".")[1]
    if soabi.startswith("cpython"):
        abi = "cp" + soabi.split("-")[1]
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    else:
        abi = soabi
    return _normalize(abi)


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def platform_tags(
    platform: str,
    *,
    glibc: tuple[int, int] | None = None,
    musl: tuple[int, int] | None = None,
    is_64bit: bool = True,
    mac_ver: str = "",
    machine: str = "",
) -> list[str]:
    """Pure: the ordered platform tags an interpreter installs, given its facts.

    Mirrors `packaging.tags.platform_tags()` (same order) but for any interpreter's facts, not
    only the running one; macOS delegates to `packaging.tags.mac_platforms`.
    """
    if platform.startswith("macosx-") and mac_ver:
        from packaging.tags import mac_platforms

        major_minor = _version_pair(mac_ver + ".0")
        return list(mac_platforms(major_minor, machine or None))
    linux = _normalize(platform)
    if not linux.startswith("linux_"):
        return [linux] if linux else []
    if not is_64bit:
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    tags = [f"linux_{a}" for a in archs]
    if glibc is not None:
        tags.extend(_manylinux(archs, glibc))
    if musl is not None:
        tags.extend(f"musllinux_{musl[0]}_{m}_{a}" for a in archs for m in range(musl[1], -1, -1))
    return tags


def _manylinux(archs: list[str], glibc: tuple[int, int]) -> Iterator[str]:
    oldest = 5 if set(archs) & {"x86_64", "i686"} else 17
    for arch in archs:
        for minor in range(glibc[1], oldest - 1, -1):
            yield f"manylinux_{glibc[0]}_{minor}_{arch}"
            legacy = _LEGACY_MANYLINUX.get((glibc[0], minor))
            if legacy:
                yield f"{legacy}_{arch}"
