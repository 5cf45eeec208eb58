"""--explain: re-run the job under candidate settings and name the ones that make runs agree.

The candidates come from what envsnap already knows: the determinism settings of
``knowledge/determinism.toml`` for the frameworks the job's interpreter has (at their installed
versions), and the remedies of the numerics checks (`envsnap.numerics.remedies`: thread counts,
TF32 off, torch's deterministic algorithms), most likely first. Each is tried alone until one
makes the runs agree, then all together when none alone is enough; a trial stops at the first
run that disagrees with the trial's first run: every trial costs runs of the user's job.
GPU-only settings are skipped on a machine without a GPU, framework switches for a command that
is not a Python command (the bootstrap cannot reach inside it), and both are named as skipped.
"""

from __future__ import annotations

from envsnap.numerics import remedies
from envsnap.numerics.remedies import Candidate

from .result import Explanation, Trial

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["candidates", "explain", "frameworks"]

THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_VERSIONS = (
    "import json, importlib.metadata as m\n"
    "out = {}\n"
    "for fw, dists in (('torch', ['torch']), ('tensorflow', ['tensorflow', 'tensorflow-cpu']),"
    " ('jax', ['jax'])):\n"
    "    for d in dists:\n"
    "        try:\n"
    "            out[fw] = m.version(d); break\n"
    "        except Exception:\n"
    "            pass\n"
    "print(json.dumps(out))\n"
)


def frameworks(python: str) -> dict[str, str]:
    """{framework: version} of torch, tensorflow and jax installed for *python* (read from
    their metadata: nothing is imported); {} when it cannot be asked."""
    from envsnap import _subprocess
    from envsnap.errors import InputError
    from envsnap.formats.capture import json_value

    done = _subprocess.run([python, "-c", _VERSIONS], timeout=60)
    try:
        found = json_value(done.stdout.strip().splitlines()[-1], python) if done.ok else {}
    except (InputError, IndexError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str)}


def candidates(
    *, python: bool, gpu: bool, installed: dict[str, str]
) -> tuple[list[Candidate], list[str]]:
    """(the settings to try, in order; the ones skipped here and why) for a job that is a
    Python command (*python*) with *installed* frameworks, on a machine with(out) a GPU."""
    from envsnap import knowledge

    out: list[Candidate] = []
    skipped: list[str] = []

    def add(cand: Candidate, *, needs_gpu: bool = False, switch: bool = False) -> None:
        if needs_gpu and not gpu:
            skipped.append(f"{cand.label} (no GPU here)")
        elif switch and not python:
            skipped.append(f"{cand.label} (not a Python command: switches cannot reach it)")
        else:
            out.append(cand)

    known = {"python": "0", **installed}
    if not python:  # which frameworks a shell script runs is unknown: their variables only
        known.update({"tensorflow": "2.7", "jax": "0"})
    settings = [s for fw, v in known.items() for s in knowledge.determinism_settings(fw, v)]
    for s in (s for s in settings if s["framework"] == "python" and "var" in s):
        add(remedies.variable(s["var"], str(s["value"])))
    threads = Candidate(", ".join(f"{v}=1" for v in THREADS), tuple((v, "1") for v in THREADS))
    add(threads)
    if "torch" in installed:
        add(remedies.torch_threads("1"), switch=True)
        add(remedies.DETERMINISTIC, switch=True)
        add(remedies.TF32_OFF, needs_gpu=True, switch=True)
    add(remedies.variable("NVIDIA_TF32_OVERRIDE", "0"), needs_gpu=True)
    for s in settings:
        if s["framework"] in ("python", "torch") or "var" not in s:
            continue
        add(remedies.variable(s["var"], str(s["value"])), needs_gpu=bool(s.get("gpu")))
    if any(s["framework"] == "tensorflow" and "call" in s and "var" not in s for s in settings):
        tf = Candidate(
            "tf.config.experimental.enable_op_determinism()", settings=(("tf_deterministic", True),)
        )
        add(tf, switch=True)
    if "torch" in installed and gpu:
        add(remedies.variable("CUBLAS_WORKSPACE_CONFIG", ":4096:8"))
    unique: dict[str, Candidate] = {}
    for cand in out:
        unique.setdefault(cand.label, cand)
    return list(unique.values()), skipped


def explain(
    cands: Sequence[Candidate], trial: Callable[[Candidate], Trial], skipped: Sequence[str]
) -> Explanation:
    """Try each candidate alone, in order, until one makes the runs agree (*trial* runs the job
    under it); when none does, all of them together. A trial costs runs of the user's job, so
    the search stops at the first verified fix and says how many were left untried."""
    trials: list[Trial] = []
    for cand in cands:
        trials.append(trial(cand))
        if trials[-1].agreed:
            left = len(cands) - len(trials)
            notes = (f"{left} more (a fix was found and verified first)",) if left else ()
            return Explanation(tuple(trials), (cand.label,), (*skipped, *notes))
    if len(cands) > 1:
        together = remedies.combine(cands)
        label = f"all together ({together.label})"
        trials.append(trial(Candidate(label, together.env, together.settings)))
        if trials[-1].agreed:
            return Explanation(tuple(trials), (trials[-1].label,), tuple(skipped))
    still: tuple[str, ...] = ()
    if trials:  # under everything at once, else under any
        still = trials[-1].still or tuple(sorted({p for t in trials for p in t.still}))
    return Explanation(tuple(trials), (), tuple(skipped), still)
