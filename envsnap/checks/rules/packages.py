"""Rules on installed distributions: missing, another version, another build, extra (conda's
packages: `envsnap.checks.rules.conda`)."""

from __future__ import annotations

from envsnap._text import some
from envsnap.findings import Finding
from envsnap.model import Environment, Package, Snapshot

from ._common import norm
from ._remedy import install
from .os import wheel_platforms

__all__ = ["RULES", "pip_packages"]

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


RULES = (pip_packages,)
