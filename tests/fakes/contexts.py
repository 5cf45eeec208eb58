"""Build contexts rendered from hand-made environments, for the rebuild tests."""

from __future__ import annotations

from pathlib import Path

from envsnap import model
from envsnap.model import ArtifactFile, Environment, Package
from envsnap.rebuild.context import prepare_dir, write_context
from envsnap.rebuild.trust import trusted_folders
from envsnap.render import make_plan
from tests.fakes import samples
from tests.fakes.projects import sha256

__all__ = ["env_with", "local_index_pkg", "write"]


def env_with(*pkgs: Package) -> Environment:
    """The sample CPU environment holding exactly *pkgs* and no determinism variables."""
    return model.replace(samples.cpu_env(), packages=pkgs, envvars=())


def local_index_pkg(wheel: Path, digest: str | None = None) -> Package:
    """An index package whose one file is *wheel* on this machine (sha256 *digest* or its own)."""
    name, version = wheel.name.split("-")[:2]
    return Package(
        name=name,
        version=version,
        source="index",
        index="file:///opt/pypi/simple",
        files=(ArtifactFile(name=wheel.name, path=str(wheel), sha256=digest or sha256(wheel)),),
    )


def write(env: Environment, out: Path, said: list[str] | None = None, **options: object) -> str:
    """Render *env* into *out* (the capture folder too), every local folder named."""
    plan = make_plan(env, lock_digest=samples.LOCK_DIGEST, **options)  # type: ignore[arg-type]
    prepare_dir(out)
    say = said.append if said is not None else (lambda _m: None)
    named = [i.name for i in plan.installs if i.how == "source"]
    folders = trusted_folders(plan.installs, env, out, named, venv=False, say=say)
    return write_context(
        env, plan, out, out, ca_cert=None, progress=say, folders=folders
    ).dockerfile
