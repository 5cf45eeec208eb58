"""The numerics battery: run inside the *target* interpreter; prints one JSON object.

Like `envsnap.probes._target_script`, this file is run as ``PYTHON -c SOURCE CONFIG`` in the
interpreter whose numbers are in question, so it imports nothing from envsnap and only the
standard library plus numpy, torch, jax and tensorflow when they import (``typing`` only for
the type checker). CONFIG is a JSON object: ``{"only": [probe ids] | null, "settings":
{"torch_threads": N, "tf32": false, "deterministic": true}}``; environment variables (thread
counts, BLAS core type, ATen CPU capability) come from the parent, which sets them in the
subprocess environment.

Each framework has a table of probes, one row each: its name, its class, the function that
builds its inputs and returns ``(run, reference)``, and when it applies. Every probe builds its
inputs from a fixed seed, runs 3 times in-process (run-to-run determinism) and records the
sha256 of its output bytes, a fixed sample of output values as exact hex floats, and its error
against a float64-or-better reference on a fixed sample. Bump BATTERY_VERSION whenever a probe's
inputs, shapes, definition or order change: envsnap imports the constant to say which battery a
numerics.toml was recorded with. The runner puts `switches.py` before this text
(`apply_switches`: the settings a remedy asks for).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
import time

TYPE_CHECKING = False  # the target may be any Python 3.7+: typing is the type checker's only
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    Ref = Callable[[Any], Any]  # flat output indices -> reference values (longdouble or f64)
    Made = tuple[Callable[[], Any], Ref | None]  # (the computation, its reference or None)
    Out = tuple[bytes, Any, str, tuple[int, ...]]  # (raw bytes, flat float64, dtype, shape)
    ToNumpy = Callable[[Any, Any], Out]
    # (name, class, build(context, *args) -> Made, args, applies(context), extra settings)
    Row = tuple[
        str, str, Callable[..., Made], tuple[Any, ...], Callable[[Any], bool], dict[str, Any]
    ]

BATTERY_VERSION = "1"
RUNS = 3
SAMPLE = 32  # output values kept, as hex floats (what two machines compare in ulps)
ERR_SAMPLE = 256  # output values compared with the reference
GEMM = (257, 1031, 263)  # not multiples of any kernel's block size: edge paths run too
BIG = 1 << 20  # sums: enough elements that threads split the work
SOLVE = 160  # LAPACK: blocked (> 64) but small
MID = 1 << 18  # mean and cumsum: the same kernels' other paths, at a quarter of the cost
GRID = 1 << 16  # elementwise functions: a fixed grid of arguments
# The variables recorded with every probe: those of envsnap._envvars.ALLOWLIST that change how
# these frameworks compute (tests/numerics/test_battery.py holds the two lists together).
ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_VERBOSE",
    "MKL_CBWR",
    "MKL_ENABLE_INSTRUCTIONS",
    "NPY_DISABLE_CPU_FEATURES",
    "ATEN_CPU_CAPABILITY",
    "CUBLAS_WORKSPACE_CONFIG",
    "NVIDIA_TF32_OVERRIDE",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
    "CUDA_VISIBLE_DEVICES",
    "XLA_FLAGS",
    "TF_DETERMINISTIC_OPS",
    "TF_ENABLE_ONEDNN_OPTS",
)
# (name, function name, grid low, grid high): arguments where each function is well defined
LIBM = (
    ("exp", "exp", -20.0, 20.0),
    ("log", "log", 1e-3, 1e3),
    ("tanh", "tanh", -6.0, 6.0),
    ("pow", "pow", 0.01, 10.0),
    ("sin", "sin", -100.0, 100.0),
)


def _env() -> dict[str, str]:
    return {k: os.environ[k] for k in ENV_VARS if k in os.environ}


def _indices(n: int, count: int) -> list[int]:
    """A fixed spread of flat indices: first, last, and a multiplicative-hash scatter."""
    if n <= count:
        return list(range(n))
    picked = {0, n - 1}
    k = 1
    while len(picked) < count:
        picked.add((k * 2654435761) % n)
        k += 1
    return sorted(picked)


def _errors(np: Any, values: Any, ref: Any, dtype: str) -> tuple[float, float, int | None]:
    """(max abs, max rel, max ulps) of *values* against *ref* (longdouble), in *dtype*'s ulps."""
    ref = np.asarray(ref, dtype=np.longdouble)
    got = np.asarray(values, dtype=np.longdouble)
    diff = np.abs(got - ref)
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = np.abs(ref)
    nz = scale > 0
    max_rel = float((diff[nz] / scale[nz]).max()) if nz.any() else 0.0
    width = {"float64": 64, "float32": 32, "float16": 16}.get(dtype)
    if width is None:  # bfloat16, complex: ulps through float32 bits of the top half
        return max_abs, max_rel, None
    ftype = {64: np.float64, 32: np.float32, 16: np.float16}[width]
    itype = {64: np.int64, 32: np.int32, 16: np.int16}[width]

    def ordered(x: Any) -> Any:
        i = np.asarray(x, dtype=ftype).view(itype).astype(np.int64)
        mask = np.int64((1 << (width - 1)) - 1)
        return np.where(i < 0, -(i & mask), i)

    ulps = np.abs(ordered(np.asarray(values, dtype=ftype)) - ordered(ref.astype(ftype)))
    return max_abs, max_rel, int(ulps.max()) if ulps.size else 0


