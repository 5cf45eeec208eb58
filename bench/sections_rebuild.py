"""Section 6 of the bench, issue 21's target 3: rebuild's image builds beside their floor.

Runs only with --docker, when a daemon answers and the base image is present. In turn:
the floor (`floor.build_floor`: COPY the reference venv's site-packages into the base), a cold
``envsnap rebuild --no-cache`` of the reference capture, and a warm one with one small package
changed. Every step of each is timed from the build's own progress lines (`steps`), summed by
stage; the warm image's history says which of the cold image's layers it reused. Then pip
against uv installing the same locked wheels in the base (`installers`), their RECORDs compared.
With BENCH_DOCKER_LOCK naming a lock file, each build holds it (`docker_bench.lock`).
Targets: cold <= 1.5x the floor, and the warm build reuses every big layer (a layer holding 10%
or more of what the build adds to the base). Every image made is removed at the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docker_bench as dk
import refenv
from floor import build_floor
from installers import find_uv, pip_vs_uv
from report import Report, fmt_ms
from steps import StepTime, instructions, run_timed, step_times, table

__all__ = ["section_rebuild"]

SEC = "6 rebuild"
COLD_TAG, WARM_TAG, FLOOR_TAG = "envsnap-bench:cold", "envsnap-bench:warm", "envsnap-bench:floor"
COLD_LIMIT = 1.5
BIG_SHARE = 0.10  # a layer with this share of the bytes the build adds is a big one
MB = 1_000_000


def _rebuild(
    inputs: dk.DockerInputs, capture: Path, tag: str, context: Path, extra: Sequence[str]
) -> tuple[float, list[StepTime], str, str]:
    """(wall s, steps, Dockerfile, error) of one `envsnap rebuild` into *context*."""
    argv = [*inputs.envsnap, "rebuild", str(capture), "-t", tag, "--wheelhouse"]
    argv += ["--build-on-host", "bench-localpkg", "--build-on-host", "bench-gitpkg"]
    # The base is named: this machine has a CUDA toolkit (nvcc) that would pick nvidia/cuda.
    argv += ["--base-image", dk.BASE_IMAGE, "--context", str(context), *extra]
    with dk.lock():
        timed = run_timed(argv, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    dockerfile = context / "Dockerfile"
    text = dockerfile.read_text() if dockerfile.is_file() else ""
    stages = [stage for stage, _ in instructions(text)]
    steps = step_times(timed.lines, timed.wall_s, stages)
    error = ""
    if timed.returncode != 0:
        error = next(
            (ln for _, ln in reversed(timed.lines) if "error" in ln.lower()),
            f"exit status {timed.returncode}",
        )
    return timed.wall_s, steps, text, error


def _by_stage(steps: Sequence[StepTime], wall_s: float) -> dict[str, float]:
    """Seconds per stage, plus what came before the first step (render, context upload)."""
    out = {"render + send context": round(wall_s - sum(s.seconds for s in steps), 1)}
    for s in steps:
        out[s.stage] = round(out.get(s.stage, 0.0) + s.seconds, 1)
    return out


def _profile(report: Report, name: str, wall_s: float, steps: Sequence[StepTime]) -> None:
    stages = _by_stage(steps, wall_s)
    report.put("rebuild", f"{name}_stages_s", stages)
    report.put(
        "rebuild",
        f"{name}_steps",
        [
            {"n": s.number, "stage": s.stage, "s": round(s.seconds, 1), "cached": s.cached,
             "step": s.text[:120]}
            for s in steps
        ],
    )  # fmt: skip
    top = sorted(((v, k) for k, v in stages.items()), reverse=True)[:5]
    report.add(
        SEC,
        f"  {name}: where the time goes",
        ", ".join(f"{k} {v:.0f} s" for v, k in top),
    )
    print(f"bench: {name} build, step by step:\n{table(steps)}", file=sys.stderr, flush=True)


def _final_layers(dockerfile: str, tag: str) -> list[tuple[str, dict[str, Any]]]:
    """(instruction, history entry) of each step of the final stage after its FROM."""
    final = [text for stage, text in instructions(dockerfile) if stage == "final"][1:]
    hist = dk.history(tag)
    return list(zip(final, hist[len(hist) - len(final) :], strict=True)) if final else []


def _reuse(report: Report, cold_df: str, warm_df: str) -> bool:
    """Say which of the warm image's final-stage layers were reused from the cold one; return
    whether every big one was."""
    cold = {instr.split(" ", 2)[1] if instr.startswith("COPY") else instr.split()[0]: h
            for instr, h in _final_layers(cold_df, COLD_TAG)}  # fmt: skip
    added = sum(int(h.get("Size", 0)) for h in cold.values()) or 1
    reused, rebuilt, big_rebuilt = [], [], []
    for instr, h in _final_layers(warm_df, WARM_TAG):
        key = instr.split(" ", 2)[1] if instr.startswith("COPY") else instr.split()[0]
        size = int(h.get("Size", 0))
        label = f"{key} {size / MB:.0f} MB"
        if key in cold and cold[key].get("Id") == h.get("Id"):
            reused.append(label)
        else:
            rebuilt.append(label)
            if size >= BIG_SHARE * added:
                big_rebuilt.append(label)
    report.add(SEC, "  warm: final-stage layers reused", "; ".join(reused) or "none")
    report.add(SEC, "  warm: final-stage layers rebuilt", "; ".join(rebuilt) or "none")
    report.put("rebuild", "warm_reused", reused)
    report.put("rebuild", "warm_rebuilt", rebuilt)
    ok = not big_rebuilt and bool(reused)
    measured = f"{len(reused)} reused, {len(rebuilt)} rebuilt" + (
        f" (big: {', '.join(big_rebuilt)})" if big_rebuilt else ""
    )
    report.target("3", "rebuild warm: reuses every big layer", measured, "all big", ok)
    return ok


def _installers(report: Report, context: Path, work: Path) -> None:
    uv = find_uv()
    if uv is None:
        report.skipped(SEC, "pip vs uv in the image", "no uv binary beside the bench's python")
        return
    print("bench: pip vs uv installing the locked wheels ...", file=sys.stderr, flush=True)
    with dk.lock():
        cmp = pip_vs_uv(context, work / "installers", dk.BASE_IMAGE, uv)
    if cmp.error:
        report.unavailable(SEC, "pip vs uv in the image", cmp.error)
        return
    same = not cmp.differences
    keep = "uv" if same and cmp.uv_s < cmp.pip_s else "pip"
    report.add(
        SEC,
        "pip vs uv: same locked wheels, in the base",
        f"pip {fmt_ms(cmp.pip_s)}, uv {fmt_ms(cmp.uv_s)}",
        target="same files, faster",
        result=f"same files: {'yes' if same else 'no'}; the image keeps {keep} ({cmp.versions})",
    )
    for line in cmp.differences:
        report.add(SEC, "  pip vs uv differ", line)
    report.put("rebuild", "pip_s", cmp.pip_s)
    report.put("rebuild", "uv_s", cmp.uv_s)
    report.put("rebuild", "installer_differences", list(cmp.differences))


def _size(report: Report, ref: Path) -> None:
    image, base = dk.image_size(COLD_TAG), dk.image_size(dk.BASE_IMAGE)
    if image is None or base is None:
        report.unavailable(SEC, "image size", "image or base image not found after the build")
        return
    installed = refenv.installed_bytes(ref)
    overhead = image - base - installed
    report.add(
        SEC,
        "image size",
        f"{image / MB:.0f} MB",
        target="base + installed",
        result=f"{base / MB:.0f} + {installed / MB:.0f} MB; overhead {overhead / MB:+.0f} MB "
        f"({overhead / (base + installed):+.1%})",
    )
    report.put("rebuild", "image_bytes", image)
    report.put("rebuild", "installed_bytes", installed)


def section_rebuild(report: Report, inputs: dk.DockerInputs) -> None:
    """The floor, a cold and a warm rebuild, step by step; pip vs uv; the two targets."""
    reason = dk.reason_to_skip(inputs)
    if reason or inputs.hashed_capture is None:
        report.skipped(SEC, "floor, cold and warm rebuild", reason or "no capture")
        return
    try:
        _measure(report, inputs, inputs.hashed_capture)
    finally:
        with dk.lock():
            for tag in (COLD_TAG, WARM_TAG, FLOOR_TAG):  # on vfs each layer is a full copy
                dk.remove(tag)


def _measure(report: Report, inputs: dk.DockerInputs, capture: Path) -> None:
    driver = dk.storage_driver()
    report.put("rebuild", "storage_driver", driver)
    print("bench: the floor (COPY site-packages into the base) ...", file=sys.stderr, flush=True)
    with dk.lock():
        for tag in (COLD_TAG, WARM_TAG, FLOOR_TAG):
            dk.remove(tag)
        floor = build_floor(inputs.ref, inputs.work, dk.BASE_IMAGE, FLOOR_TAG)
    if floor.error:
        report.unavailable(SEC, "floor build", floor.error)
        return
    report.add(SEC, f"floor: COPY site-packages ({driver}, no cache, 1 run)", fmt_ms(floor.wall_s))
    report.put("rebuild", "floor_s", floor.wall_s)
    print("bench: cold rebuild (--no-cache) ...", file=sys.stderr, flush=True)
    cold_s, cold_steps, cold_df, err = _rebuild(
        inputs, capture, COLD_TAG, inputs.work / "ctx-cold", ["--no-cache"]
    )
    if err:
        report.unavailable(SEC, "rebuild --no-cache (cold)", err)
        return
    ratio = cold_s / floor.wall_s
    report.add(SEC, f"rebuild cold ({driver}, --no-cache, 1 run)", fmt_ms(cold_s),
               target=f"<= {COLD_LIMIT}x floor", result=f"{ratio:.2f}x floor")  # fmt: skip
    report.put("rebuild", "cold_s", cold_s)
    report.target(
        "3", "rebuild cold / floor (COPY site-packages)",
        f"{ratio:.2f}x ({cold_s:.0f} s / {floor.wall_s:.0f} s, {driver})",
        f"<= {COLD_LIMIT}x", ratio <= COLD_LIMIT,
    )  # fmt: skip
    _profile(report, "cold", cold_s, cold_steps)
    name, version, other = refenv.SMALL_PACKAGE
    changed = inputs.work / "cap-changed"
    print(f"bench: warm rebuild ({name} {version} -> {other}) ...", file=sys.stderr, flush=True)
    err = dk.swap_small_package(inputs, changed) or ""
    if not err:
        warm_s, warm_steps, warm_df, err = _rebuild(
            inputs, changed, WARM_TAG, inputs.work / "ctx-warm", []
        )
    if err:
        report.unavailable(SEC, f"rebuild with {name} changed (warm)", err)
    else:
        cached = sum(s.cached for s in warm_steps)
        report.add(SEC, f"rebuild warm, {name} {version}->{other} (1 run)", fmt_ms(warm_s),
                   result=f"{warm_s / cold_s:.2f}x cold; {cached} of {len(warm_steps)} steps "
                   "cached")  # fmt: skip
        report.put("rebuild", "warm_s", warm_s)
        _profile(report, "warm", warm_s, warm_steps)
        _reuse(report, cold_df, warm_df)
    _size(report, inputs.ref)
    _installers(report, inputs.work / "ctx-cold", inputs.work)
