"""What both rebuild flows read and check first: the capture, the last build's image.toml, the
project the capture recorded, the lock's installability (and the label of what an image leaves
out) and a --ca-cert.

Everything is read through the in door (`envsnap.formats.capture`, `envsnap.formats.image`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import InputError

TYPE_CHECKING = False  # keeps `typing` off the import; mypy and ruff read this name
if TYPE_CHECKING:
    from ..formats.image import ImageRecord
    from ..model import Environment

__all__ = [
    "IMAGE_RECORD",
    "MISSING_LABEL",
    "check_cert",
    "load_capture",
    "load_record",
    "project_origin",
    "require_installable",
]

IMAGE_RECORD = "image.toml"
# The image label that lists what --allow-missing left out, so the image says it is incomplete.
MISSING_LABEL = "io.envsnap.missing"


def require_installable(
    skipped: tuple[str, ...], total: int, lock: Path, *, allow_missing: bool
) -> None:
    """Refuse, in one line that says how to fix it, a lock with packages no install can
    reproduce (unhashed index packages of an offline capture, URLs without a hash...), unless
    *allow_missing*."""
    if not skipped or allow_missing:
        return
    from .._text import some

    noun = "package" if total == 1 else "packages"
    raise InputError(
        f"{lock}: {len(skipped)} of {total} {noun} cannot be installed from the lock "
        f"({some(list(skipped))}): capture online so that they are pinned by hash, or rebuild "
        "with --allow-missing to leave them out"
    )


def load_capture(directory: Path) -> Environment:
    """Read DIR/pylock.toml (and DIR/conda-lock.yml when present) into an `Environment`,
    through the in door."""
    from ..formats.capture import load

    return load(directory, parts=("conda",)).environment


def load_record(directory: Path) -> ImageRecord | None:
    """The last build's DIR/image.toml, or None when there is none; a bad file is an
    `InputError` naming it."""
    path = directory / IMAGE_RECORD
    if not path.exists() and not path.is_symlink():
        return None
    from ..formats import image

    return image.load(path)


def check_cert(cert: Path) -> None:
    """Refuse a --ca-cert that is missing or holds no PEM certificate (pip would fail later)."""
    import ssl

    if not cert.is_file():
        raise InputError(f"{cert}: --ca-cert file not found")
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(cert))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise InputError(f"{cert}: --ca-cert is not a PEM CA certificate ({exc})") from None


def _web_url(remote: str) -> str | None:
    """An https URL for a git remote, without credentials; None when it cannot be one."""
    from .._redact import locate

    where = locate(remote)
    if where is None or where.scheme not in ("", "https", "http", "ssh", "git") or not where.host:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+", where.host):
        return None  # no URL for a host that is no host name
    host = f"[{where.host}]" if ":" in where.host else where.host
    port = f":{where.port}" if where.port.isdigit() else ""
    return f"https://{host}{port}/{where.path.lstrip('/')}"


def project_origin(capture_dir: Path) -> tuple[str | None, str | None]:
    """(source URL, commit) of the code as the capture recorded it in its project.toml (read
    through the in door), or Nones: the image's labels say what was captured, whatever folder
    rebuild runs in."""
    path = capture_dir / "project.toml"
    if not os.path.lexists(path):  # a link is refused when read, not skipped
        return None, None
    from ..formats.capture import read
    from ..formats.project import ProjectState

    state: ProjectState = read(path, "project.toml")
    if state.status != "ok":
        return None, None
    source = _web_url(state.remote) if state.remote else None
    revision = state.commit if re.fullmatch(r"[0-9a-f]{40,64}", state.commit) else None
    return source, revision
