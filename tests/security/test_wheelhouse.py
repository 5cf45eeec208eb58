"""Issue #9, attack 13: --wheelhouse ships only files whose bytes match the lock, every time."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from envsnap._io import file_sha256
from tests.conftest import run_envsnap
from tests.fakes.sitepackages import write_dist_info
from tests.security.conftest import no_traceback, offline_env

BLOB = 3 << 20  # larger than any "hash it once, remember it" threshold


def _big_wheel(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bigpkg-1.0-py3-none-any.whl"
    info = "bigpkg-1.0.dist-info"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("bigpkg/blob.bin", os.urandom(BLOB))
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: bigpkg\nVersion: 1.0\n")
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    return path


def test_a_wheel_changed_in_place_with_its_mtime_restored_is_refused(
    tmp_path: Path, venv: tuple[Path, Path]
) -> None:
    python, site = venv
    write_dist_info(site, "bigpkg", "1.0")
    wheel = _big_wheel(tmp_path / "links")
    env = offline_env(tmp_path, PIP_FIND_LINKS=str(tmp_path / "links"), PIP_NO_INDEX="1")
    env["PIP_CONFIG_FILE"] = str(tmp_path / "none.conf")
    cap = tmp_path / "cap"
    done = run_envsnap("capture", "-q", "--python", str(python), "-o", str(cap), env=env)
    assert done.returncode == 0, done.stderr
    assert wheel.as_uri() in (cap / "pylock.toml").read_text()
    args = ("rebuild", str(cap), "--no-build", "--wheelhouse", "--context")
    first = run_envsnap(*args, str(tmp_path / "ctx1"), env=env)
    assert first.returncode == 0, first.stderr
    locked = file_sha256(wheel)
    # rewrite the wheel in place: same inode, same size, the old mtime put back
    st = wheel.stat()
    with wheel.open("r+b") as fh:
        fh.seek(200)
        fh.write(os.urandom(4096))
    os.utime(wheel, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (wheel.stat().st_ino, wheel.stat().st_size) == (st.st_ino, st.st_size)
    # Without envsnap's store of verified files, the changed host file is hashed and refused.
    fresh = {**env, "ENVSNAP_CACHE_DIR": str(tmp_path / "fresh-cache")}
    second = run_envsnap(*args, str(tmp_path / "ctx2"), env=fresh)
    no_traceback(second)
    assert "sha256 mismatch" in second.stderr and "bigpkg" in second.stderr
    assert not list((tmp_path / "ctx2").rglob("bigpkg-1.0-py3-none-any.whl"))
    # With it, the context gets the bytes verified on the first render, never the changed ones.
    third = run_envsnap(*args, str(tmp_path / "ctx3"), env=env)
    assert third.returncode == 0, third.stderr
    (shipped,) = (tmp_path / "ctx3").rglob("bigpkg-1.0-py3-none-any.whl")
    assert file_sha256(shipped) == locked != file_sha256(wheel)
    assert shipped.stat().st_ino != wheel.stat().st_ino
