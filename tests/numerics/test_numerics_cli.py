"""`capture --numerics`, `check --numerics`, `diff` and the API, run for real on this CPU.

"Another machine" is made with the libraries' own dispatch switches (thread counts, OpenBLAS's
core type), set only in the environment of the subprocesses these tests start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import envsnap
from envsnap.formats import numerics as fileformat
from tests.fakes.venvs import make_venv, site_packages

ROOT = Path(__file__).resolve().parents[2]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
TWO_THREADS = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}


def envsnap_cli(*args: str | Path, env: Mapping[str, str | None] | None = None) -> Any:
    """Run `python -m envsnap ARGS` with *env* applied (None unsets a variable)."""
    full = dict(os.environ, PYTHONPATH=str(ROOT))
    full.pop("PYTHONHASHSEED", None)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *map(str, args)],
        capture_output=True,
        text=True,
        env=full,
        timeout=900,
        check=False,
    )


def capture(out: Path, python: Path, env: Mapping[str, str | None] | None = None) -> Any:
    done = envsnap_cli("capture", "--offline", "--numerics", "--python", python, "-o", out, env=env)
    assert done.returncode == 0, done.stderr
    return done


def check_json(
    cap: Path, python: Path, env: Mapping[str, str | None] | None = None
) -> dict[str, Any]:
    done = envsnap_cli("check", cap, "--numerics", "--json", "--python", python, env=env)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def numerics_findings(envelope: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """probe id -> finding, for the numerics findings of a JSON envelope."""
    return {
        f["message"].split(":")[0]: f for f in envelope["findings"] if f["category"] == "numerics"
    }


@pytest.mark.slow
def test_same_machine_every_probe_matches_bit_for_bit(torch_python: Path, tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    done = capture(cap, torch_python)
    assert "probes (numpy, torch)" in done.stdout
    text = (cap / "numerics.toml").read_text()
    assert len(text.encode()) <= fileformat.MAX_BYTES
    recorded = fileformat.load(cap / "numerics.toml")
    assert len(recorded.probes) > 30 and all(not p.error for p in recorded.probes)
    assert all(p.deterministic for p in recorded.probes)
    report = envsnap.check(cap, python=str(torch_python), numerics=True)
    assert [f for f in report.findings if f.category == "numerics"] == []
    assert report.numerics is not None
    assert report.numerics.matched == report.numerics.compared == len(recorded.probes)
    assert report.numerics.recorded_digest == report.numerics.current_digest
    assert report.to_dict()["numerics"]["matched"] == len(recorded.probes)
    n = len(recorded.probes)
    diff = envsnap_cli("diff", cap, cap)
    assert f"numerics: {n} of {n} probes matched bit for bit" in diff.stdout


@pytest.mark.slow
def test_other_thread_counts_are_found_attributed_and_fixed(
    torch_python: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    capture(one, torch_python, ONE_THREAD)
    envelope = check_json(one, torch_python, TWO_THREADS)
    found = numerics_findings(envelope)
    gemm = found["numpy.cpu.gemm-f64"]
    assert gemm["severity"] == "warning" and gemm["code"] == "numerics.differs"
    assert "likely cause: numpy's BLAS threads: 1 -> 2" in gemm["message"]
    assert gemm["remedy"] == "OPENBLAS_NUM_THREADS=1 (verified here: it gives the recorded bits)"
    assert found["numpy.cpu.gemm-f32"]["remedy"].endswith(
        " (verified here: it gives the recorded bits)"
    )
    total = found["torch.cpu.sum-f32"]
    assert "torch threads: 1 -> 2" in total["message"]
    assert total["remedy"] == "torch.set_num_threads(1) (verified here: it gives the recorded bits)"
    assert "numpy.cpu.exp-f64" not in found and "numpy.cpu.rng-normal" not in found
    summary = envelope["numerics"]
    assert summary["differs"] == len(found) and summary["matched"] == summary["compared"] - len(
        found
    )
    # the same difference from two captures, without running anything
    capture(two, torch_python, TWO_THREADS)
    assert fileformat.load(two / "numerics.toml").fact("blas.numpy.threads") == "2"
    done = envsnap_cli("diff", one, two, "--json")
    diffed = numerics_findings(json.loads(done.stdout))
    assert set(diffed) == set(found)
    assert "envsnap check --numerics" in diffed["numpy.cpu.gemm-f64"]["remedy"]
    text = envsnap_cli("diff", one, two).stdout
    assert f"{summary['matched']} of {summary['compared']} probes matched bit for bit" in text


def _default_core(python: Path) -> str:
    code = "import numpy, threadpoolctl as t; print(t.threadpool_info()[0].get('architecture'))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=env, check=False
    )
    return out.stdout.strip()


@pytest.mark.slow
def test_another_openblas_kernel_is_found_and_the_coretype_switch_restores_it(
    torch_python: Path, tmp_path: Path
) -> None:
    if _default_core(torch_python) == "Haswell":
        pytest.skip("OpenBLAS picks the Haswell kernel on this CPU anyway: nothing to switch")
    cap = tmp_path / "cap"
    capture(cap, torch_python, {**ONE_THREAD, "OPENBLAS_CORETYPE": "Haswell"})
    assert fileformat.load(cap / "numerics.toml").fact("blas.numpy.architecture") == "Haswell"
    found = numerics_findings(
        check_json(cap, torch_python, {**ONE_THREAD, "OPENBLAS_CORETYPE": None})
    )
    gemm = found["numpy.cpu.gemm-f64"]
    assert "numpy's BLAS kernel (OpenBLAS core type): Haswell -> " in gemm["message"]
    assert gemm["remedy"] == "OPENBLAS_CORETYPE=Haswell (verified here: it gives the recorded bits)"
    assert not any(name.startswith("torch.") for name in found)


@pytest.mark.slow
def test_a_missing_framework_is_not_measurable(
    torch_python: Path, numpy_python: Path, tmp_path: Path
) -> None:
    cap = tmp_path / "cap"
    capture(cap, torch_python)
    found = numerics_findings(check_json(cap, numpy_python))
    torch_ones = {k: f for k, f in found.items() if k.startswith("torch.")}
    # one line for the framework, not one per probe (issue #18)
    assert list(torch_ones) == ["torch.cpu.*"]
    assert torch_ones["torch.cpu.*"]["severity"] == "info"
    assert "torch is not importable here" in torch_ones["torch.cpu.*"]["message"]
    assert torch_ones["torch.cpu.*"]["message"].endswith(" probes)")
    assert not [k for k, f in found.items() if f["severity"] != "info"]


def _envsnap_without_numpy(tmp_path: Path) -> Path:
    """An interpreter that runs envsnap (from this tree, with its own dependencies only) and
    imports neither numpy nor torch: a bare venv, with envsnap's dependencies linked in."""
    import importlib.util

    python = make_venv(tmp_path / "bare")
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in ("packaging", "cpuinfo", "tomli_w"):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        (deps / name).symlink_to(spec.submodule_search_locations[0])
    return python