def _np_out(np: Any, out: Any) -> Out:
    out = np.ascontiguousarray(out)
    flat = out.ravel()
    if flat.dtype.kind == "c":  # complex: real and imaginary parts interleaved
        flat = flat.view(flat.real.dtype)
    return out.tobytes(), flat.astype(np.float64), str(out.dtype), out.shape


def _torch_out(np: Any, out: Any) -> Out:
    import torch

    t = out.detach().to("cpu").contiguous()
    shape = tuple(t.shape)
    if t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().tobytes()
        return raw, t.float().numpy().ravel().astype(np.float64), "bfloat16", shape
    arr = t.numpy()
    return (*_np_out(np, arr)[:2], str(arr.dtype), shape)


class Battery:
    """Runs probes, catching every failure as a result (a battery never dies of one probe)."""

    def __init__(self, np: Any, only: set[str] | None) -> None:
        self.np = np
        self.only = only
        self.probes: list[dict[str, Any]] = []

    def run_table(
        self,
        prefix: str,
        rows: Iterable[Row],
        context: Any,
        settings: Mapping[str, Any],
        to_numpy: ToNumpy = _np_out,
    ) -> None:
        """Run each row of *rows* that applies to *context*, as probe ``{prefix}.{name}``."""
        for name, klass, build, args, applies, extra in rows:
            if applies(context):
                make = functools.partial(build, context, *args)  # built when it runs
                self.run(f"{prefix}.{name}", klass, {**settings, **extra}, make, to_numpy)

    def run(
        self,
        probe_id: str,
        klass: str,
        settings: Mapping[str, Any],
        make: Callable[[], Made],
        to_numpy: ToNumpy = _np_out,
    ) -> None:
        """Run probe *probe_id*: ``make()`` returns ``(fn, ref)``; fn() is the computation and
        ref(idx) the reference values at flat indices idx (or None: no reference, e.g. RNG)."""
        if self.only is not None and probe_id not in self.only:
            return
        np = self.np
        framework, device = probe_id.split(".")[:2]
        rec: dict[str, Any] = {"id": probe_id, "framework": framework, "device": device}
        rec["class"] = klass
        rec["settings"] = dict(settings)
        start = time.perf_counter()
        try:
            fn, ref = make()
            digests = []
            for _ in range(RUNS):
                raw, flat, dtype, shape = to_numpy(np, fn())
                digests.append(hashlib.sha256(raw).hexdigest())
            rec.update(dtype=dtype, shape=list(shape), sha256=digests[0])
            rec["deterministic"] = len(set(digests)) == 1
            if not rec["deterministic"]:
                rec["run-sha256"] = digests
            keep = _indices(flat.size, SAMPLE)
            rec["sample-index"] = keep
            rec["sample"] = [float(v).hex() for v in flat[keep]]
            if ref is not None:
                idx = _indices(flat.size, ERR_SAMPLE)
                err = _errors(np, flat[idx], ref(np.asarray(idx)), dtype)
                rec["max-abs-error"], rec["max-rel-error"] = err[0], err[1]
                if err[2] is not None:
                    rec["max-ulps"] = err[2]
        except Exception as exc:  # a probe that fails here is a result, not a crash
            rec["error"] = f"{type(exc).__name__}: {exc}"[:300]
        rec["seconds"] = round(time.perf_counter() - start, 4)
        self.probes.append(rec)


