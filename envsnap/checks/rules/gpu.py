"""Rules on the GPUs: presence, driver loaded, count, model, architecture, SM count, MIG, ECC,
and whether the installed framework build ships kernels (or PTX) for each GPU."""

from __future__ import annotations

import re

from envsnap import knowledge
from envsnap.findings import Finding
from envsnap.knowledge import version_tuple
from envsnap.model import GPU, FrameworkBuild, Snapshot

from ._common import for_gpu, gpu_devices

__all__ = ["RULES", "arch_support", "framework_arch", "gpu_changes", "gpu_present"]

_ARCH = r"^(sm|compute)_(\d+)(\d)([af]?)$"  # compiled by `re` on first use


def cc_of(gpu: GPU) -> str:
    """The compute capability NVML reported, or the one known for the model name."""
    return gpu.compute_capability or knowledge.compute_capability(gpu.name) or ""


def _targets(arch_list: tuple[str, ...]) -> list[tuple[str, int, int, str]]:
    out: list[tuple[str, int, int, str]] = []
    for raw in arch_list:
        entry = raw.strip()
        if "." in entry:  # TORCH_CUDA_ARCH_LIST style: "8.6" or "8.6+PTX"
            ptx = entry.upper().endswith("+PTX")
            parts = version_tuple(entry.split("+")[0])
            if len(parts) >= 2:
                out.append(("sm", parts[0], parts[1], ""))
                if ptx:
                    out.append(("compute", parts[0], parts[1], ""))
            continue
        m = re.match(_ARCH, entry)
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return out


def arch_support(cc: str, arch_list: tuple[str, ...]) -> str | None:
    """How a GPU of compute capability *cc* runs a build for *arch_list*.

    ``"cubin"``: a binary for the same major version and an equal or lower minor (``sm_XYa``
    only on exactly X.Y); ``"ptx"``: only PTX for an equal or lower CC, JIT-compiled at load;
    None: no kernel image for the device (cudaErrorNoKernelImageForDevice, 209).
    """
    parts = version_tuple(cc)
    if len(parts) < 2:
        return "cubin"  # unknown CC: nothing to say
    major, minor = parts[0], parts[1]
    ptx = False
    for kind, x, y, suffix in _targets(arch_list):
        exact = (x, y) == (major, minor)
        if kind == "sm" and (exact or (suffix != "a" and x == major and y <= minor)):
            return "cubin"
        if kind == "compute" and (exact or (suffix != "a" and (x, y) <= (major, minor))):
            ptx = True
    return "ptx" if ptx else None


def _arch_list(fw: FrameworkBuild) -> tuple[str, ...]:
    if fw.arch_list:
        return fw.arch_list
    if fw.name == "torch" and fw.cuda:
        return knowledge.torch_arch_list(fw.version, fw.cuda)
    return ()


