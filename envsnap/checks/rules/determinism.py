"""Rules on nondeterminism settings: recorded variables, variables a deterministic run needs,
and TF32 behaviour by framework version and GPU generation."""

from __future__ import annotations

from envsnap import knowledge
from envsnap.findings import Finding
from envsnap.model import Environment, Snapshot

from ._common import envvars, framework_versions, gpu_devices, has_gpus, sh
from .blas import THREAD_VARS
from .gpu import cc_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["RULES", "effective_tf32", "needed", "needed_settings", "recorded_vars", "tf32"]


def needed(env: Environment, *, gpu: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    """Variable → (framework, setting) that a deterministic run of *env*'s frameworks needs
    (settings for GPUs only with *gpu*); the first framework by name that asks for a variable
    names it. Empty when *env* has no numeric framework. The check's rules and the report's
    determinism box both ask this."""
    frameworks = framework_versions(env)
    if not frameworks:
        return {}
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, version in sorted({"python": "0", **frameworks}.items()):
        for setting in knowledge.determinism_settings(name, version):
            var = setting.get("var")
            if var and (gpu or not setting.get("gpu")):
                out.setdefault(var, (name, setting))
    return out


def _needed(recorded: Snapshot, current: Snapshot) -> dict[str, dict[str, Any]]:
    """Variable → the setting a deterministic run of the recorded frameworks needs."""
    gpu = has_gpus(recorded) or has_gpus(current)
    return {var: setting for var, (_, setting) in needed(recorded.environment, gpu=gpu).items()}


def recorded_vars(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A variable the recorded run had that is missing or different now: warning. One set now
    that the recorded run did not have: info (it may be what makes the run differ), and when
    it holds the value a deterministic run needs, the remedy is to capture again, not to unset
    what `determinism.not-set` asked for. Never an error: the variables change numbers, not
    whether the job runs."""
    rec, cur = envvars(recorded.environment), envvars(current.environment)
    needed = _needed(recorded, current)
    found: list[Finding] = []
    for var in sorted(set(rec) | set(cur)):
        if var in THREAD_VARS or rec.get(var) == cur.get(var):
            continue
        if var not in cur:
            found.append(
                Finding(
                    "warning",
                    "determinism",
                    "determinism.missing-var",
                    f"{var} was set in the recorded run and is not set now",
                    rec[var],
                    "unset",
                    f"export {var}={sh(rec[var])}",
                )
            )
        elif var in rec:
            found.append(
                Finding(
                    "warning",
                    "determinism",
                    "determinism.changed-var",
                    f"{var} differs from the recorded run",
                    rec[var],
                    cur[var],
                    f"export {var}={sh(rec[var])}",
                )
            )
        elif var in needed and cur[var] == str(needed[var]["value"]):
            found.append(
                Finding(
                    "info",
                    "determinism",
                    "determinism.new-var",
                    f"{var} is set now as a deterministic run needs; the recorded run did not "
                    "have it",
                    "unset",
                    cur[var],
                    "keep it, and capture again so that the spec records it",
                )
            )
        else:
            found.append(
                Finding(
                    "info",
                    "determinism",
                    "determinism.new-var",
                    f"{var} is set now but was not in the recorded run",
                    "unset",
                    cur[var],
                    f"unset {var}",
                )
            )
    return found


def needed_settings(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Settings a deterministic run of the installed frameworks needs that neither run set: info.
    Never an error or warning: both runs are alike, so nothing here differs from the capture."""
    rec, cur = envvars(recorded.environment), envvars(current.environment)
    found: list[Finding] = []
    for var, setting in _needed(recorded, current).items():
        if var in rec or var in cur:
            continue
        remedy = f"export {var}={sh(setting['value'])}"
        if setting.get("call"):
            remedy += f" and call {setting['call']}"
        found.append(
            Finding(
                "info",
                "determinism",
                "determinism.not-set",
                f"{var} is not set: {setting['why']}",
                setting["value"],
                "unset",
                remedy,
            )
        )
    return found


def effective_tf32(snap: Snapshot, framework: str, version: str) -> dict[str, bool]:
    """Op → whether *framework* uses TF32 in *snap*: the GPU must be Ampere or later, then the
    framework default applies unless an override variable forces it."""
    ccs = {cc_of(g) for g in gpu_devices(snap)}
    tf32_gpu = any(cc and knowledge.supports_tf32(cc) for cc in ccs)
    defaults = knowledge.tf32_defaults(framework, version)
    variables = envvars(snap.environment)
    out: dict[str, bool] = {}
    for op, on in defaults.items():
        value = on
        for override in knowledge.tf32_overrides():
            if framework in override["applies"] and variables.get(override["var"]) == str(
                override["value"]
            ):
                value = bool(override["tf32"])
        out[op] = tf32_gpu and value
    return out


def tf32(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """TF32 on in one run and off in the other (framework version x GPU generation x overrides):
    matmuls/convolutions round inputs to 10 mantissa bits, so results differ (warning).
    Never an error: the job runs."""
    rec_fw, cur_fw = (
        framework_versions(recorded.environment),
        framework_versions(current.environment),
    )
    if not (has_gpus(recorded) and has_gpus(current)):
        return []  # GPU vs no GPU is already an error (gpu.missing), not a precision question
    found: list[Finding] = []
    for name in sorted(set(rec_fw) & set(cur_fw)):
        before = effective_tf32(recorded, name, rec_fw[name])
        after = effective_tf32(current, name, cur_fw[name])
        changed = sorted(op for op in set(before) & set(after) if before[op] != after[op])
        if not changed:
            continue
        fmt = {True: "TF32", False: "FP32"}
        found.append(
            Finding(
                "warning",
                "determinism",
                "determinism.tf32",
                f"{name} {'/'.join(changed)} use TF32 in one run and full FP32 in the "
                "other (framework default x GPU generation)",
                ", ".join(f"{op} {fmt[before[op]]}" for op in changed),
                ", ".join(f"{op} {fmt[after[op]]}" for op in changed),
                "export NVIDIA_TF32_OVERRIDE=0 on both, or set the framework's TF32 "
                "flags explicitly (torch.backends.cuda.matmul.allow_tf32)",
            )
        )
    return found


RULES = (recorded_vars, needed_settings, tf32)