def _always(context: Any) -> bool:
    return True


def probe(
    name: str,
    klass: str,
    build: Callable[..., Made],
    *args: Any,
    applies: Callable[[Any], bool] = _always,
    settings: dict[str, Any] | None = None,
) -> Row:
    """One row of a probe table: *build* makes the probe's inputs when it runs."""
    return (name, klass, build, args, applies, settings or {})


def _fsum(np: Any, x: Any) -> Any:
    """The sum of *x* in extended precision (x86: 64-bit mantissa), a better-than-float64
    reference at a fraction of math.fsum's cost over a million values."""
    return np.sum(np.asarray(x, dtype=np.longdouble))


# ---------------------------------------------------------------- inputs several frameworks share


def _gemm_inputs(np: Any, dtype: str) -> tuple[Any, Any]:
    rng = np.random.default_rng(1234)
    m, k, n = GEMM
    a = rng.standard_normal((m, k)).astype(getattr(np, dtype))
    return a, rng.standard_normal((k, n)).astype(getattr(np, dtype))


def _big_input(np: Any, dtype: str, size: int) -> Any:
    return np.random.default_rng(7).standard_normal(size).astype(getattr(np, dtype))


def _grid(np: Any, lo: float, hi: float, dtype: str) -> Any:
    return np.linspace(lo, hi, GRID).astype(getattr(np, dtype))


# ---------------------------------------------------------------- numpy (the context: numpy)


def _np_gemm(np: Any, dtype: str) -> Made:
    a, c = _gemm_inputs(np, dtype)
    ld = np.longdouble

    def ref(idx: Any) -> Any:
        i, j = np.divmod(idx, c.shape[1])
        return np.einsum("ij,ji->i", a[i].astype(ld), c[:, j].astype(ld))

    return (lambda: a @ c), ref


def _np_solve(np: Any) -> Made:
    ld = np.longdouble
    rng = np.random.default_rng(99)
    a = rng.standard_normal((SOLVE, SOLVE)) + SOLVE * np.eye(SOLVE)
    rhs = rng.standard_normal((SOLVE, 3))
    exact = np.linalg.solve(a.astype(np.float64), rhs)  # refined below in longdouble
    resid = rhs.astype(ld) - a.astype(ld) @ exact.astype(ld)
    better = exact.astype(ld) + np.linalg.solve(a, resid.astype(np.float64)).astype(ld)
    return (lambda: np.linalg.solve(a, rhs)), (lambda idx: better.ravel()[idx])


def _np_reduce(np: Any, dtype: str, op: str) -> Made:
    x = _big_input(np, dtype, BIG if op == "sum" else MID)
    if op == "sum":
        return (lambda: np.sum(x)), (lambda idx: np.array([_fsum(np, x)]))
    if op == "mean":
        return (lambda: np.mean(x)), (lambda idx: np.array([_fsum(np, x) / np.longdouble(x.size)]))
    full = np.cumsum(x.astype(np.longdouble))
    return (lambda: np.cumsum(x)), (lambda idx: full[idx])


def _np_libm(np: Any, fname: str, lo: float, hi: float, dtype: str) -> Made:
    x = _grid(np, lo, hi, dtype)
    ld = np.longdouble
    if fname == "pow":
        y = np.linspace(-3.0, 3.0, GRID).astype(getattr(np, dtype))
        return (lambda: np.power(x, y)), (
            lambda idx: np.power(x[idx].astype(ld), y[idx].astype(ld))
        )
    f = getattr(np, fname)
    return (lambda: f(x)), (lambda idx: f(x[idx].astype(ld)))


def _np_fft(np: Any) -> Made:
    x = np.random.default_rng(3).standard_normal(4096)
    full = np.fft.rfft(x.astype(np.float64))  # no longdouble FFT: float64 reference
    flat = full.view(np.float64)
    return (lambda: np.fft.rfft(x)), (lambda idx: flat[idx])


def _np_add_at(np: Any) -> Made:
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 1000, 200_000)
    vals = rng.standard_normal(200_000)

    def fn() -> Any:
        out = np.zeros(1000)
        np.add.at(out, idx, vals)
        return out

    exact = np.zeros(1000, dtype=np.longdouble)
    np.add.at(exact, idx, vals.astype(np.longdouble))
    return fn, (lambda i: exact[i])


def _np_rng(np: Any) -> Made:
    return (lambda: np.random.default_rng(0).standard_normal(1 << 14)), None


