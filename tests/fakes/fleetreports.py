"""Node reports for the fleet tests, built with the real model and written in the real format."""

from __future__ import annotations

from pathlib import Path

from envsnap.findings import CheckReport, Finding
from envsnap.fleet.node import save
from envsnap.fleet.nodereport import NodeReport

BASE = {
    "capture": "c" * 64,
    "python": "cpython 3.11.7 cp311",
    "packages": "a" * 64,
    "frameworks": "torch 2.4.0 (CUDA 12.1)",
    "nccl": "2.20.5",
    "cuda-runtime": "12.1.105",
    "cublas": "12.1.3.1",
    "cudnn": "8.9.2.26",
    "driver": "535.104.05",
    "gpus": "8 x NVIDIA H100 80GB HBM3 81559 MiB cc 9.0",
    "determinism": "CUBLAS_WORKSPACE_CONFIG=:4096:8",
    "numerics": "none",
    "isa": "x86_64 AVX-512",
    "cpu": "Intel(R) Xeon(R) Platinum 8480+",
    "os": "Debian GNU/Linux 12 (bookworm) 2.36",
    "kernel": "6.1.0-18-amd64",
    "memory": "2015 GiB",
}

TOO_OLD = Finding(
    "error",
    "driver",
    "driver.too-old",
    "the NVIDIA driver is too old for CUDA 12.4",
    ">= 550.54.14",
    "535.104.05",
    "upgrade the NVIDIA driver",
)


def node_report(
    node: str,
    findings: tuple[Finding, ...] = (),
    differ: tuple[tuple[str, str, str], ...] = (),
    **fingerprint: str,
) -> NodeReport:
    """A report of *node*: `BASE` with keyword overrides (``cuda_runtime=`` for cuda-runtime)."""
    fp = dict(BASE)
    fp.update({k.replace("_", "-"): v for k, v in fingerprint.items()})
    return NodeReport(
        node=node,
        report=CheckReport(tuple(sorted(findings, key=Finding.sort_key))),
        fingerprint=tuple(sorted(fp.items())),
        differ=differ,
        host=node,
        capture="envsnap",
        created_at="2026-01-01T00:00:00Z",
        created_by="envsnap test",
    )


def write_fleet(folder: Path, count: int, odd: dict[str, NodeReport] | None = None) -> None:
    """*count* alike reports node-1..node-N in *folder*, then the *odd* ones (replacing some)."""
    for i in range(1, count + 1):
        save(node_report(f"node-{i}"), folder)
    for rep in (odd or {}).values():
        save(rep, folder)
