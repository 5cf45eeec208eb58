"""How to install a recorded package again, from where the capture says it came from.

A bare ``pip install NAME==VERSION`` asks the default index for that name, which for a package
installed from a folder, a git repository or a private index may be someone else's project.
The remedy names the recorded source instead: the folder (editable or not), the VCS URL at its
commit, the direct URL with its hash, or the index when it was not the default one. Requirement
specs are written without spaces (PEP 508 ``name@url``), and every recorded value is quoted for
the shell (`_common.sh`): a remedy is pasted into a terminal.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from envsnap.model import Package

from ._common import sh

__all__ = ["DEFAULT_INDEX", "install", "local_folder"]

DEFAULT_INDEX = "https://pypi.org/simple"
_REBUILD = "rebuild from the capture (envsnap rebuild --venv PATH)"


def local_folder(url: str | None) -> str | None:
    """The path of a ``file://`` URL (or a bare path), else None."""
    if not url:
        return None
    if url.startswith("file:"):
        return unquote(urlsplit(url).path) or None
    return url if url.startswith("/") else None


def _index_option(index: str | None) -> str:
    """``--index-url URL`` (``--find-links PATH`` for a local folder) unless the default."""
    if not index or index.rstrip("/") == DEFAULT_INDEX:
        return ""
    folder = local_folder(index)
    if folder is not None and not index.rstrip("/").endswith("/simple"):
        return f"--find-links {sh(folder)} "
    return f"--index-url {sh(index)} "


def _vcs_spec(pkg: Package) -> str:
    url = pkg.url or ""
    prefix = f"{pkg.vcs}+" if pkg.vcs and not url.startswith(f"{pkg.vcs}+") else ""
    at = f"@{pkg.commit_id}" if pkg.commit_id else ""
    sub = f"#subdirectory={pkg.subdirectory}" if pkg.subdirectory else ""
    return f"{pkg.name}@{prefix}{url}{at}{sub}"


def _url_spec(pkg: Package) -> str:
    url = pkg.url or ""
    if pkg.archive_sha256 and "#" not in url:
        url += f"#sha256={pkg.archive_sha256}"  # pip checks a hash fragment on a direct URL
    return f"{pkg.name}@{url}"


def _folder(pkg: Package, flags: str) -> str:
    """Install from the recorded folder, or say it is not on this machine.

    The one look at the file system among the rules: a remedy that names a folder that is not
    here would fail, and the honest answer then is to bring the folder or rebuild.
    """
    folder = local_folder(pkg.url)
    editable = "-e " if pkg.source == "editable" else ""
    if folder is None or not Path(folder).is_dir():
        where = folder or pkg.url or "its folder"
        return f"the folder {where} is not on this machine: copy it, or {_REBUILD}"
    sub = str(Path(folder, pkg.subdirectory)) if pkg.subdirectory else folder
    return f"pip install {flags}{editable}{sh(sub)}"


def install(pkg: Package, *, force: bool = False) -> str:
    """The command that installs *pkg* at its recorded version from its recorded source."""
    flags = "--force-reinstall " if force else ""
    if pkg.source in ("editable", "directory"):
        return _folder(pkg, flags)
    if pkg.source == "vcs" and pkg.url:
        return f"pip install {flags}{sh(_vcs_spec(pkg))}"
    if pkg.source == "url" and pkg.url:
        return f"pip install {flags}{sh(_url_spec(pkg))}"
    if pkg.source == "index":
        return f"pip install {flags}{_index_option(pkg.index)}{sh(f'{pkg.name}=={pkg.version}')}"
    return (
        f"reinstall {pkg.name} {pkg.version} from where it came from (the capture does not "
        f"record a source), or {_REBUILD}"
    )