NUMPY_PROBES: tuple[Row, ...] = (
    probe("gemm-f64", "blas", _np_gemm, "float64"),
    probe("gemm-f32", "blas", _np_gemm, "float32"),
    probe("solve-f64", "lapack", _np_solve),
    probe("sum-f64", "reduce", _np_reduce, "float64", "sum"),
    probe("sum-f32", "reduce", _np_reduce, "float32", "sum"),
    probe("mean-f32", "reduce", _np_reduce, "float32", "mean"),
    probe("cumsum-f64", "reduce", _np_reduce, "float64", "cumsum"),
    *(
        probe(f"{name}-{tag}", "libm", _np_libm, fname, lo, hi, dtype)
        for name, fname, lo, hi in LIBM
        for tag, dtype in (("f64", "float64"), ("f32", "float32"))
    ),
    probe("rfft-f64", "fft", _np_fft),
    probe("add-at-f64", "scatter", _np_add_at),
    probe("rng-normal", "rng", _np_rng),
)


def _blas_threads() -> int:
    """The thread count of the BLAS numpy loaded, as threadpoolctl (or OpenBLAS) reports it."""
    pools = [p for p in _threadpools() or () if p.get("user-api") == "blas"]
    return int(max((p.get("threads") or 0) for p in pools)) if pools else -1


# ---------------------------------------------------------------- torch (the context: a device)


class TorchDevice:
    """What a torch probe builds on: numpy, torch and the device (``cpu``, ``cuda:0``)."""

    def __init__(self, np: Any, torch: Any, dev: str) -> None:
        self.np, self.torch, self.dev = np, torch, dev
        self.cuda = dev != "cpu"

    def randn(self, seed: int) -> Callable[..., Any]:
        """``randn(*shape, dtype=float32)`` drawing from one CPU generator seeded *seed*."""
        torch = self.torch
        g = torch.Generator().manual_seed(seed)
        return lambda *shape, dtype=torch.float32: torch.randn(*shape, generator=g).to(dtype)


def _has_bf16_tensor_cores(t: TorchDevice) -> bool:
    return t.cuda and bool(t.torch.cuda.get_device_capability(t.dev) >= (8, 0))


def _t_mm(t: TorchDevice, dtype: str, tf32: bool | None) -> Made:
    np, torch = t.np, t.torch
    ld = np.longdouble
    r = t.randn(1234)
    m, k, n = GEMM
    a, c = r(m, k).to(getattr(torch, dtype)), r(k, n).to(getattr(torch, dtype))
    al, cl = a.double().numpy().astype(ld), c.double().numpy().astype(ld)

    def ref(idx: Any) -> Any:
        i, j = np.divmod(idx, n)
        return np.einsum("ij,ji->i", al[i], cl[:, j])

    a, c = a.to(t.dev), c.to(t.dev)

    def fn() -> Any:
        if tf32 is None:
            return a @ c
        old = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        try:
            return a @ c
        finally:
            torch.backends.cuda.matmul.allow_tf32 = old

    return fn, ref


def _t_conv(t: TorchDevice, backward: bool) -> Made:
    torch = t.torch
    functional = torch.nn.functional
    r = t.randn(42)
    x, w = r(2, 16, 24, 24), r(24, 16, 3, 3)
    xd, wd = x.double().requires_grad_(), w.double().requires_grad_()
    out = functional.conv2d(xd, wd, padding=1)
    if backward:
        out.sum().backward()
        ref = torch.cat([xd.grad.ravel(), wd.grad.ravel()]).numpy()
    else:
        ref = out.detach().numpy().ravel()
    x, w = x.to(t.dev), w.to(t.dev)

    def fn() -> Any:
        xi, wi = x.clone().requires_grad_(backward), w.clone().requires_grad_(backward)
        y = functional.conv2d(xi, wi, padding=1)
        if not backward:
            return y
        y.sum().backward()
        return torch.cat([xi.grad.ravel(), wi.grad.ravel()])

    return fn, (lambda idx: ref[idx])


def _t_reduce(t: TorchDevice, op: str) -> Made:
    np, torch = t.np, t.torch
    x = t.randn(7)(BIG if op == "sum" else MID)
    if op == "cumsum":
        full = np.cumsum(x.numpy().astype(np.longdouble))
        x = x.to(t.dev)
        return (lambda: torch.cumsum(x, 0)), (lambda idx: full[idx])
    total = _fsum(np, x.numpy())
    size = x.numel()
    x = x.to(t.dev)
    if op == "mean":
        return x.mean, (lambda idx: np.array([total / np.longdouble(size)]))
    return x.sum, (lambda idx: np.array([total]))


