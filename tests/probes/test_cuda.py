"""The CUDA user-space stack probe: recorded real files, a compiled stand-in .so, a real torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from envsnap._cache import entry_text
from envsnap.model import Component, Package
from envsnap.probes import _cudafiles as files
from envsnap.probes import blas, cuda

DATA = Path(__file__).resolve().parent.parent / "data"
ORIGINAL_PATH = os.environ.get("PATH", "")
ARCHS = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90 compute_90"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own cache dir, no system toolkit or headers, no nvcc: each test adds what it needs.

    (A GPU machine with libnccl-dev has /usr/include/nccl.h: the probe must not see it here.)
    """
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "SYSTEM_INCLUDE", tmp_path / "usr-include")
    empty = tmp_path / "no-cuda"
    empty.mkdir()
    monkeypatch.setenv("CUDA_HOME", str(empty))
    monkeypatch.delenv("CUDA_PATH", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    site.mkdir(exist_ok=True)
    return site


def _torch_tree(site: Path, version_py: str) -> Path:
    torch = site / "torch"
    (torch / "lib").mkdir(parents=True, exist_ok=True)
    (torch / "version.py").write_text(version_py)
    return torch


def _compile_so(target: Path, literal: str) -> None:
    """A real ELF shared object whose .rodata holds *literal*, as nvcc-built torch does."""
    src = target.with_suffix(".c")
    src.write_text(
        textwrap.dedent(f"""
        const char *envsnap_decoy = "sm_ is not a list";
        const char *envsnap_arch = {json.dumps(literal)};
        """)
    )
    gcc = shutil.which("gcc", path=ORIGINAL_PATH)
    if gcc is None:
        pytest.skip("gcc is needed to build the stand-in library")
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-o", str(target), str(src)],
        check=True,
        env={**os.environ, "PATH": ORIGINAL_PATH},
    )


# --- pure parsers against recorded real text ----------------------------------------------------


def test_torch_cpu_version_py_has_no_cuda() -> None:
    info = cuda.parse_torch_version((DATA / "torch" / "version-2.13.0+cpu.py").read_text())
    assert info["__version__"] == "2.13.0+cpu"
    assert info["cuda"] is None
    assert info["git_version"] == "cf30153c4c131c8164ee7798e5022d810682e2cb"


def test_torch_cuda_version_py() -> None:
    # the CUDA wheels differ from the CPU file only in these two lines
    text = (DATA / "torch" / "version-2.13.0+cpu.py").read_text()
    text = text.replace("'2.13.0+cpu'", "'2.8.0+cu128'").replace(
        "cuda: Optional[str] = None", "cuda: Optional[str] = '12.8'"
    )
    info = cuda.parse_torch_version(text)
    assert (info["__version__"], info["cuda"]) == ("2.8.0+cu128", "12.8")


def test_parse_arch_list_takes_the_list_glued_to_a_literal() -> None:
    blob = b"\x00flash_attn\x00cuda_arch_flags" + ARCHS.encode() + b"\x00sm_80\x00"
    assert cuda.parse_arch_list(blob) == tuple(ARCHS.split())
    assert cuda.parse_arch_list(b"sm_100a sm_120f compute_120") == (
        "sm_100a",
        "sm_120f",
        "compute_120",
    )
    assert cuda.parse_arch_list(b"no arch here sm_80") == ()


@pytest.mark.parametrize(
    ("name", "expected"), [("nvcc-13.0.88.txt", "13.0.88"), ("nvcc-11.5.119.txt", "11.5.119")]
)
def test_parse_nvcc_version(name: str, expected: str) -> None:
    assert cuda.parse_nvcc_version((DATA / "cuda" / name).read_text()) == expected


def test_parse_nvcc_version_rejects_other_output() -> None:
    assert cuda.parse_nvcc_version("nvcc: command not found") is None


def test_toolkit_files() -> None:
    assert files.parse_cuda_h((DATA / "cuda" / "cuda-13.0-excerpt.h").read_text()) == "13.0"
    versions = files.parse_version_json((DATA / "cuda" / "version-11.5.2.json").read_text())
    assert versions["cuda"] == "11.5.2"
    assert versions["cuda_cudart"] == "11.5.117"
    assert files.parse_version_json("{not json") == {}
    assert files.parse_version_txt("CUDA Version 10.2.89\n") == "10.2.89"


