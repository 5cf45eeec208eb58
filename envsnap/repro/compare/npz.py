"""The members of an .npz archive (a zip of .npy files), unpacked into a private folder.

The archive is the job's output: member names are not used as paths (each is written as a
numbered file), a member may unpack to at most 64 times its compressed size (no zip bomb fills
the disk), and anything that is not a readable zip raises `Unreadable`.
"""

from __future__ import annotations

import contextlib
import shutil
import zipfile
from pathlib import Path

from .tensors import Unreadable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["members"]

MAX_MEMBERS = 100_000
RATIO = 64
_SLACK = 1 << 20


@contextlib.contextmanager
def members(path: Path, folder: Path) -> Iterator[dict[str, Path]]:
    """``{array name: unpacked .npy file}`` of the archive at *path*, in archive order; the
    files live in *folder* until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield _unpack(path, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unpack(path: Path, folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise Unreadable(f"more than {MAX_MEMBERS} members")
            for i, info in enumerate(infos):
                if info.is_dir():
                    continue
                if info.file_size > info.compress_size * RATIO + _SLACK:
                    raise Unreadable(f"member {info.filename[:80]!r} unpacks {RATIO}x larger")
                name = info.filename.removesuffix(".npy")
                target = folder / f"{i}.npy"
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                out.setdefault(name, target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise Unreadable(f"not a readable .npz ({type(exc).__name__}: {exc})"[:200]) from None
    except OSError as exc:  # a CRC mismatch, a truncated member
        raise Unreadable(f"not a readable .npz ({exc})"[:200]) from None
    return out
