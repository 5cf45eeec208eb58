"""`envsnap report`: facts and Markdown from real capture folders (written by envsnap's own
writers from the sample snapshots, or captured through the NVML stand-in), a golden report,
the update in place, hostile strings."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats.capture import write
from envsnap.formats.project import ProjectState
from envsnap.model import Package, Snapshot, replace
from envsnap.publish import facts, markdown, write_report
from tests.fakes import samples, snapshots
from tests.fakes.publish import (
    CLEAN,
    GIB,
    NUMERICS,
    PUSHED,
    boxes,
    cpu_snapshot,
    gpu_snapshot,
    make_capture,
    write_repro,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def test_hardware_needed_reads_as_a_reader_wants_it() -> None:
    hw = facts.hardware_needed(gpu_snapshot().hardware)
    assert hw["summary"] == (
        "2 \u00d7 NVIDIA A100-SXM4-80GB (compute capability 8.0), NVIDIA driver \u2265 535 "
        "(CUDA 12.2), \u2265 64 GiB RAM, x86-64-v4 CPU"
    )
    cpu = facts.hardware_needed(cpu_snapshot().hardware)
    assert cpu["summary"] == "no GPU, \u2265 16 GiB RAM, x86-64-v3 CPU"
    assert facts.hardware_needed(None) == {
        "captured": False,
        "summary": "not captured (no hardware.toml)",
    }


@pytest.mark.parametrize(
    ("gib", "size"),
    [
        (0.9, 1),
        (7.7, 8),
        (15.5, 16),
        (23.4, 24),
        (31.2, 32),
        (62.8, 64),
        (94, 96),
        (125.7, 128),
        (251.5, 256),
        (1007.5, 1024),
        (1510, 1536),
        (40, 32),
    ],
)
def test_ram_rounds_to_the_size_one_buys(gib: float, size: int) -> None:
    assert facts.ram_size(int(gib * GIB)) == size


def test_mixed_gpus_are_listed_by_model() -> None:
    gpus = replace(
        snapshots.gpus(2),
        devices=(snapshots.gpu(0), snapshots.gpu(1, name="NVIDIA H100 80GB HBM3", cc="9.0")),
    )
    hw = snapshots.hardware(gpus=gpus)
    summary = facts.hardware_needed(hw)["summary"]
    assert summary.startswith(
        "1 \u00d7 NVIDIA A100-SXM4-80GB (compute capability 8.0), "
        "1 \u00d7 NVIDIA H100 80GB HBM3 (compute capability 9.0), NVIDIA driver \u2265 535"
    )


def test_golden_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU capture with a clean repository, a pushed image and numerics: every box the
    capture can tick is ticked; the image's is not, as nothing fetched it (no --verify)."""
    make_capture(
        tmp_path, gpu_snapshot(), project=CLEAN, pushed=True, numerics=NUMERICS, repro=True
    )
    monkeypatch.chdir(tmp_path)
    result = write_report("cap", "REPRODUCIBILITY.md")
    text = (tmp_path / "REPRODUCIBILITY.md").read_text(encoding="utf-8")
    assert result.created and text == result.markdown
    path = GOLDEN / "report-gpu.md"
    if os.environ.get("ENVSNAP_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {path.name} (ENVSNAP_UPDATE_GOLDEN=1): nothing compared")
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} differs; if intended, regenerate with ENVSNAP_UPDATE_GOLDEN=1"
    )


def test_a_remote_folder_on_this_machine_is_not_a_repository_others_can_clone(
    tmp_path: Path,
) -> None:
    for remote in ("/work/main", "file:///srv/git/project.git", "../project"):
        cap = make_capture(
            tmp_path / remote.replace("/", "_"),
            cpu_snapshot(),
            project=replace(CLEAN, remote=remote),
        )
        text = write_report(cap, None).markdown
        assert boxes(text)["the repository others can clone"] is False, remote
        assert "is a folder on this machine" in text
    ssh = make_capture(
        tmp_path / "ssh",
        cpu_snapshot(),
        project=replace(CLEAN, remote="git@example.org:team/project.git"),
    )
    assert boxes(write_report(ssh, None).markdown)["the repository others can clone"] is True