def test_headers() -> None:
    cudnn9 = "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 10\n#define CUDNN_PATCHLEVEL 2\n"
    assert files.parse_cudnn_version_h(cudnn9) == "9.10.2"
    nccl = "#define NCCL_MAJOR 2\n#define NCCL_MINOR 27\n#define NCCL_PATCH 3\n"
    assert files.parse_nccl_h(nccl) == "2.27.3"
    assert files.parse_cudnn_version_h("/* nothing */") is None


@pytest.mark.parametrize(
    ("name", "cuda_version", "cudnn", "first_arch"),
    [
        ("build_info-2.13-linux.py", "12.1", "8", "sm_52"),
        ("build_info-2.9.1-win_amd64.py", "11.6", "8", "compute_50"),
    ],
)
def test_tensorflow_build_info(name: str, cuda_version: str, cudnn: str, first_arch: str) -> None:
    info = files.parse_tf_build_info((DATA / "tensorflow" / name).read_text())
    assert info["cuda_version"] == cuda_version
    assert info["cudnn_version"] == cudnn
    assert info["cuda_compute_capabilities"][0] == first_arch


# --- the probe on real-format trees -------------------------------------------------------------


def test_probe_empty_environment(tmp_path: Path) -> None:
    stack = cuda.probe([], [str(_site(tmp_path))])
    assert stack.frameworks == ()
    assert stack.components == ()


def test_torch_arch_list_from_a_compiled_library(tmp_path: Path) -> None:
    site = _site(tmp_path)
    text = (DATA / "torch" / "version-2.13.0+cpu.py").read_text()
    torch = _torch_tree(site, text.replace("cuda: Optional[str] = None", "cuda = '12.8'"))
    _compile_so(torch / "lib" / "libtorch_python.so", "TORCH_CUDA_ARCH_LIST" + ARCHS)
    stack = cuda.probe([Package("torch", "2.13.0+cpu")], [str(site)])
    fw = stack.framework("torch")
    assert fw is not None
    assert fw.cuda == "12.8"
    assert fw.arch_list == tuple(ARCHS.split())


def test_arch_list_is_cached_by_size_and_mtime(tmp_path: Path) -> None:
    so = tmp_path / "libtorch_cuda.so"
    _compile_so(so, ARCHS)
    assert cuda.scan_arch_list(so) == tuple(ARCHS.split())
    [entry] = (tmp_path / "cache" / "arch-lists").glob("*.json")
    # a second scan reads the cache: prove it by planting a different answer there
    entry.write_text(entry_text(["sm_42"]))
    assert cuda.scan_arch_list(so) == ("sm_42",)
    # a rebuilt library (new mtime) is scanned again
    st = so.stat()
    os.utime(so, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cuda.scan_arch_list(so) == tuple(ARCHS.split())


def test_unwritable_cache_still_scans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(blocker / "cache"))
    so = tmp_path / "libtorch_python.so"
    _compile_so(so, ARCHS)
    assert cuda.scan_arch_list(so) == tuple(ARCHS.split())


def test_components_from_cuda12_wheels(tmp_path: Path) -> None:
    pkgs = [
        Package("nvidia-cuda-runtime-cu12", "12.8.90"),
        Package("nvidia-cudnn-cu12", "9.10.2.21"),
        Package("nvidia-cublas-cu12", "12.8.4.1"),
        Package("nvidia-nccl-cu12", "2.27.3"),
        Package("requests", "2.32.3"),
    ]
    stack = cuda.probe(pkgs, [str(_site(tmp_path))])
    assert stack.components == (
        Component("cublas", "12.8.4.1", "wheel nvidia-cublas-cu12"),
        Component("cuda-runtime", "12.8.90", "wheel nvidia-cuda-runtime-cu12"),
        Component("cudnn", "9.10.2.21", "wheel nvidia-cudnn-cu12"),
        Component("nccl", "2.27.3", "wheel nvidia-nccl-cu12"),
    )


