"""Settings that may restore the recorded bits, and their proof: re-run the probe under each.

`candidates` is pure: from the facts that differ it proposes the settings a user can make
(thread counts, OpenBLAS core type, ATen CPU capability, TF32 off, deterministic algorithms,
an environment variable as recorded). `verify` re-runs only the differing probes under each
candidate in the target interpreter and keeps the first that gives the recorded bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from envsnap._record import Record, record

from .compare import ProbeComparison
from .model import Numerics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DETERMINISTIC",
    "TF32_OFF",
    "Candidate",
    "Verdict",
    "candidates",
    "combine",
    "fact_candidates",
    "torch_threads",
    "variable",
    "verify",
]

_TF32 = ("matmul-tf32", "cudnn-tf32")
_THREAD_VARS = {"openblas": "OPENBLAS_NUM_THREADS", "mkl": "MKL_NUM_THREADS"}


@record
class Candidate(Record):
    """A setting to try: environment changes (None: unset) and battery settings."""

    label: str
    env: tuple[tuple[str, str | None], ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()
    rank: int = 0  # tried in rank order: a library's own switch, a variable as recorded, all


@record
class Verdict(Record):
    """What re-running a probe under the candidates showed."""

    fixed_by: str = ""  # the label of the candidate that restored the bits, or ""
    tried: tuple[str, ...] = ()


def candidates(comp: ProbeComparison, recorded: Numerics, current: Numerics) -> list[Candidate]:
    """The settings worth trying for *comp* (a differing or nondeterministic probe)."""
    from envsnap._subprocess import accepted

    out = [
        *_numpy(comp, recorded, current),
        *_torch(comp, recorded, current),
        *_environment(comp),
    ]
    unique: dict[str, Candidate] = {}
    for cand in out:
        # A recorded value runs in a process on this machine only when the allow-list takes
        # that variable in that shape: a capture's PYTHONPATH or LD_PRELOAD is never tried.
        if all(accepted(name, value) for name, value in cand.env):
            unique.setdefault(cand.label, cand)
    return list(unique.values())


def variable(var: str, value: str | None) -> Candidate:
    """Set environment variable *var* to *value* (None: unset it)."""
    return Candidate(f"{var}={value}" if value else f"unset {var}", ((var, value),), rank=1)


def torch_threads(threads: str) -> Candidate:
    """``torch.set_num_threads(threads)``, applied before the code runs."""
    return Candidate(f"torch.set_num_threads({threads})", settings=(("torch_threads", threads),))


TF32_OFF = Candidate("TF32 off (allow_tf32 = False)", settings=(("tf32", False),))
DETERMINISTIC = Candidate(
    "torch.use_deterministic_algorithms(True), CUBLAS_WORKSPACE_CONFIG=:4096:8",
    env=(("CUBLAS_WORKSPACE_CONFIG", ":4096:8"),),
    settings=(("deterministic", True),),
)


def _blas(recorded: Numerics, current: Numerics) -> list[Candidate]:
    """numpy's BLAS thread count and OpenBLAS core type, as recorded."""
    out = []
    api = recorded.fact("blas.numpy.internal-api")
    threads = recorded.fact("blas.numpy.threads")
    if threads and threads != current.fact("blas.numpy.threads"):
        var = _THREAD_VARS.get(api, "OMP_NUM_THREADS")
        out.append(Candidate(f"{var}={threads}", env=((var, threads),)))
    core = recorded.fact("blas.numpy.architecture")
    if api == "openblas" and core and core != current.fact("blas.numpy.architecture"):
        out.append(Candidate(f"OPENBLAS_CORETYPE={core}", env=(("OPENBLAS_CORETYPE", core),)))
    return out


def _capability(recorded: Numerics, current: Numerics) -> list[Candidate]:
    cap = recorded.fact("torch.cpu-capability").lower()
    if cap and cap != current.fact("torch.cpu-capability").lower():
        return [Candidate(f"ATEN_CPU_CAPABILITY={cap}", env=(("ATEN_CPU_CAPABILITY", cap),))]
    return []


def _numpy(comp: ProbeComparison, recorded: Numerics, current: Numerics) -> list[Candidate]:
    if comp.recorded.framework != "numpy":
        return []
    return _blas(recorded, current)