@pytest.mark.slow
def test_without_python_the_battery_says_once_that_it_could_not_run(
    torch_python: Path, tmp_path: Path
) -> None:
    """`check DIR --numerics` in envsnap's own interpreter, where neither numpy nor torch
    imports: one finding that suggests --python, not a line per probe (issue #18)."""
    cap = tmp_path / "cap"
    capture(cap, torch_python)
    python = _envsnap_without_numpy(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(ROOT), str(tmp_path / "deps"))))
    env.pop("PYTHONHASHSEED", None)
    done = subprocess.run(
        [str(python), "-m", "envsnap", "check", str(cap), "--numerics"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if " numerics" in ln]
    assert len(lines) == 1, done.stdout
    assert "numerics.not-run" in lines[0]
    assert (
        "the numerics battery could not run here: numpy and torch do not import in " in (lines[0])
    )
    assert "fix: pass --python PATH" in done.stdout
    assert "not importable here" not in done.stdout


def _slow_numpy_venv(tmp_path: Path) -> Path:
    """A venv whose `import numpy` takes a minute: the battery cannot finish in time."""
    python = make_venv(tmp_path / "venv")
    (site_packages(python) / "numpy.py").write_text("import time\ntime.sleep(60)\n")
    return python


def test_a_battery_killed_by_its_time_limit_leaves_a_capture_that_says_so(tmp_path: Path) -> None:
    python, cap = _slow_numpy_venv(tmp_path), tmp_path / "cap"
    done = envsnap_cli(
        "capture",
        "--offline",
        "--numerics",
        "--numerics-timeout",
        "2",
        "--python",
        python,
        "-o",
        cap,
    )
    assert done.returncode == 0, done.stderr
    assert "did not finish within its time limit of 2 s" in done.stderr
    assert {p.name for p in cap.iterdir()} >= {"pylock.toml", "hardware.toml", "numerics.toml"}
    recorded = fileformat.load(cap / "numerics.toml")
    assert (recorded.complete, recorded.probes) == (False, ())
    envelope = check_json(cap, python)
    assert "numerics.incomplete" in {f["code"] for f in envelope["findings"]}
    as_json = envsnap_cli(
        "capture",
        "--offline",
        "--numerics",
        "--numerics-timeout",
        "1",
        "--json",
        "--python",
        python,
        "-o",
        cap,
    )
    summary = json.loads(as_json.stdout)["numerics"]
    assert (as_json.returncode, summary["complete"], summary["probes"]) == (0, False, 0)


def test_plain_check_imports_nothing_numerics_and_bad_input_is_one_line(tmp_path: Path) -> None:
    python, cap = _slow_numpy_venv(tmp_path), tmp_path / "cap"
    envsnap_cli(
        "capture",
        "--offline",
        "--numerics",
        "--numerics-timeout",
        "1",
        "--python",
        python,
        "-o",
        cap,
    )
    code = (
        "import contextlib, io, sys, envsnap.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    envsnap.cli.main(['check', {str(cap)!r}, '--python', {str(python)!r}])\n"
        "print(sorted(m for m in sys.modules if m.startswith('envsnap.numerics')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
    bad = envsnap_cli("check", cap, "--numerics", "--numerics-timeout", "soon")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--numerics-timeout: expected a positive number of seconds" in bad.stderr
    (cap / "numerics.toml").unlink()
    missing = envsnap_cli("check", cap, "--numerics", "--python", python)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"{cap / 'numerics.toml'}: not found" in missing.stderr


@pytest.mark.slow
def test_without_threadpoolctl_openblas_is_read_through_ctypes(
    torch_python: Path, tmp_path: Path
) -> None:
    from envsnap.numerics.runner import script_source

    shipped = tmp_path / "battery.py"  # the battery as the runner ships it, switches first
    shipped.write_text(script_source(ROOT / "envsnap/numerics/_battery.py"), encoding="utf-8")
    code = (
        "import json, sys\n"
        "sys.modules['threadpoolctl'] = None  # as if not installed\n"
        f"source = open({str(shipped)!r}).read()\n"
        "scope = {'__name__': 'battery'}\n"
        "exec(compile(source, 'battery', 'exec'), scope)\n"
        "print(json.dumps(scope['main'](['-', json.dumps({'only': ['numpy.cpu.gemm-f64']})])))\n"
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [str(torch_python), "-c", code], capture_output=True, text=True, env=env, check=False
    )
    result = json.loads(done.stdout)
    (pool,) = result["dispatch"]["threadpools"]
    assert pool["internal-api"] == "openblas" and pool["threads"] == 1 and pool["architecture"]
    assert result["probes"][0]["settings"]["blas-threads"] == 1