def test_a_box_is_ticked_only_when_true(tmp_path: Path) -> None:
    dirty = replace(CLEAN, remote="", dirty=True, changed_files=3, diff_sha256="e" * 64)
    snap = replace(
        cpu_snapshot(),
        environment=replace(
            samples.cpu_env(),
            packages=(*samples.cpu_env().packages, Package("torch", "2.8.0", source="index")),
        ),
    )
    cap = make_capture(tmp_path, snap, project=dirty)
    text = write_report(cap, None).markdown
    got = boxes(text)
    assert got["the code is in version control"] is True
    assert got["the repository others can clone"] is False
    assert got["the commit is the exact code that ran"] is False
    assert got["software package documentation"] is False  # torch is not pinned by hash
    assert got["example environment"] is False  # nothing pushed
    assert got["the hardware needed to run the project properly"] is True
    assert "the working tree had 3 changed or untracked file(s)" in text
    assert f"`sha256:{'e' * 64}`" in text
    assert "4 of 5 pinned by hash (not pinned: torch (no hash found))" in text
    assert "envsnap rebuild cap --push REGISTRY/NAME:TAG" in text.replace(str(tmp_path) + "/", "")
    assert "Numerics: not measured" in text
    # The template's own checklists stay for the author, unticked.
    assert got["configuration files"] is False and got["trained models"] is False


