"""Rules on installed distributions: missing, another version, another build, extra."""

from __future__ import annotations

from envsnap._text import some
from envsnap.findings import Finding
from envsnap.model import Environment, Package, Snapshot

from ._common import norm, sh
from ._remedy import install
from .os import wheel_platforms

__all__ = ["RULES", "conda_packages", "pip_packages"]

_INSTALL = "pip install -r {lock} (or envsnap rebuild --venv PATH)"


def _index(env: Environment) -> dict[str, tuple[str, tuple[str, ...], Package]]:
    return {norm(p.name): (p.version, wheel_platforms(p), p) for p in env.packages}


def pip_packages(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A recorded package missing or at another version is an error; another wheel build of the
    same version is a warning (other compiled code); a package not in the capture is info.
    The remedy installs from the recorded source (`_remedy.install`), never a bare name for a
    package that did not come from an index."""
    rec, cur = _index(recorded.environment), _index(current.environment)
    found: list[Finding] = []
    for name, (version, plats, pkg) in sorted(rec.items()):
        remedy = install(pkg)
        if name not in cur:
            found.append(
                Finding(
                    "error",
                    "packages",
                    "package.missing",
                    f"{name} is not installed",
                    version,
                    "missing",
                    remedy,
                )
            )
            continue
        cur_version, cur_plats, _ = cur[name]
        if cur_version != version:
            found.append(
                Finding(
                    "error",
                    "packages",
                    "package.version",
                    f"{name} is at another version",
                    version,
                    cur_version,
                    remedy,
                )
            )
        elif plats and cur_plats and plats != cur_plats:
            found.append(
                Finding(
                    "warning",
                    "packages",
                    "package.build",
                    f"{name} {version} is another wheel build",
                    " ".join(plats),
                    " ".join(cur_plats),
                    install(pkg, force=True),
                )
            )
    extra = sorted(set(cur) - set(rec))
    if extra:
        shown = some([f"{n} {cur[n][0]}" for n in extra])
        found.append(
            Finding(
                "info",
                "packages",
                "package.extra",
                f"{len(extra)} package(s) not in the capture: {shown}",
                "",
                " ".join(extra),
                "pip uninstall the packages the job must not see",
            )
        )
    return found


def conda_packages(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Conda packages: name and version must match (error), the build should (warning)."""
    rec_env = recorded.environment.conda
    if rec_env is None:
        return []
    cur_env = current.environment.conda
    cur = {p.name: p for p in cur_env.packages} if cur_env else {}
    found: list[Finding] = []
    for pkg in sorted(rec_env.packages, key=lambda p: p.name):
        spec = f"{pkg.name}={pkg.version}={pkg.build}"
        remedy = f"conda install {sh(spec)} (or conda-lock install conda-lock.yml)"
        have = cur.get(pkg.name)
        if have is None:
            found.append(
                Finding(
                    "error",
                    "packages",
                    "conda.missing",
                    f"conda package {pkg.name} is not installed",
                    spec,
                    "missing",
                    remedy,
                )
            )
        elif have.version != pkg.version:
            found.append(
                Finding(
                    "error",
                    "packages",
                    "conda.version",
                    f"conda package {pkg.name} is at another version",
                    pkg.version,
                    have.version,
                    remedy,
                )
            )
        elif have.build != pkg.build:
            found.append(
                Finding(
                    "warning",
                    "packages",
                    "conda.build",
                    f"conda package {pkg.name} {pkg.version} is another build",
                    pkg.build,
                    have.build,
                    remedy,
                )
            )
    return found


RULES = (pip_packages, conda_packages)
