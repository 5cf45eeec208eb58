"""The pure parts of issue #9's policy: URL and variable redaction, terminal escaping."""

from __future__ import annotations

import pytest

from envsnap._redact import WITHHELD, envvar, request, text, url


@pytest.mark.parametrize(
    ("given", "kept", "cut"),
    [
        ("https://pypi.org/simple", "https://pypi.org/simple", False),
        ("https://u:p@h.example/simple", "https://h.example/simple", True),
        ("https://ghp_x@github.com/o/r.git", "https://github.com/o/r.git", True),
        ("git+ssh://git@github.com/o/r.git", "git+ssh://git@github.com/o/r.git", False),
        ("git+ssh://me:pw@github.com/o/r.git", "git+ssh://github.com/o/r.git", True),
        ("https://h/a.whl?X-Amz-Signature=s&X-Amz-Credential=c", "https://h/a.whl", True),
        ("https://h/simple?access_token=t", "https://h/simple", True),
        ("https://h/a.tar.gz#sha256=ab&egg=a", "https://h/a.tar.gz#sha256=ab&egg=a", False),
        ("https://h/a.tar.gz#token=x&sha256=ab", "https://h/a.tar.gz#sha256=ab", True),
        ("https://h/a.zip?subdirectory=pkg&sig=1", "https://h/a.zip?subdirectory=pkg", True),
        ("file:///srv/wheels/a.whl", "file:///srv/wheels/a.whl", False),
        ("http://[::1", WITHHELD, True),
    ],
)
def test_urls_keep_only_what_cannot_authenticate(given: str, kept: str, cut: bool) -> None:
    assert url(given) == (kept, cut)


def test_the_request_keeps_its_query() -> None:
    assert request("https://u:p@h/simple?access_token=t") == (
        "https://h/simple?access_token=t",
        ("u", "p"),
    )


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("OMP_NUM_THREADS", "4", True),
        ("OMP_NUM_THREADS", "4,2", True),
        ("OMP_NUM_THREADS", "4 $(touch x)", False),
        ("CUBLAS_WORKSPACE_CONFIG", ":4096:8", True),
        ("CUBLAS_WORKSPACE_CONFIG", ":16:8:4096:2", True),
        ("CUBLAS_WORKSPACE_CONFIG", "token", False),
        ("XLA_FLAGS", "--xla_gpu_deterministic_ops=true --xla_cpu_enable_fast_math=false", True),
        ("XLA_FLAGS", "--xla_dump_to=gs://b?token=x", False),
        ("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True,max_split_size_mb:128", True),
        ("PYTORCH_CUDA_ALLOC_CONF", "backend:native;x", False),
        ("NVIDIA_TF32_OVERRIDE", "0", True),
        ("NVIDIA_TF32_OVERRIDE", "maybe", False),
        ("PYTHONHASHSEED", "random", True),
        ("CUDA_VISIBLE_DEVICES", "", True),
        ("CUDA_VISIBLE_DEVICES", "GPU-8f3e2c1a-0000,1", True),
        ("MKL_CBWR", "AVX2,STRICT", True),
        ("NCCL_TOPO_FILE", "/opt/topo.xml", True),
        ("NCCL_TOPO_FILE", "https://x/topo.xml?sig=1", False),
        ("CUDA_MODULE_LOADING", "LAZY", True),
        ("CUDA_MODULE_LOADING", "LAZY\x1b[2J", False),
    ],
)
def test_variables_keep_their_value_only_in_shape(name: str, value: str, kept: bool) -> None:
    assert envvar(name, value) == ((value, False) if kept else (WITHHELD, True))


def test_text_escapes_what_drives_a_terminal() -> None:
    assert text("plain é text") == "plain é text"
    assert text("a\x1b[2J\x07b\r\nc\u202ed\x9b") == "a\\x1b[2J\\x07b\\r\\nc\\u202ed\\x9b"
