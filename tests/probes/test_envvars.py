"""Determinism env vars: only the allowlist is ever recorded, and no secret reaches a file."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from envsnap._envvars import DESCRIPTIONS
from envsnap.probes import envvars

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY-5f2a",
    "HF_TOKEN": "hf_envsnapTestTokenDoNotLeak0123456789",
    "GITHUB_TOKEN": "ghp_envsnapTestTokenDoNotLeak0123456789",
    "PIP_INDEX_URL_PASSWORD": "s3cr3t-envsnap-pip-password",
    "cublas_workspace_config": "lowercase-is-another-variable-envsnap",
}


def test_allowlist_covers_the_issue_list() -> None:
    required = {
        "PYTHONHASHSEED",
        "CUBLAS_WORKSPACE_CONFIG",
        "NVIDIA_TF32_OVERRIDE",
        "TF_DETERMINISTIC_OPS",
        "TF_CUDNN_DETERMINISTIC",
        "XLA_FLAGS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_CBWR",
        "OPENBLAS_CORETYPE",
        "NCCL_ALGO",
        "NCCL_PROTO",
        "CUDA_VISIBLE_DEVICES",
    }
    assert required <= envvars.ALLOWLIST
    assert isinstance(envvars.ALLOWLIST, frozenset)


def test_every_variable_is_described() -> None:
    assert frozenset(DESCRIPTIONS) == envvars.ALLOWLIST
    assert all(text.strip() for text in DESCRIPTIONS.values())


def test_probe_filters_and_sorts() -> None:
    environ = {
        **SECRETS,
        "PATH": "/usr/bin",
        "OMP_NUM_THREADS": "4",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "PYTHONHASHSEED": "0",
    }
    assert envvars.probe(environ) == (
        ("CUBLAS_WORKSPACE_CONFIG", ":4096:8"),
        ("OMP_NUM_THREADS", "4"),
        ("PYTHONHASHSEED", "0"),
    )


def test_probe_of_an_empty_environment() -> None:
    assert envvars.probe({}) == ()


def test_no_secret_reaches_a_written_file(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out = tmp_path / "snap"
    env = {**SECRETS, "CUBLAS_WORKSPACE_CONFIG": ":4096:8", "OMP_NUM_THREADS": "3"}
    done = cli("capture", "--offline", "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert written, "capture wrote nothing"
    blob = "\n".join(p.read_text(encoding="utf-8") for p in written)
    for name, value in SECRETS.items():
        assert value not in blob, f"{name} leaked"
        assert name not in blob, f"{name} leaked"
    assert ":4096:8" in blob
    for stream in (done.stdout, done.stderr):
        for value in SECRETS.values():
            assert value not in stream