def test_cuda13_wheels_ignore_the_cu13_stubs(tmp_path: Path) -> None:
    pkgs = [
        Package("nvidia-cuda-runtime-cu13", "0.0.1"),
        Package("nvidia-cublas-cu13", "0.0.1"),
        Package("nvidia-cuda-runtime", "13.0.96"),
        Package("nvidia-cublas", "13.1.0.3"),
        Package("nvidia-cudnn-cu13", "9.13.0.50"),
        Package("nvidia-nccl-cu13", "2.28.3"),
        Package("cuda-toolkit", "13.0.2"),
    ]
    stack = cuda.probe(pkgs, [str(_site(tmp_path))])
    got = {c.name: c.version for c in stack.components}
    assert got == {
        "cublas": "13.1.0.3",
        "cuda-runtime": "13.0.96",
        "cuda-toolkit": "13.0.2",
        "cudnn": "9.13.0.50",
        "nccl": "2.28.3",
    }


def test_headers_in_wheels_when_no_metadata(tmp_path: Path) -> None:
    site = _site(tmp_path)
    inc = site / "nvidia" / "cudnn" / "include"
    inc.mkdir(parents=True)
    (inc / "cudnn_version.h").write_text(
        "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 0\n"
    )
    stack = cuda.probe([], [str(site)])
    cudnn = stack.component("cudnn")
    assert cudnn is not None
    assert cudnn.version == "9.1.0"
    assert cudnn.source.startswith("header ")


def test_system_toolkit_version_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cuda-11.5"
    root.mkdir()
    shutil.copy(DATA / "cuda" / "version-11.5.2.json", root / "version.json")
    monkeypatch.setenv("CUDA_HOME", str(root))
    stack = cuda.probe([Package("nvidia-cuda-runtime-cu12", "12.8.90")], [str(_site(tmp_path))])
    # the wheel wins over the system runtime: it is what torch loads
    assert stack.component("cuda-runtime") == Component(
        "cuda-runtime", "12.8.90", "wheel nvidia-cuda-runtime-cu12"
    )
    toolkit = stack.component("cuda-toolkit")
    assert toolkit is not None
    assert (toolkit.version, toolkit.source) == ("11.5.2", f"system {root}/version.json")


def test_distribution_headers_next_to_a_system_toolkit(tmp_path: Path) -> None:
    """libnccl-dev's /usr/include/nccl.h counts when a system toolkit is there."""
    inc = tmp_path / "usr-include"
    inc.mkdir()
    (inc / "nccl.h").write_text(
        "#define NCCL_MAJOR 2\n#define NCCL_MINOR 28\n#define NCCL_PATCH 3\n"
        '#define NCCL_SUFFIX ""\n'
    )
    assert cuda.probe([], [str(_site(tmp_path))]).component("nccl") == Component(
        "nccl", "2.28.3", f"header {inc / 'nccl.h'}"
    )