def test_a_capture_without_hardware_git_or_image(tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    write(Snapshot(environment=samples.cpu_env()), cap)  # no hardware.toml, no project.toml
    data = facts.gather(cap)
    assert data["code"] is None and data["environment"]["image"] is None
    assert data["environment"]["hardware"]["captured"] is False
    got = boxes(write_report(cap, None).markdown)
    assert got["the hardware needed to run the project properly"] is False
    assert got["the code's repository and commit"] is False


def test_not_a_git_repository(tmp_path: Path) -> None:
    cap = make_capture(
        tmp_path, cpu_snapshot(), project=ProjectState(reason="not a git repository")
    )
    text = write_report(cap, None).markdown
    assert "- [ ] the code is in version control: no (not a git repository)" in text


def test_an_image_pushed_from_another_lock_is_not_this_capture(tmp_path: Path) -> None:
    cap = make_capture(tmp_path, gpu_snapshot(), project=CLEAN, pushed=True)
    (cap / "pylock.toml").write_text(
        (cap / "pylock.toml").read_text().replace("2.1.3", "2.1.4"), encoding="utf-8"
    )
    data = facts.gather(cap)
    assert data["environment"]["image"]["lock_matches"] is False
    text = write_report(cap, None).markdown
    assert boxes(text)["example environment"] is False
    assert "the pushed image was built from another lock" in text


def test_json_gives_the_same_facts(cli: Any, tmp_path: Path) -> None:
    cap = make_capture(tmp_path, gpu_snapshot(), project=CLEAN, pushed=True, numerics=NUMERICS)
    done = cli("report", str(cap), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data == json.loads(json.dumps(facts.gather(cap)))
    env = data["environment"]
    assert env["hardware"]["gpus"] == [
        {
            "name": "NVIDIA A100-SXM4-80GB",
            "count": 2,
            "compute_capability": "8.0",
            "memory_gib": 80.0,
        }
    ]
    assert env["hardware"]["ram_gib"] == 64 and env["hardware"]["cpu"]["level"] == "x86-64-v4"
    assert env["image"]["run"] == shlex.join(
        ["docker", "run", "--rm", "--gpus", "all", PUSHED, *facts.IMAGE_CHECK]
    )
    lines = "".join(
        f"{pid} {d}\n" for pid, d in sorted([("matmul-fp32", "b" * 64), ("conv2d-fp16", "a" * 64)])
    )
    assert env["numerics"]["digest"] == hashlib.sha256(lines.encode()).hexdigest()
    assert not (tmp_path / "REPRODUCIBILITY.md").exists()  # --json alone writes nothing


def test_update_in_place_keeps_the_authors_text_byte_for_byte(tmp_path: Path) -> None:
    cap = make_capture(tmp_path, cpu_snapshot(), project=CLEAN)
    out = tmp_path / "REPRODUCIBILITY.md"
    write_report(cap, out)
    first = out.read_text(encoding="utf-8")
    # The author fills in the checklists, adds sections, uses CRLF in one place, edits nothing
    # between the markers; and writes text that looks like Markdown syntax.
    authored = (
        first.replace(
            "- [ ] configuration files: {links to the configuration files of each experiment}",
            "- [x] configuration files: [configs/](configs/) \u2014 *see* `train.yaml`\r\n"
            "  <details>kept</details>   ",
        )
        + "\n## Notes\n\nTrailing text, no final newline"
    )
    out.write_bytes(authored.encode("utf-8"))
    # Re-capture: now dirty, and pushed.
    dirty = replace(CLEAN, dirty=True, changed_files=1, diff_sha256="f" * 64)
    make_capture(tmp_path, cpu_snapshot(), project=dirty, pushed=True)
    result = write_report(cap, out)
    updated = out.read_bytes().decode("utf-8")
    assert not result.created
    assert "the working tree had 1 changed" in updated and PUSHED in updated

    # Everything outside the markers is the author's, byte for byte.
    def outside(text: str) -> list[str]:
        parts = []
        rest = text
        for name in markdown.SECTIONS:
            head, _, tail = rest.partition(markdown.begin_marker(name))
            parts.append(head)
            rest = tail.partition(markdown.end_marker(name))[2]
        return [*parts, rest]

    assert outside(updated) == outside(authored)
    # Running again changes nothing at all.
    mtime = out.stat().st_mtime_ns
    write_report(cap, out)
    assert out.read_bytes().decode("utf-8") == updated and out.stat().st_mtime_ns == mtime


def test_sections_whose_markers_are_gone_are_appended(tmp_path: Path) -> None:
    cap = make_capture(tmp_path, cpu_snapshot(), project=CLEAN)
    out = tmp_path / "R.md"
    out.write_text("# My paper\n\nOwn words.", encoding="utf-8")
    write_report(cap, out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# My paper\n\nOwn words.\n\n<!-- envsnap:begin code -->\n")
    assert text.rstrip().endswith("<!-- envsnap:end environment -->")


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (lambda t: t.replace("<!-- envsnap:end code -->\n", ""), "markers are incomplete"),
        (lambda t: t + "\n<!-- envsnap:begin code -->\n", "appears 2 times"),
    ],
)
def test_broken_markers_are_one_line_exit_2(
    cli: Any, tmp_path: Path, edit: Any, error: str
) -> None:
    cap = make_capture(tmp_path, cpu_snapshot(), project=CLEAN)
    out = tmp_path / "R.md"
    write_report(cap, out)
    before = edit(out.read_text(encoding="utf-8"))
    out.write_text(before, encoding="utf-8")
    done = cli("report", str(cap), "-o", str(out), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert error in done.stderr and done.stderr.startswith(f"envsnap: error: {out}: ")
    assert out.read_text(encoding="utf-8") == before  # untouched


def test_hostile_strings_from_the_capture_are_inert(tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) `x` *b* $x$ &amp; |t|"
    project = replace(CLEAN, branch="main<script>", remote="https://h.example/<b>`x`) # injected")
    snap = gpu_snapshot()
    gpus = replace(
        snap.hardware.gpus,  # type: ignore[union-attr]
        devices=tuple(replace(d, name=evil) for d in snap.hardware.gpus.devices),  # type: ignore[union-attr]
    )
    snap = replace(snap, hardware=replace(snap.hardware, gpus=gpus))  # type: ignore[arg-type]
    env = replace(snap.environment, os=replace(snap.environment.os, pretty_name="Deb\n## x"))
    cap = make_capture(tmp_path, replace(snap, environment=env), project=project)
    text = write_report(cap, None).markdown
    # No unescaped tag start (the markers are comments) and no link but the remote's.
    assert re.findall(r"(?<!\\)<[^!]", text) == []
    assert re.findall(r"(?<!\\)\]\(", text) == [
        "](",  # [pylock.toml](cap/pylock.toml)
        "](",  # [requirements.txt](cap/requirements.txt)
        "](",  # the remote
    ]
    assert "\n## x" not in text
    assert (
        r"\<img src=x onerror=alert(1)\> \[click\](javascript:alert(1)) \`x\` \*b\* \$x\$ "
        r"\&amp; \|t\|" in text
    )
    # The link target is percent-encoded (and the fragment, as in any recorded URL, is gone);
    # its label is literal text.
    assert "(https://h.example/%3Cb%3E%60x%60%29%20)" in text


def test_a_capture_folder_name_cannot_break_out_of_the_command_block(tmp_path: Path) -> None:
    folder = tmp_path / "x\n```\n# injected <b>"
    write(cpu_snapshot(), folder)
    text = write_report(folder, None).markdown
    block = text[text.index("  ````sh\n") :]
    block = block[: block.index("\n  ````\n")]
    assert "# injected" in block  # inside the (longer) fence, every line indented
    assert all(line.startswith("  ") for line in block.splitlines())
    assert "\n# injected" not in text


def test_capture_and_report_through_the_cli_on_a_gpu_machine(
    cli: Any, fake_nvml: Any, tmp_path: Path
) -> None:
    """A real capture on a machine with 2 GPUs (the NVML stand-in), then the report."""
    cap = tmp_path / "cap"
    env = fake_nvml.env(gpus=2)
    done = cli("capture", "-o", str(cap), "--offline", "-q", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "docs" / "REPRO.md"
    out.parent.mkdir()
    made = cli("report", str(cap), "-o", str(out), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout == f"wrote {out} from the capture in {cap}\n"
    text = out.read_text(encoding="utf-8")
    assert (
        "- [x] the hardware needed to run the project properly: 2 \u00d7 NVIDIA A100-SXM4-80GB "
        "(compute capability 8.0), NVIDIA driver \u2265 535 (CUDA 12.2), \u2265 " in text
    )
    assert "[pylock.toml](../cap/pylock.toml) (PEP 751)" in text  # relative to the report
    assert "- [ ] the code is in version control: no (not a git repository)" in text
    again = cli("report", str(cap), "-o", str(out), cwd=tmp_path)
    assert again.stdout == f"updated the envsnap sections of {out} from the capture in {cap}\n"


def test_bad_input_is_one_line_exit_2(cli: Any, tmp_path: Path) -> None:
    missing = cli("report", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and "capture directory not found" in missing.stderr
    cap = make_capture(tmp_path, cpu_snapshot(), project=CLEAN, numerics="version = 1\n")
    bad = cli("report", str(cap), "-o", "-", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"envsnap: error: {cap / 'numerics.toml'}: battery-version")
    (cap / "numerics.toml").unlink()
    (cap / "project.toml").write_text("schema-version = 1\nstatus = 3\n")
    worse = cli("report", str(cap), "-o", "-", cwd=tmp_path)
    assert worse.returncode == 2 and f"{cap / 'project.toml'}: status" in worse.stderr


def test_the_repro_box_is_ticked_only_from_a_passing_verdict_of_this_lock(
    tmp_path: Path,
) -> None:
    text = "running the code several times yields the same output"
    cap = make_capture(tmp_path, cpu_snapshot(), project=CLEAN)
    report = write_report(cap, None).markdown
    assert boxes(report)[text] is False
    assert "not checked; run `envsnap repro -- COMMAND`" in report
    write_repro(cap)
    report = write_report(cap, None).markdown
    assert boxes(report)[text] is True
    line = next(x for x in report.splitlines() if x.startswith(f"- [x] {text}: "))
    assert line.startswith(f"- [x] {text}: [repro.toml](")
    assert line.endswith("cap/repro.toml): reproducible: 2 runs, 1 output, 4 tensors bit-identical")
    write_repro(cap, reproducible=False, summary="not reproducible: model.pt *4* <b>")
    report = write_report(cap, None).markdown
    assert boxes(report)[text] is False
    assert r"not reproducible: model.pt \*4\* \<b\>" in report
    write_repro(cap, lock_digest="sha256:" + "0" * 64)
    report = write_report(cap, None).markdown
    assert boxes(report)[text] is False
    assert "was recorded with another environment than this capture's lock" in report
    data = facts.gather(cap)["repro"]
    assert data["lock_matches"] is False and data["reproducible"] is True


def test_a_hostile_repro_toml_is_one_line_exit_2(cli: Any, tmp_path: Path) -> None:
    cap = make_capture(tmp_path, cpu_snapshot(), project=CLEAN)
    (cap / "repro.toml").write_text('version = 1\n[verdict]\nreproducible = "yes"\nsummary = "x"\n')
    bad = cli("report", str(cap), "-o", "-", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"envsnap: error: {cap / 'repro.toml'}: verdict.reproducible")
    (cap / "repro.toml").unlink()
    (cap / "repro.toml").symlink_to("/etc/passwd")
    linked = cli("report", str(cap), "-o", "-", cwd=tmp_path)
    assert linked.returncode == 2
    assert f"{cap / 'repro.toml'}: repro.toml is a symbolic link; refused" in linked.stderr


def test_the_json_envelope_keys_are_pinned(tmp_path: Path) -> None:
    """A contract: tools read these keys; adding one is fine, renaming one needs a version."""
    cap = make_capture(tmp_path, gpu_snapshot(), project=CLEAN, pushed=True, numerics=NUMERICS)
    data = facts.gather(cap)
    assert data["version"] == facts.FACTS_VERSION == 1
    assert sorted(data) == ["capture", "code", "environment", "repro", "version"]
    assert sorted(data["code"]) == [
        "branch", "changed_files", "commit", "diff_sha256", "dirty", "reason", "remote",
        "status", "vcs",
    ]  # fmt: skip
    env = data["environment"]
    assert sorted(env) == [
        "all_hashed", "determinism", "frameworks", "hardware", "hashed", "image", "lock_files",
        "lock_sha256", "not_pinned", "numerics", "os", "packages", "python", "rebuild",
    ]  # fmt: skip
    assert sorted(env["hardware"]) == [
        "captured", "cpu", "cuda_driver", "driver_major", "gpu_status", "gpus", "ram_gib",
        "summary",
    ]  # fmt: skip
    assert sorted(env["image"]) == [
        "base_image", "image_id", "lock_matches", "pushed", "pushed_digest", "run", "tag",
        "verified", "verify_error",
    ]  # fmt: skip
    assert sorted(env["numerics"]) == ["battery_version", "digest", "probes", "version"]