def _t_norm(t: TorchDevice, kind: str) -> Made:
    functional = t.torch.nn.functional
    x = t.randn(11)(512, 1024)
    if kind == "softmax":
        ref = functional.softmax(x.double(), dim=-1).numpy().ravel()
        x = x.to(t.dev)
        return (lambda: functional.softmax(x, dim=-1)), (lambda idx: ref[idx])
    ref = functional.layer_norm(x.double(), (1024,)).numpy().ravel()
    x = x.to(t.dev)
    return (lambda: functional.layer_norm(x, (1024,))), (lambda idx: ref[idx])


def _t_libm(t: TorchDevice, fname: str, lo: float, hi: float) -> Made:
    np, torch = t.np, t.torch
    x = torch.linspace(lo, hi, GRID, dtype=torch.float64).float()
    ld = np.longdouble
    xs = x.numpy().astype(ld)
    if fname == "pow":
        y = torch.linspace(-3.0, 3.0, GRID, dtype=torch.float64).float()
        ys = y.numpy().astype(ld)
        x, y = x.to(t.dev), y.to(t.dev)
        return (lambda: torch.pow(x, y)), (lambda idx: np.power(xs[idx], ys[idx]))
    f, g = getattr(torch, fname), getattr(np, fname)
    x = x.to(t.dev)
    return (lambda: f(x)), (lambda idx: g(xs[idx]))


def _t_fft(t: TorchDevice) -> Made:
    np, torch = t.np, t.torch
    x = t.randn(3)(4096)
    ref = np.fft.rfft(x.double().numpy()).view(np.float64)
    x = x.to(t.dev)
    return (lambda: torch.view_as_real(torch.fft.rfft(x))), (lambda idx: ref[idx])


def _t_solve(t: TorchDevice) -> Made:
    np, torch = t.np, t.torch
    f64 = torch.float64
    r = t.randn(99)
    a = r(SOLVE, SOLVE, dtype=f64) + SOLVE * torch.eye(SOLVE, dtype=f64)
    rhs = r(SOLVE, 3, dtype=f64)
    ref = np.linalg.solve(a.numpy(), rhs.numpy()).ravel()
    return (lambda: torch.linalg.solve(a, rhs)), (lambda idx: ref[idx])


def _t_index_add(t: TorchDevice) -> Made:
    np, torch, dev = t.np, t.torch, t.dev
    g = torch.Generator().manual_seed(5)
    idx = torch.randint(0, 1000, (200_000,), generator=g)
    vals = torch.randn(200_000, generator=g)
    exact = np.zeros(1000, dtype=np.longdouble)
    np.add.at(exact, idx.numpy(), vals.numpy().astype(np.longdouble))
    idx, vals = idx.to(dev), vals.to(dev)
    return (lambda: torch.zeros(1000, device=dev).index_add_(0, idx, vals)), (lambda i: exact[i])


def _t_randn(t: TorchDevice) -> Made:
    torch, dev = t.torch, t.dev

    def fn() -> Any:  # the generator of that device, seeded as torch.manual_seed(0) seeds it
        g = torch.Generator(device=dev).manual_seed(0)
        return torch.randn(1 << 14, device=dev, generator=g)

    return fn, None


TORCH_PROBES: tuple[Row, ...] = (
    probe("mm-f64", "gemm", _t_mm, "float64", None),
    probe("mm-f32", "gemm", _t_mm, "float32", None),
    probe(
        "mm-f32-tf32",
        "gemm",
        _t_mm,
        "float32",
        True,
        applies=lambda t: t.cuda,
        settings={"matmul-tf32": True},
    ),
    probe("mm-f16", "gemm", _t_mm, "float16", None, applies=lambda t: t.cuda),
    probe("mm-bf16", "gemm", _t_mm, "bfloat16", None, applies=_has_bf16_tensor_cores),
    probe("conv2d-fwd-f32", "conv", _t_conv, False),
    probe("conv2d-bwd-f32", "conv", _t_conv, True),
    *(probe(f"{op}-f32", "reduce", _t_reduce, op) for op in ("sum", "mean", "cumsum")),
    probe("softmax-f32", "norm", _t_norm, "softmax"),
    probe("layer-norm-f32", "norm", _t_norm, "layer_norm"),
    *(probe(f"{name}-f32", "libm", _t_libm, fname, lo, hi) for name, fname, lo, hi in LIBM),
    probe("rfft-f32", "fft", _t_fft),
    probe("solve-f64", "lapack", _t_solve, applies=lambda t: not t.cuda),
    probe("index-add-f32", "scatter", _t_index_add),
    probe("rng-randn", "rng", _t_randn),
)