def test_system_toolkit_from_cuda_h(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cuda"
    (root / "include").mkdir(parents=True)
    shutil.copy(DATA / "cuda" / "cuda-13.0-excerpt.h", root / "include" / "cuda.h")
    monkeypatch.setenv("CUDA_HOME", str(root))
    toolkit = cuda.probe([], [str(_site(tmp_path))]).component("cuda-toolkit")
    assert toolkit is not None
    assert toolkit.version == "13.0"
    # the header's version is kept until the header changes: prove it by planting another
    [entry] = (tmp_path / "cache" / "cuda-h").glob("*.json")
    entry.write_text(entry_text("12.9"))
    again = cuda.probe([], [str(_site(tmp_path))]).component("cuda-toolkit")
    assert again is not None and again.version == "12.9"
    header = root / "include" / "cuda.h"
    st = header.stat()
    os.utime(header, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    fresh = cuda.probe([], [str(_site(tmp_path))]).component("cuda-toolkit")
    assert fresh is not None and fresh.version == "13.0"


def test_nvcc_on_path(tmp_path: Path) -> None:
    nvcc = tmp_path / "bin" / "nvcc"
    recorded = DATA / "cuda" / "nvcc-11.5.119.txt"
    nvcc.write_text(f"#!{sys.executable}\nprint(open({str(recorded)!r}).read(), end='')\n")
    nvcc.chmod(0o755)
    component = cuda.probe([], [str(_site(tmp_path))]).component("nvcc")
    assert component is not None
    assert component.version == "11.5.119"
    assert "not the runtime" in component.source


def test_jax_and_cupy_from_distribution_names(tmp_path: Path) -> None:
    pkgs = [
        Package("jax", "0.7.2"),
        Package("jaxlib", "0.7.2"),
        Package("jax-cuda12-plugin", "0.7.2"),
        Package("jax-cuda12-pjrt", "0.7.2"),
        Package("cupy-cuda12x", "13.6.0"),
    ]
    stack = cuda.probe(pkgs, [str(_site(tmp_path))])
    assert [(f.name, f.version, f.cuda) for f in stack.frameworks] == [
        ("cupy", "13.6.0", "12"),
        ("jax", "0.7.2", "12"),
    ]


def test_tensorflow_from_site_packages(tmp_path: Path) -> None:
    site = _site(tmp_path)
    platform_dir = site / "tensorflow" / "python" / "platform"
    platform_dir.mkdir(parents=True)
    shutil.copy(DATA / "tensorflow" / "build_info-2.13-linux.py", platform_dir / "build_info.py")
    fw = cuda.probe([Package("tensorflow", "2.13.1")], [str(site)]).framework("tensorflow")
    assert fw is not None
    assert (fw.version, fw.cuda, fw.cudnn) == ("2.13.1", "12.1", "8")
    assert fw.arch_list[-1] == "compute_90"


def test_torch_cudnn_pin_from_metadata(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _torch_tree(site, "__version__ = '2.8.0+cu128'\ncuda: Optional[str] = '12.8'\n")
    dist = site / "torch-2.8.0+cu128.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: torch\nVersion: 2.8.0+cu128\n"
        'Requires-Dist: nvidia-cudnn-cu12==9.10.2.21; platform_system == "Linux"\n'
        "Requires-Dist: nvidia-cublas-cu12==12.8.4.1\n\nbody\n"
    )
    fw = cuda.probe([], [str(site)]).framework("torch")
    assert fw is not None
    assert fw.cudnn == "9.10.2.21"


def test_probe_does_not_import_frameworks(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _torch_tree(site, "raise SystemExit('torch/version.py was imported')\n__version__ = '9'\n")
    (site / "numpy").mkdir()
    (site / "numpy" / "__init__.py").write_text("raise SystemExit('numpy was imported')\n")
    code = (
        "import sys; from envsnap.probes import cuda, blas;"
        f"s = cuda.probe([], [{str(site)!r}]); blas.probe([], [{str(site)!r}]);"
        "print(s.framework('torch').version, 'torch' in sys.modules, 'numpy' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["9", "False", "False"]


@pytest.mark.slow
def test_real_cpu_torch_wheel(tmp_path: Path) -> None:
    wheels = sorted(Path("/opt/wheels").glob("torch-*+cpu-*.whl"))
    if not wheels:
        pytest.skip("no torch CPU wheel in /opt/wheels on this machine")
    wanted = {
        "torch/version.py",
        "torch/lib/libtorch_python.so",
        "torch/lib/libgomp.so.1",
        "torch/include/ATen/Config.h",
    }
    with zipfile.ZipFile(wheels[-1]) as whl:  # the files a CPU install puts there, byte for byte
        whl.extractall(tmp_path / "site", members=[n for n in whl.namelist() if n in wanted])
    site = str(tmp_path / "site")
    fw = cuda.probe([], [site]).framework("torch")
    assert fw is not None
    assert fw.version.endswith("+cpu")
    assert fw.cuda is None
    assert fw.arch_list == ()
    [info] = blas.probe([], [site])
    assert (info.owner, info.name) == ("torch", "mkl")


def test_nvcc_that_fails_is_not_recorded(tmp_path: Path) -> None:
    nvcc = tmp_path / "bin" / "nvcc"
    nvcc.write_text(f"#!{sys.executable}\nimport sys; sys.exit('nvcc: cannot find libnvvm')\n")
    nvcc.chmod(0o755)
    assert cuda.probe([], [str(_site(tmp_path))]).component("nvcc") is None