def _torch(comp: ProbeComparison, recorded: Numerics, current: Numerics) -> list[Candidate]:
    probe = comp.recorded
    out: list[Candidate] = []
    if probe.framework != "torch":
        return out
    threads = probe.setting("threads")
    if threads.isdigit() and comp.current and comp.current.setting("threads") != threads:
        out.append(torch_threads(threads))
    if probe.device == "cpu":
        out.extend(_capability(recorded, current))
    if probe.device.startswith("cuda"):
        now = comp.current
        if now and any(probe.setting(k) == "false" != now.setting(k) for k in _TF32):
            out.append(TF32_OFF)
        if comp.status == "nondeterministic" or probe.kind in ("scatter", "conv"):
            out.append(DETERMINISTIC)
    return out


def _environment(comp: ProbeComparison) -> list[Candidate]:
    """Each environment variable the probe ran under, set back to its recorded value."""
    if comp.current is None:
        return []
    return _variables(dict(comp.recorded.settings), dict(comp.current.settings))


def _variables(old: dict[str, str], new: dict[str, str]) -> list[Candidate]:
    """Each upper-case name whose value differs, set back to *old*'s value (or unset)."""
    return [
        variable(var, old.get(var) or None)
        for var in sorted(k for k in old.keys() | new.keys() if k.isupper())
        if old.get(var, "") != new.get(var, "")
    ]


def fact_candidates(recorded: Numerics, current: Numerics) -> list[Candidate]:
    """The settings that could make *current*'s environment compute as *recorded*'s did, from
    their dispatch facts alone (no probe): two environments running one job (`repro`)."""
    out = [*_blas(recorded, current)]
    threads = recorded.fact("torch.threads")
    if threads.isdigit() and threads != current.fact("torch.threads"):
        out.append(torch_threads(threads))
    out.extend(_capability(recorded, current))
    if any(recorded.fact(f"torch.{k}") == "false" != current.fact(f"torch.{k}") for k in _TF32):
        out.append(TF32_OFF)
    env = "env."
    out.extend(
        _variables(
            {k[len(env) :]: v for k, v in recorded.dispatch if k.startswith(env)},
            {k[len(env) :]: v for k, v in current.dispatch if k.startswith(env)},
        )
    )
    unique: dict[str, Candidate] = {}
    for cand in out:
        unique.setdefault(cand.label, cand)
    return list(unique.values())


def combine(cands: Sequence[Candidate]) -> Candidate:
    env: dict[str, str | None] = {}
    settings: dict[str, Any] = {}
    for c in cands:
        env.update(c.env)
        settings.update(c.settings)
    return Candidate(
        " and ".join(c.label for c in cands), tuple(env.items()), tuple(settings.items()), rank=2
    )


Runner = Callable[..., Numerics]


def verify(
    comps: Sequence[ProbeComparison],
    recorded: Numerics,
    current: Numerics,
    run: Runner,
) -> dict[str, Verdict]:
    """Re-run each differing probe under its candidates; *run* is `runner.run_battery` with
    the interpreter and time limit bound (keywords ``only``, ``env``, ``settings``)."""
    todo = {c.id: c for c in comps if c.status in ("differs", "nondeterministic")}
    per_probe = {pid: candidates(c, recorded, current) for pid, c in todo.items()}
    fixed: dict[str, str] = {}
    tried: dict[str, list[str]] = {pid: [] for pid in todo}
    plans: list[tuple[Candidate, list[str]]] = []
    for pid, cands in per_probe.items():
        for cand in cands:
            match = next((p for p in plans if p[0] == cand), None)
            if match is None:
                plans.append((cand, [pid]))
            else:
                match[1].append(pid)
    combined: dict[Candidate, list[str]] = {}
    for pid, cands in per_probe.items():
        if len(cands) > 1:
            combined.setdefault(combine(cands), []).append(pid)
    plans.extend(combined.items())
    plans.sort(key=lambda plan: plan[0].rank)
    for cand, pids in plans:
        left = [p for p in pids if p not in fixed]
        if not left:
            continue
        result = run(only=left, env=dict(cand.env), settings=dict(cand.settings))
        for pid in left:
            tried[pid].append(cand.label)
            if _restored(todo[pid], result):
                fixed[pid] = cand.label
    return {pid: Verdict(fixed.get(pid, ""), tuple(tried[pid])) for pid in todo}


def _restored(comp: ProbeComparison, result: Numerics) -> bool:
    now = result.probe(comp.id)
    return bool(now and not now.error and now.deterministic and now.sha256 == comp.recorded.sha256)