def _torch_settings(torch: Any, device: str) -> dict[str, Any]:
    s = {
        "threads": torch.get_num_threads(),
        "deterministic": bool(torch.are_deterministic_algorithms_enabled()),
        **_env(),
    }
    if device != "cpu":
        s["matmul-tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        s["cudnn-tf32"] = bool(torch.backends.cudnn.allow_tf32)
        s["cudnn-benchmark"] = bool(torch.backends.cudnn.benchmark)
        s["cudnn-deterministic"] = bool(torch.backends.cudnn.deterministic)
    return s


def torch_devices(torch: Any) -> list[tuple[str, str]]:
    """("cpu", "torch.cpu") and, per distinct CUDA GPU model, its first device and id prefix."""
    out = [("cpu", "torch.cpu")]
    if torch.cuda.is_available():
        seen: list[str] = []
        for i in range(torch.cuda.device_count()):
            name = torch.cuda.get_device_name(i)
            if name not in seen:
                seen.append(name)
                out.append((f"cuda:{i}", "torch.cuda" if len(seen) == 1 else f"torch.cuda{i}"))
    return out


# ---------------------------------------------------------------- jax, tensorflow
# The context: (numpy, the framework's array module); every computation returns numpy.


def _jax_dot(ctx: tuple[Any, Any]) -> Made:
    np, jnp = ctx
    a, c = _gemm_inputs(np, "float32")
    ref = (a.astype(np.float64) @ c.astype(np.float64)).ravel()
    return (lambda: np.asarray(jnp.dot(a, c))), (lambda idx: ref[idx])


def _jax_sum(ctx: tuple[Any, Any]) -> Made:
    np, jnp = ctx
    x = _big_input(np, "float32", BIG)
    return (lambda: np.asarray(jnp.sum(x))), (lambda idx: np.array([_fsum(np, x)]))


def _jax_exp(ctx: tuple[Any, Any]) -> Made:
    np, jnp = ctx
    g = _grid(np, -20.0, 20.0, "float32")
    return (lambda: np.asarray(jnp.exp(g))), (lambda idx: np.exp(g[idx].astype(np.longdouble)))


def _jax_rng(ctx: tuple[Any, Any]) -> Made:
    np, _ = ctx
    import jax

    return (lambda: np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1 << 14,)))), None


JAX_PROBES: tuple[Row, ...] = (
    probe("dot-f32", "gemm", _jax_dot),
    probe("sum-f32", "reduce", _jax_sum),
    probe("exp-f32", "libm", _jax_exp),
    probe("rng-normal", "rng", _jax_rng),
)


def _tf_matmul(ctx: tuple[Any, Any]) -> Made:
    np, tf = ctx
    a, c = _gemm_inputs(np, "float32")
    ref = (a.astype(np.float64) @ c.astype(np.float64)).ravel()
    return (lambda: tf.linalg.matmul(a, c).numpy()), (lambda idx: ref[idx])


def _tf_sum(ctx: tuple[Any, Any]) -> Made:
    np, tf = ctx
    x = _big_input(np, "float32", BIG)
    return (lambda: tf.reduce_sum(x).numpy()), (lambda idx: np.array([_fsum(np, x)]))


def _tf_rng(ctx: tuple[Any, Any]) -> Made:
    _, tf = ctx
    return (lambda: tf.random.stateless_normal((1 << 14,), seed=(0, 0)).numpy()), None


TENSORFLOW_PROBES: tuple[Row, ...] = (
    probe("matmul-f32", "gemm", _tf_matmul),
    probe("sum-f32", "reduce", _tf_sum),
    probe("rng-normal", "rng", _tf_rng),
)


# ---------------------------------------------------------------- dispatch facts


