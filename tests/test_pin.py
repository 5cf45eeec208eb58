"""One rule says whether a lock pins a package (`envsnap.model.Package.pin`), with a reason code,
and every part of envsnap that asks the question gets its answer from it: the lock (PEP 751
table or ``[tool.envsnap].unhashed``), requirements.txt, the index look-up, the rebuild plan and
the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.formats import pylock, requirements
from envsnap.index import lookup
from envsnap.index.pipconfig import PipConfig
from envsnap.model import PIN_REASONS, ArtifactFile, Package, Pin, replace
from envsnap.publish import facts
from envsnap.render.plan import plan_layers
from tests.fakes import samples

SHA = "ab" * 32
COMMIT = "0123456789abcdef0123456789abcdef01234567"
WHEEL = ArtifactFile(name="p-1.0-py3-none-any.whl", url="https://files.test/p-1.0.whl", sha256=SHA)
BARE_WHEEL = ArtifactFile(name="p-1.0-py3-none-any.whl", url="https://files.test/p-1.0.whl")
ARCHIVE = "https://files.test/p-1.0.tar.gz"
REPO = "https://git.test/p.git"
FOLDER = "file:///srv/src/p"

# (case, package fields, pinned, reason): every source kind, with and without each part it needs.
CASES = [
    ("index, hashed files", {"source": "index", "files": (WHEEL,)}, True, "file-hash"),
    ("index, files without hash", {"source": "index", "files": (BARE_WHEEL,)}, False, "no-hash"),
    ("index, no files", {"source": "index"}, False, "no-hash"),
    ("url with archive hash", {"source": "url", "url": ARCHIVE, "archive_sha256": SHA}, True,
     "archive-hash"),
    ("url without archive hash", {"source": "url", "url": ARCHIVE}, False, "no-archive-hash"),
    ("url, empty archive hash", {"source": "url", "url": ARCHIVE, "archive_sha256": ""}, False,
     "no-archive-hash"),
    ("url, hash but no url", {"source": "url", "archive_sha256": SHA}, False, "no-url"),
    ("vcs with commit", {"source": "vcs", "url": REPO, "vcs": "git", "commit_id": COMMIT}, True,
     "commit"),
    ("vcs without commit", {"source": "vcs", "url": REPO, "vcs": "git"}, False, "no-commit"),
    ("vcs without url", {"source": "vcs", "vcs": "git", "commit_id": COMMIT}, False, "no-url"),
    ("vcs without vcs type", {"source": "vcs", "url": REPO, "commit_id": COMMIT}, False, "no-vcs"),
    ("directory with url", {"source": "directory", "url": FOLDER}, True, "path"),
    ("directory without url", {"source": "directory"}, False, "no-url"),
    ("editable with url", {"source": "editable", "url": FOLDER}, True, "path"),
    ("editable without url", {"source": "editable"}, False, "no-url"),
    ("conda", {"source": "conda"}, False, "conda"),
    ("unknown", {"source": "unknown"}, False, "unknown"),
]  # fmt: skip


def package(n: int, fields: dict[str, object]) -> Package:
    pkg = Package(name=f"p{n}", version="1.0", **fields)  # type: ignore[arg-type]
    # a wheel's file name names its package, or PEP 751 refuses the lock
    return replace(
        pkg, files=tuple(replace(f, name=f"p{n}-1.0-py3-none-any.whl") for f in pkg.files)
    )


PACKAGES = [package(n, fields) for n, (_, fields, _, _) in enumerate(CASES)]
PINNED = {p.name for p, case in zip(PACKAGES, CASES) if case[2]}


@pytest.mark.parametrize(("case", "fields", "pinned", "reason"), CASES, ids=[c[0] for c in CASES])
def test_the_pin_rule_over_every_source_kind(
    case: str, fields: dict[str, object], pinned: bool, reason: str
) -> None:
    pin = package(0, fields).pin
    assert pin == Pin(pinned=pinned, reason=reason)
    assert reason in PIN_REASONS
    assert pin.by_content == (reason in ("file-hash", "archive-hash", "commit"))


def test_every_reason_has_a_case_and_words() -> None:
    assert {c[3] for c in CASES} == set(PIN_REASONS)
    assert all(words.strip() for words in PIN_REASONS.values())


def environment() -> object:
    return replace(samples.cpu_env(), packages=tuple(PACKAGES), unhashed=())


def test_the_lock_keeps_pinned_packages_as_pep751_and_the_rest_in_its_tool_table(
    tmp_path: Path,
) -> None:
    env = environment()
    path = pylock.write(tmp_path / "pylock.toml", env)  # type: ignore[arg-type]
    back = pylock.load(path)
    assert set(back.unhashed) == {p.name for p in PACKAGES} - PINNED
    assert {p.name for p in back.packages} == {p.name for p in PACKAGES}


def test_requirements_hash_only_files_and_archives() -> None:
    text = requirements.render(environment())  # type: ignore[arg-type]
    hashed = {line.split("==")[0].split(" @ ")[0] for line in text.splitlines() if line[:1] == "p"}
    by_hash = {p.name for p in PACKAGES if p.pin.reason in ("file-hash", "archive-hash")}
    assert hashed == by_hash == {"p0", "p3"}


def test_the_index_look_up_lists_what_is_not_pinned(tmp_path: Path) -> None:
    locked = lookup.lock_hashes(
        PACKAGES,
        offline=True,
        progress=lambda _msg: None,
        config=PipConfig(no_index=True),
        cache_dir=tmp_path / "cache",
    )
    assert set(locked.unhashed) == {p.name for p in PACKAGES} - PINNED


def test_the_rebuild_plan_installs_what_is_pinned_and_skips_the_rest() -> None:
    layout = plan_layers(environment())  # type: ignore[arg-type]
    assert {i.name for i in layout.installs} == PINNED
    assert {s.split("==")[0] for s in layout.skipped} == {p.name for p in PACKAGES} - PINNED


def test_the_report_counts_hashes_and_commits_and_says_what_is_missing(tmp_path: Path) -> None:
    capture = tmp_path / "cap"
    pylock.write(capture / "pylock.toml", environment())  # type: ignore[arg-type]
    env = facts.gather(capture)["environment"]
    by_content = {p.name for p in PACKAGES if p.pin.by_content}
    assert (env["packages"], env["hashed"]) == (len(PACKAGES), len(by_content))
    assert env["not_pinned"] == sorted(
        [
            "p1 (no hash found)",
            "p2 (no hash found)",
            "p4 (no archive hash)",
            "p5 (no archive hash)",
            "p6 (no URL)",
            "p8 (no commit)",
            "p9 (no URL)",
            "p10 (no VCS type)",
            "p11 (directory)",
            "p12 (no URL)",
            "p13 (editable)",
            "p14 (no URL)",
            "p15 (conda)",
            "p16 (unknown)",
        ]
    )