def framework_arch(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Each current GPU's compute capability must be among the framework build's architectures.

    Error: a CUDA framework build has neither a binary nor PTX for a GPU here (no kernel image
    for the device); a warning when only PTX fits (JIT-compiled at load, other code).
    """
    frameworks = {fw.name: fw for fw in recorded.environment.cuda.frameworks}
    frameworks.update({fw.name: fw for fw in current.environment.cuda.frameworks})
    ccs = sorted({(cc_of(g), g.name) for g in gpu_devices(current) if cc_of(g)})
    found: list[Finding] = []
    for fw in sorted(frameworks.values(), key=lambda f: f.name):
        arch = _arch_list(fw)
        if not arch:
            continue
        for cc, name in ccs:
            how = arch_support(cc, arch)
            label = f"{fw.name} {fw.version}"
            if how is None:
                found.append(
                    Finding(
                        "error",
                        "gpu",
                        "gpu.arch-unsupported",
                        f"{label} has no kernels for {name} (compute capability {cc}):"
                        " no kernel image is available for execution on the device",
                        " ".join(arch),
                        f"sm_{cc.replace('.', '')}",
                        f"install a {fw.name} build whose arch list covers {cc}",
                    )
                )
            elif how == "ptx":
                found.append(
                    Finding(
                        "warning",
                        "gpu",
                        "gpu.ptx-jit",
                        f"{label} runs on {name} ({cc}) only through PTX JIT: slow "
                        "first start, other generated code",
                        " ".join(arch),
                        f"sm_{cc.replace('.', '')}",
                        f"install a {fw.name} build with sm_{cc.replace('.', '')} kernels",
                    )
                )
    return found


def gpu_present(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """The recording had GPUs: the current machine must have them, with the driver loaded.

    Error: no GPU, or a driver NVML cannot use, when the capture runs CUDA code (a CUDA
    framework build or a CUDA library it loads); info when nothing in it uses the GPU.
    """
    return for_gpu(_present(recorded, current), recorded)


def _present(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    if not gpu_devices(recorded):
        if gpu_devices(current):
            return [
                Finding(
                    "info",
                    "gpu",
                    "gpu.added",
                    "GPUs present that the capture did not have",
                    "none",
                    f"{len(gpu_devices(current))} GPU(s)",
                    "",
                )
            ]
        return []
    count = len(gpu_devices(recorded))
    hw = current.hardware
    if hw is None:
        return []  # no hardware.toml on that side: unknown, not "no GPU"
    status = hw.gpus.status
    reason = hw.gpus.reason or ("NVML sees no GPU" if status == "ok" else status)
    if status == "unavailable":
        return [
            Finding(
                "error",
                "driver",
                "driver.not-loaded",
                f"the NVIDIA driver is not usable: {reason}",
                f"{count} GPU(s)",
                f"NVML unavailable ({reason})",
                "load the NVIDIA kernel module (modprobe nvidia) or check nvidia-smi",
            )
        ]
    if not gpu_devices(current):
        return [
            Finding(
                "error",
                "gpu",
                "gpu.missing",
                "the capture ran on GPUs and this machine has none",
                f"{count} GPU(s)",
                f"none ({reason})",
                "run on a machine with the recorded GPUs",
            )
        ]
    return []


def _summary(gpus: tuple[GPU, ...], key: str) -> str:
    values = sorted({str(getattr(g, key)) for g in gpus})
    return ", ".join(values)


def gpu_changes(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another count, model, architecture, SM count or MIG mode: results may differ (warning).

    Never an error (`framework_arch` says when there is no kernel for a GPU); info when
    nothing in the capture uses the GPU.
    """
    return for_gpu(_changes(recorded, current), recorded)


def _changes(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    rec, cur = gpu_devices(recorded), gpu_devices(current)
    if not rec or not cur:
        return []
    found: list[Finding] = []
    if len(rec) != len(cur):
        found.append(
            Finding(
                "warning",
                "gpu",
                "gpu.count",
                "another GPU count: data-parallel sharding and all-reduce order change",
                str(len(rec)),
                str(len(cur)),
                f"run on {len(rec)} GPU(s) (CUDA_VISIBLE_DEVICES, world size)",
            )
        )
    rec_cc = sorted({cc_of(g) for g in rec})
    cur_cc = sorted({cc_of(g) for g in cur})
    if rec_cc != cur_cc:
        rec_arch = ", ".join(f"{knowledge.arch_name(c) or '?'} {c}" for c in rec_cc)
        cur_arch = ", ".join(f"{knowledge.arch_name(c) or '?'} {c}" for c in cur_cc)
        found.append(
            Finding(
                "warning",
                "gpu",
                "gpu.arch-changed",
                "another GPU architecture: cuBLAS/cuDNN pick other kernels, results "
                "are not bitwise reproducible across architectures",
                rec_arch,
                cur_arch,
                f"run on {_summary(rec, 'name')}",
            )
        )
    elif _summary(rec, "name") != _summary(cur, "name"):
        found.append(
            Finding(
                "warning",
                "gpu",
                "gpu.model-changed",
                "another GPU model: cuBLAS is reproducible only on the same model",
                _summary(rec, "name"),
                _summary(cur, "name"),
                f"run on {_summary(rec, 'name')}",
            )
        )
    elif _summary(rec, "multiprocessor_count") != _summary(cur, "multiprocessor_count"):
        found.append(
            Finding(
                "warning",
                "gpu",
                "gpu.sm-count",
                "another SM count: cuBLAS results depend on the number of SMs",
                _summary(rec, "multiprocessor_count"),
                _summary(cur, "multiprocessor_count"),
                "use the recorded GPU model",
            )
        )
    found += _modes(rec, cur)
    return found


def _modes(rec: tuple[GPU, ...], cur: tuple[GPU, ...]) -> list[Finding]:
    found: list[Finding] = []
    rec_mig, cur_mig = _summary(rec, "mig_mode"), _summary(cur, "mig_mode")
    if rec_mig != cur_mig and "None" not in (rec_mig, cur_mig):
        found.append(
            Finding(
                "warning",
                "gpu",
                "gpu.mig",
                "MIG mode changed: a MIG slice has fewer SMs and less memory",
                f"mig {rec_mig}",
                f"mig {cur_mig}",
                "nvidia-smi -mig 0|1 to match the capture",
            )
        )
    rec_ecc, cur_ecc = _summary(rec, "ecc_mode"), _summary(cur, "ecc_mode")
    if rec_ecc != cur_ecc and "None" not in (rec_ecc, cur_ecc):
        found.append(
            Finding(
                "info",
                "gpu",
                "gpu.ecc",
                "ECC mode changed: usable memory differs, numbers do not",
                f"ecc {rec_ecc}",
                f"ecc {cur_ecc}",
                "nvidia-smi -e 0|1",
            )
        )
    return found


RULES = (gpu_present, gpu_changes, framework_arch)