def _threadpools() -> list[dict[str, Any]] | None:
    """What threadpoolctl reports (library, version, kernel, threads), else an OpenBLAS read
    through ctypes, else None."""
    try:
        from threadpoolctl import threadpool_info
    except Exception:
        return _openblas_ctypes()
    out = []
    for info in threadpool_info():
        path = info.get("filepath") or ""
        owner = next((o for o in ("numpy", "scipy", "torch", "jax", "tensorflow") if o in path), "")
        out.append(
            {
                "user-api": str(info.get("user_api") or ""),
                "internal-api": str(info.get("internal_api") or ""),
                "library": os.path.basename(path),  # noqa: PTH119 - str in, str out
                "owner": owner,
                "version": str(info.get("version") or ""),
                "architecture": str(info.get("architecture") or ""),
                "threading-layer": str(info.get("threading_layer") or ""),
                "threads": int(info.get("num_threads") or 0),
            }
        )
    return sorted(out, key=lambda d: (d["owner"], d["library"]))


def _openblas_ctypes() -> list[dict[str, Any]] | None:
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln and ".so" in ln})
    except OSError:
        return None
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        fact: dict[str, Any] = {"user-api": "blas", "internal-api": "openblas"}
        fact["library"] = os.path.basename(path)  # noqa: PTH119 - str in, str out
        fact["owner"] = "numpy" if "numpy" in path else ""
        fact.update(_openblas_facts(lib))
        out.append(fact)
    return out


def _openblas_facts(lib: Any) -> dict[str, Any]:
    """Core type, version and threads from the OpenBLAS (or scipy-openblas) that *lib* is."""
    import ctypes

    fact: dict[str, Any] = {}
    for prefix in ("openblas", "scipy_openblas"):
        for suffix in ("", "64_"):
            core = getattr(lib, f"{prefix}_get_corename{suffix}", None)
            if core is None:
                continue
            core.restype = ctypes.c_char_p
            conf = getattr(lib, f"{prefix}_get_config{suffix}")
            conf.restype = ctypes.c_char_p
            fact["architecture"] = core().decode(errors="replace")
            fact["version"] = conf().decode(errors="replace").split()[1:2][0]
            fact["threads"] = int(getattr(lib, f"{prefix}_get_num_threads{suffix}")())
    return fact


def _cpu() -> dict[str, Any]:
    model = ""
    flags: list[str] = []
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    want = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "sve")
                    flags = [f for f in value.split() if f in want]
    except OSError:
        pass
    return {
        "model": model or platform.processor(),
        "isa": " ".join(sorted(flags)),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        "libc": " ".join(platform.libc_ver()).strip(),
        "python": platform.python_version(),
    }


def numpy_dispatch(np: Any) -> dict[str, Any]:
    d = {"version": np.__version__}
    try:
        simd = np.show_config(mode="dicts").get("SIMD Extensions", {})
        d["simd-baseline"] = " ".join(simd.get("baseline") or [])
        d["simd-found"] = " ".join(simd.get("found") or [])
    except Exception:  # numpy < 2 has no mode="dicts": the SIMD facts stay unknown
        d["simd-found"] = "unknown"
    return d


def torch_dispatch(torch: Any) -> dict[str, Any]:
    d = {
        "version": torch.__version__,
        "cpu-capability": str(torch.backends.cpu.get_cpu_capability()),
        "threads": torch.get_num_threads(),
        "interop-threads": torch.get_num_interop_threads(),
        "deterministic": bool(torch.are_deterministic_algorithms_enabled()),
        "float32-matmul-precision": torch.get_float32_matmul_precision(),
        "cuda": str(torch.version.cuda or ""),
    }
    if torch.version.cuda:
        d["cublas"] = _dist_version("nvidia-cublas-cu12", "nvidia-cublas", "nvidia-cublas-cu11")
    info = torch.__config__.parallel_info().splitlines()
    d["blas"] = next((ln.strip() for ln in info if "Math Kernel" in ln or "BLAS" in ln), "")
    if torch.cuda.is_available():
        d["cudnn"] = int(torch.backends.cudnn.version() or 0)
        d["matmul-tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        d["cudnn-tf32"] = bool(torch.backends.cudnn.allow_tf32)
        d["cudnn-benchmark"] = bool(torch.backends.cudnn.benchmark)
        d["cudnn-deterministic"] = bool(torch.backends.cudnn.deterministic)
    return d


def _dist_version(*names: str) -> str:
    """The installed version of the first of *names* (the pip packages that ship cuBLAS)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:
        return ""
    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return ""


def gpus(torch: Any) -> list[dict[str, Any]]:
    if torch is None or not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        cap = torch.cuda.get_device_capability(i)
        out.append(
            {
                "index": i,
                "name": str(p.name),
                "capability": f"{cap[0]}.{cap[1]}",
                "sms": int(p.multi_processor_count),
            }
        )
    return out


# ---------------------------------------------------------------- main


def _import(name: str) -> tuple[Any, dict[str, Any]]:
    t = time.perf_counter()
    try:
        module = __import__(name)
    except Exception as exc:  # ImportError, or a broken install raising anything
        return None, {"status": "missing", "reason": f"{type(exc).__name__}: {exc}"[:200]}
    return module, {"status": "ok", "import-seconds": round(time.perf_counter() - t, 3)}


def _apply_switches(settings: Mapping[str, Any]) -> None:
    """`apply_switches` of switches.py, which the runner puts before this text; run as a file
    (bench/), the battery imports it from beside itself."""
    switches: Any = globals().get("apply_switches")
    if switches is None:
        here = os.path.dirname(os.path.abspath(__file__))  # noqa: PTH100, PTH120 - no pathlib
        sys.path.insert(0, here)
        switches = __import__("switches").apply_switches
    switches(settings)


def _frameworks(np: Any, only: set[str] | None, found: dict[str, Any]) -> dict[str, Any]:
    """torch, jax and tensorflow, each imported when a probe of it is wanted (name -> module);
    whether each imported goes into *found*."""
    mods = {}
    for name in ("torch", "jax", "tensorflow"):
        wanted = only is None or any(p.startswith(name + ".") for p in only)
        if np is None:
            found[name] = {"status": "missing", "reason": "numpy is not importable"}
        elif wanted:
            mods[name], found[name] = _import(name)
    return mods


def _run_frameworks(b: Battery, np: Any, mods: Mapping[str, Any], dispatch: dict[str, Any]) -> None:
    torch = mods.get("torch")
    if torch is not None:
        dispatch["torch"] = torch_dispatch(torch)
        dispatch["gpus"] = gpus(torch)
        for dev, prefix in torch_devices(torch):
            settings = _torch_settings(torch, dev)
            b.run_table(prefix, TORCH_PROBES, TorchDevice(np, torch, dev), settings, _torch_out)
    jax = mods.get("jax")
    if jax is not None:
        dispatch["jax"] = {"version": jax.__version__}
        import jax.numpy as jnp

        b.run_table(f"jax.{jax.default_backend()}", JAX_PROBES, (np, jnp), {**_env()})
    tf = mods.get("tensorflow")
    if tf is not None:
        dispatch["tensorflow"] = {"version": tf.__version__}
        gpu = bool(tf.config.list_physical_devices("GPU"))
        s = {"tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()), **_env()}
        b.run_table(f"tensorflow.{'gpu' if gpu else 'cpu'}", TENSORFLOW_PROBES, (np, tf), s)


def main(argv: list[str]) -> dict[str, Any]:
    config = json.loads(argv[1]) if len(argv) > 1 else {}
    only = set(config["only"]) if config.get("only") else None
    settings = config.get("settings") or {}
    start = time.perf_counter()
    frameworks: dict[str, Any] = {}
    dispatch: dict[str, Any] = {"cpu": _cpu(), "env": _env()}
    result: dict[str, Any] = {
        "battery-version": BATTERY_VERSION,
        "frameworks": frameworks,
        "dispatch": dispatch,
    }
    np, frameworks["numpy"] = _import("numpy")
    mods = _frameworks(np, only, frameworks)
    b = Battery(np, only)
    work, work_cpu = time.perf_counter(), time.process_time()
    if np is not None:
        dispatch["numpy"] = numpy_dispatch(np)
        # read before the probes run, as the settings they ran under
        b.run_table("numpy.cpu", NUMPY_PROBES, np, {"blas-threads": _blas_threads(), **_env()})
    _apply_switches(settings)
    _run_frameworks(b, np, mods, dispatch)
    # read last: OpenBLAS and OpenMP start their thread pools on first use
    dispatch["threadpools"] = _threadpools()
    result["probes"] = b.probes
    result["seconds"] = round(time.perf_counter() - start, 3)
    result["work-seconds"] = round(time.perf_counter() - work, 3)
    # CPU time of all threads: steadier than wall time on a shared machine
    result["work-cpu-seconds"] = round(time.process_time() - work_cpu, 3)
    return result


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv)) + "\n")
