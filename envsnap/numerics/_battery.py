"""The numerics battery: run inside the *target* interpreter; prints one JSON object.

Like `envsnap.probes._target_script`, this file is run as ``PYTHON -c SOURCE CONFIG`` in the
interpreter whose numbers are in question, so it imports nothing from envsnap and only the
standard library plus numpy, torch, jax and tensorflow when they import. CONFIG is a JSON object:
``{"only": [probe ids] | null, "settings": {"torch_threads": N, "tf32": false,
"deterministic": true}}``; environment variables (thread counts, BLAS core type, ATen CPU
capability) come from the parent, which sets them in the subprocess environment.

Every probe builds its inputs from a fixed seed, runs 3 times in-process (run-to-run
determinism) and records the sha256 of its output bytes, a fixed sample of output values as
exact hex floats, and its error against a float64-or-better reference on a fixed sample.
The runner puts `_switches.py` before this text (`apply_switches`: the settings a remedy asks
for). Bump BATTERY_VERSION whenever a probe's inputs, shapes or definition change.
"""

import hashlib
import json
import os
import platform
import sys
import time

BATTERY_VERSION = "1"
RUNS = 3
SAMPLE = 32  # output values kept, as hex floats (what two machines compare in ulps)
ERR_SAMPLE = 256  # output values compared with the reference
GEMM = (257, 1031, 263)  # not multiples of any kernel's block size: edge paths run too
BIG = 1 << 20  # sums: enough elements that threads split the work
SOLVE = 160  # LAPACK: blocked (> 64) but small
MID = 1 << 18  # mean and cumsum: the same kernels' other paths, at a quarter of the cost
GRID = 1 << 16  # elementwise functions: a fixed grid of arguments
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


def _env() -> dict:
    return {k: os.environ[k] for k in ENV_VARS if k in os.environ}


def _indices(n, count):
    """A fixed spread of flat indices: first, last, and a multiplicative-hash scatter."""
    if n <= count:
        return list(range(n))
    picked = {0, n - 1}
    k = 1
    while len(picked) < count:
        picked.add((k * 2654435761) % n)
        k += 1
    return sorted(picked)


def _errors(np, values, ref, dtype):
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

    def ordered(x):
        i = np.asarray(x, dtype=ftype).view(itype).astype(np.int64)
        mask = np.int64((1 << (width - 1)) - 1)
        return np.where(i < 0, -(i & mask), i)

    ulps = np.abs(ordered(np.asarray(values, dtype=ftype)) - ordered(ref.astype(ftype)))
    return max_abs, max_rel, int(ulps.max()) if ulps.size else 0


class Battery:
    """Runs probes, catching every failure as a result (a battery never dies of one probe)."""

    def __init__(self, np, only, settings):
        self.np = np
        self.only = only
        self.settings = settings
        self.probes = []

    def wanted(self, probe_id):
        return self.only is None or probe_id in self.only

    def run(self, probe_id, klass, settings, make, to_numpy=None):
        """Run probe *probe_id*: ``make()`` returns ``(fn, ref)``; fn() is the computation and
        ref(idx) the reference values at flat indices idx (or None: no reference, e.g. RNG)."""
        if not self.wanted(probe_id):
            return
        np = self.np
        framework, device = probe_id.split(".")[:2]
        rec = {"id": probe_id, "framework": framework, "device": device, "class": klass}
        rec["settings"] = dict(settings)
        start = time.perf_counter()
        try:
            fn, ref = make()
            digests = []
            for _ in range(RUNS):
                raw, flat, dtype, shape = (to_numpy or _np_out)(np, fn())
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


def _np_out(np, out):
    out = np.ascontiguousarray(out)
    flat = out.ravel()
    if flat.dtype.kind == "c":  # complex: real and imaginary parts interleaved
        flat = flat.view(flat.real.dtype)
    return out.tobytes(), flat.astype(np.float64), str(out.dtype), out.shape


def _torch_out(np, out):
    import torch

    t = out.detach().to("cpu").contiguous()
    shape = tuple(t.shape)
    if t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().tobytes()
        return raw, t.float().numpy().ravel().astype(np.float64), "bfloat16", shape
    arr = t.numpy()
    return (*_np_out(np, arr)[:2], str(arr.dtype), shape)


# ---------------------------------------------------------------- numpy


def numpy_probes(b, np):
    ld = np.longdouble
    s = {"blas-threads": _blas_threads(), **_env()}

    def inputs(dtype):
        rng = np.random.default_rng(1234)
        m, k, n = GEMM
        return rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)

    def gemm(dtype):
        def make():
            a, c = inputs(dtype)

            def ref(idx):
                i, j = np.divmod(idx, c.shape[1])
                return np.einsum("ij,ji->i", a[i].astype(ld), c[:, j].astype(ld))

            return (lambda: a @ c), ref

        return make

    b.run("numpy.cpu.gemm-f64", "blas", s, gemm(np.float64))
    b.run("numpy.cpu.gemm-f32", "blas", s, gemm(np.float32))

    def solve():
        rng = np.random.default_rng(99)
        a = rng.standard_normal((SOLVE, SOLVE)) + SOLVE * np.eye(SOLVE)
        rhs = rng.standard_normal((SOLVE, 3))
        exact = np.linalg.solve(a.astype(np.float64), rhs)  # refined below in longdouble
        resid = rhs.astype(ld) - a.astype(ld) @ exact.astype(ld)
        better = exact.astype(ld) + np.linalg.solve(a, resid.astype(np.float64)).astype(ld)
        return (lambda: np.linalg.solve(a, rhs)), (lambda idx: better.ravel()[idx])

    b.run("numpy.cpu.solve-f64", "lapack", s, solve)

    def big(dtype, op):
        def make():
            x = np.random.default_rng(7).standard_normal(BIG if op == "sum" else MID).astype(dtype)
            if op == "sum":
                return (lambda: np.sum(x)), (lambda idx: np.array([_fsum(x)]))
            if op == "mean":
                return (lambda: np.mean(x)), (lambda idx: np.array([_fsum(x) / ld(x.size)]))
            full = np.cumsum(x.astype(ld))
            return (lambda: np.cumsum(x)), (lambda idx: full[idx])

        return make

    b.run("numpy.cpu.sum-f64", "reduce", s, big(np.float64, "sum"))
    b.run("numpy.cpu.sum-f32", "reduce", s, big(np.float32, "sum"))
    b.run("numpy.cpu.mean-f32", "reduce", s, big(np.float32, "mean"))
    b.run("numpy.cpu.cumsum-f64", "reduce", s, big(np.float64, "cumsum"))

    for name, f, lo, hi in _LIBM:
        for dt, tag in ((np.float64, "f64"), (np.float32, "f32")):
            b.run(f"numpy.cpu.{name}-{tag}", "libm", s, _np_libm(np, f, lo, hi, dt))

    def fft():
        x = np.random.default_rng(3).standard_normal(4096)
        full = np.fft.rfft(x.astype(np.float64))  # no longdouble FFT: float64 reference
        flat = full.view(np.float64)
        return (lambda: np.fft.rfft(x)), (lambda idx: flat[idx])

    b.run("numpy.cpu.rfft-f64", "fft", s, fft)

    def add_at():
        rng = np.random.default_rng(5)
        idx = rng.integers(0, 1000, 200_000)
        vals = rng.standard_normal(200_000)

        def fn():
            out = np.zeros(1000)
            np.add.at(out, idx, vals)
            return out

        exact = np.zeros(1000, dtype=ld)
        np.add.at(exact, idx, vals.astype(ld))
        return fn, (lambda i: exact[i])

    b.run("numpy.cpu.add-at-f64", "scatter", s, add_at)
    b.run(
        "numpy.cpu.rng-normal",
        "rng",
        s,
        lambda: ((lambda: np.random.default_rng(0).standard_normal(1 << 14)), None),
    )


# (name, function name, grid low, grid high): arguments where each function is well defined
_LIBM = (
    ("exp", "exp", -20.0, 20.0),
    ("log", "log", 1e-3, 1e3),
    ("tanh", "tanh", -6.0, 6.0),
    ("pow", "pow", 0.01, 10.0),
    ("sin", "sin", -100.0, 100.0),
)


def _np_libm(np, fname, lo, hi, dtype):
    def make():
        x = np.linspace(lo, hi, GRID).astype(dtype)
        ld = np.longdouble
        if fname == "pow":
            y = np.linspace(-3.0, 3.0, GRID).astype(dtype)
            return (lambda: np.power(x, y)), (
                lambda idx: np.power(x[idx].astype(ld), y[idx].astype(ld))
            )
        f = getattr(np, fname)
        return (lambda: f(x)), (lambda idx: f(x[idx].astype(ld)))

    return make


def _fsum(x):
    """The sum of *x* in extended precision (x86: 64-bit mantissa), a better-than-float64
    reference at a fraction of math.fsum's cost over a million values."""
    import numpy as np

    return np.sum(np.asarray(x, dtype=np.longdouble))


def _blas_threads():
    """The thread count of the BLAS numpy loaded, as threadpoolctl (or OpenBLAS) reports it."""
    pools = [p for p in _threadpools() or () if p.get("user-api") == "blas"]
    return max((p.get("threads") or 0) for p in pools) if pools else -1


# ---------------------------------------------------------------- torch


def _torch_settings(torch, device):
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


def torch_probes(b, np, torch, dev, prefix):
    """The torch probes on device *dev* ("cpu", "cuda:0"), ids ``{prefix}.<name>``."""
    s = _torch_settings(torch, dev)
    f64 = torch.float64
    ld = np.longdouble
    cuda = dev != "cpu"

    def gen(seed):
        g = torch.Generator().manual_seed(seed)
        return lambda *shape, dtype=torch.float32: torch.randn(*shape, generator=g).to(dtype)

    def run(name, klass, make, extra=None):
        b.run(f"{prefix}.{name}", klass, {**s, **(extra or {})}, make, _torch_out)

    def mm(dtype, tf32=None):
        def make():
            r = gen(1234)
            m, k, n = GEMM
            a, c = r(m, k).to(dtype), r(k, n).to(dtype)
            al, cl = a.double().numpy().astype(ld), c.double().numpy().astype(ld)

            def ref(idx):
                i, j = np.divmod(idx, n)
                return np.einsum("ij,ji->i", al[i], cl[:, j])

            a, c = a.to(dev), c.to(dev)

            def fn():
                if tf32 is None:
                    return a @ c
                old = torch.backends.cuda.matmul.allow_tf32
                torch.backends.cuda.matmul.allow_tf32 = tf32
                try:
                    return a @ c
                finally:
                    torch.backends.cuda.matmul.allow_tf32 = old

            return fn, ref

        return make

    run("mm-f64", "gemm", mm(f64))
    run("mm-f32", "gemm", mm(torch.float32))
    if cuda:
        run("mm-f32-tf32", "gemm", mm(torch.float32, tf32=True), {"matmul-tf32": True})
        run("mm-f16", "gemm", mm(torch.float16))
        if torch.cuda.get_device_capability(dev) >= (8, 0):
            run("mm-bf16", "gemm", mm(torch.bfloat16))

    def conv(backward):
        def make():
            r = gen(42)
            x, w = r(2, 16, 24, 24), r(24, 16, 3, 3)
            F = torch.nn.functional
            xd, wd = x.double().requires_grad_(), w.double().requires_grad_()
            out = F.conv2d(xd, wd, padding=1)
            if backward:
                out.sum().backward()
                ref = torch.cat([xd.grad.ravel(), wd.grad.ravel()]).numpy()
            else:
                ref = out.detach().numpy().ravel()
            x, w = x.to(dev), w.to(dev)

            def fn():
                xi, wi = x.clone().requires_grad_(backward), w.clone().requires_grad_(backward)
                y = F.conv2d(xi, wi, padding=1)
                if not backward:
                    return y
                y.sum().backward()
                return torch.cat([xi.grad.ravel(), wi.grad.ravel()])

            return fn, (lambda idx: ref[idx])

        return make

    run("conv2d-fwd-f32", "conv", conv(False))
    run("conv2d-bwd-f32", "conv", conv(True))

    def big(op):
        def make():
            x = gen(7)(BIG if op == "sum" else MID)
            xd = x.numpy().astype(np.longdouble)
            full = {"sum": None, "mean": None, "cumsum": np.cumsum(xd)}[op]
            total = _fsum(x.numpy())
            refs = {
                "sum": lambda idx: np.array([total]),
                "mean": lambda idx: np.array([total / np.longdouble(x.numel())]),
                "cumsum": lambda idx: full[idx],
            }
            x = x.to(dev)
            return (lambda: getattr(torch, op)(x, 0) if op == "cumsum" else getattr(x, op)()), refs[
                op
            ]

        return make

    for op in ("sum", "mean", "cumsum"):
        run(f"{op}-f32", "reduce", big(op))

    def norm(kind):
        def make():
            x = gen(11)(512, 1024)
            F = torch.nn.functional
            if kind == "softmax":
                ref = F.softmax(x.double(), dim=-1).numpy().ravel()
                x = x.to(dev)
                return (lambda: F.softmax(x, dim=-1)), (lambda idx: ref[idx])
            ref = F.layer_norm(x.double(), (1024,)).numpy().ravel()
            x = x.to(dev)
            return (lambda: F.layer_norm(x, (1024,))), (lambda idx: ref[idx])

        return make

    run("softmax-f32", "norm", norm("softmax"))
    run("layer-norm-f32", "norm", norm("layer_norm"))

    for name, fname, lo, hi in _LIBM:
        run(f"{name}-f32", "libm", _torch_libm(np, torch, dev, fname, lo, hi))

    def fft():
        x = gen(3)(4096)
        ref = np.fft.rfft(x.double().numpy()).view(np.float64)
        x = x.to(dev)
        return (lambda: torch.view_as_real(torch.fft.rfft(x))), (lambda idx: ref[idx])

    run("rfft-f32", "fft", fft)
    if not cuda:

        def solve():
            r = gen(99)
            a = r(SOLVE, SOLVE, dtype=f64) + SOLVE * torch.eye(SOLVE, dtype=f64)
            rhs = r(SOLVE, 3, dtype=f64)
            ref = np.linalg.solve(a.numpy(), rhs.numpy()).ravel()
            return (lambda: torch.linalg.solve(a, rhs)), (lambda idx: ref[idx])

        run("solve-f64", "lapack", solve)

    def index_add():
        g = torch.Generator().manual_seed(5)
        idx = torch.randint(0, 1000, (200_000,), generator=g)
        vals = torch.randn(200_000, generator=g)
        exact = np.zeros(1000, dtype=np.longdouble)
        np.add.at(exact, idx.numpy(), vals.numpy().astype(np.longdouble))
        idx, vals = idx.to(dev), vals.to(dev)
        return (lambda: torch.zeros(1000, device=dev).index_add_(0, idx, vals)), (
            lambda i: exact[i]
        )

    run("index-add-f32", "scatter", index_add)

    def randn():
        def fn():  # the generator of that device, seeded as torch.manual_seed(0) seeds it
            g = torch.Generator(device=dev).manual_seed(0)
            return torch.randn(1 << 14, device=dev, generator=g)

        return fn, None

    run("rng-randn", "rng", randn)


def _torch_libm(np, torch, dev, fname, lo, hi):
    def make():
        x = torch.linspace(lo, hi, GRID, dtype=torch.float64).float()
        ld = np.longdouble
        xs = x.numpy().astype(ld)
        if fname == "pow":
            y = torch.linspace(-3.0, 3.0, GRID, dtype=torch.float64).float()
            ys = y.numpy().astype(ld)
            x, y = x.to(dev), y.to(dev)
            return (lambda: torch.pow(x, y)), (lambda idx: np.power(xs[idx], ys[idx]))
        f, g = getattr(torch, fname), getattr(np, fname)
        x = x.to(dev)
        return (lambda: f(x)), (lambda idx: g(xs[idx]))

    return make


def torch_devices(torch):
    """("cpu", "torch.cpu") and, per distinct CUDA GPU model, its first device and id prefix."""
    out = [("cpu", "torch.cpu")]
    if torch.cuda.is_available():
        seen = []
        for i in range(torch.cuda.device_count()):
            name = torch.cuda.get_device_name(i)
            if name not in seen:
                seen.append(name)
                out.append((f"cuda:{i}", "torch.cuda" if len(seen) == 1 else f"torch.cuda{i}"))
    return out


# ---------------------------------------------------------------- jax, tensorflow


def jax_probes(b, np, jax):
    import jax.numpy as jnp

    platform_ = jax.default_backend()
    s = {**_env()}
    p = f"jax.{platform_}"
    m, k, n = GEMM
    rng = np.random.default_rng(1234)
    a = rng.standard_normal((m, k)).astype(np.float32)
    c = rng.standard_normal((k, n)).astype(np.float32)
    ref = (a.astype(np.float64) @ c.astype(np.float64)).ravel()
    b.run(
        f"{p}.dot-f32",
        "gemm",
        s,
        lambda: ((lambda: np.asarray(jnp.dot(a, c))), (lambda idx: ref[idx])),
    )
    x = np.random.default_rng(7).standard_normal(BIG).astype(np.float32)
    b.run(
        f"{p}.sum-f32",
        "reduce",
        s,
        lambda: ((lambda: np.asarray(jnp.sum(x))), (lambda idx: np.array([_fsum(x)]))),
    )
    g = np.linspace(-20.0, 20.0, GRID).astype(np.float32)
    b.run(
        f"{p}.exp-f32",
        "libm",
        s,
        lambda: (
            (lambda: np.asarray(jnp.exp(g))),
            (lambda idx: np.exp(g[idx].astype(np.longdouble))),
        ),
    )
    b.run(
        f"{p}.rng-normal",
        "rng",
        s,
        lambda: ((lambda: np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1 << 14,)))), None),
    )


def tensorflow_probes(b, np, tf):
    gpu = bool(tf.config.list_physical_devices("GPU"))
    p = f"tensorflow.{'gpu' if gpu else 'cpu'}"
    s = {"tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()), **_env()}
    m, k, n = GEMM
    rng = np.random.default_rng(1234)
    a = rng.standard_normal((m, k)).astype(np.float32)
    c = rng.standard_normal((k, n)).astype(np.float32)
    ref = (a.astype(np.float64) @ c.astype(np.float64)).ravel()
    b.run(
        f"{p}.matmul-f32",
        "gemm",
        s,
        lambda: ((lambda: tf.linalg.matmul(a, c).numpy()), (lambda idx: ref[idx])),
    )
    x = np.random.default_rng(7).standard_normal(BIG).astype(np.float32)
    b.run(
        f"{p}.sum-f32",
        "reduce",
        s,
        lambda: ((lambda: tf.reduce_sum(x).numpy()), (lambda idx: np.array([_fsum(x)]))),
    )
    b.run(
        f"{p}.rng-normal",
        "rng",
        s,
        lambda: ((lambda: tf.random.stateless_normal((1 << 14,), seed=(0, 0)).numpy()), None),
    )


# ---------------------------------------------------------------- dispatch facts


def _threadpools():
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
                "library": os.path.basename(path),
                "owner": owner,
                "version": str(info.get("version") or ""),
                "architecture": str(info.get("architecture") or ""),
                "threading-layer": str(info.get("threading_layer") or ""),
                "threads": int(info.get("num_threads") or 0),
            }
        )
    return sorted(out, key=lambda d: (d["owner"], d["library"]))


def _openblas_ctypes():
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
        fact = {"user-api": "blas", "internal-api": "openblas", "library": os.path.basename(path)}
        fact["owner"] = "numpy" if "numpy" in path else ""
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
        out.append(fact)
    return out


def _cpu():
    model, flags = "", []
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


def numpy_dispatch(np):
    d = {"version": np.__version__}
    try:
        simd = np.show_config(mode="dicts").get("SIMD Extensions", {})
        d["simd-baseline"] = " ".join(simd.get("baseline") or [])
        d["simd-found"] = " ".join(simd.get("found") or [])
    except Exception:  # numpy < 2 has no mode="dicts": the SIMD facts stay unknown
        d["simd-found"] = "unknown"
    return d


def torch_dispatch(torch):
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


def _dist_version(*names):
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


def gpus(torch):
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


def _import(name):
    t = time.perf_counter()
    try:
        module = __import__(name)
    except Exception as exc:  # ImportError, or a broken install raising anything
        return None, {"status": "missing", "reason": f"{type(exc).__name__}: {exc}"[:200]}
    return module, {"status": "ok", "import-seconds": round(time.perf_counter() - t, 3)}


def _apply_switches(settings):
    """`apply_switches` of _switches.py, which the runner puts before this text; run as a file
    (bench/), the battery imports it from beside itself."""
    switches = globals().get("apply_switches")
    if switches is None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _switches import apply_switches as switches
    switches(settings)


def main(argv):
    config = json.loads(argv[1]) if len(argv) > 1 else {}
    only = set(config["only"]) if config.get("only") else None
    settings = config.get("settings") or {}
    start = time.perf_counter()
    result = {"battery-version": BATTERY_VERSION, "frameworks": {}, "dispatch": {}}
    dispatch = result["dispatch"]
    dispatch["cpu"] = _cpu()
    dispatch["env"] = _env()
    np, result["frameworks"]["numpy"] = _import("numpy")
    mods = {}
    for name in ("torch", "jax", "tensorflow"):
        wanted = only is None or any(p.startswith(name + ".") for p in only)
        if np is None:
            result["frameworks"][name] = {"status": "missing", "reason": "numpy is not importable"}
        elif wanted:
            mods[name], result["frameworks"][name] = _import(name)
    b = Battery(np, only, settings)
    work, work_cpu = time.perf_counter(), time.process_time()
    if np is not None:
        dispatch["numpy"] = numpy_dispatch(np)
        numpy_probes(b, np)
    torch = mods.get("torch")
    if torch is not None:
        _apply_switches(settings)
        dispatch["torch"] = torch_dispatch(torch)
        dispatch["gpus"] = gpus(torch)
        for dev, prefix in torch_devices(torch):
            torch_probes(b, np, torch, dev, prefix)
    if mods.get("jax") is not None:
        dispatch["jax"] = {"version": mods["jax"].__version__}
        jax_probes(b, np, mods["jax"])
    if mods.get("tensorflow") is not None:
        dispatch["tensorflow"] = {"version": mods["tensorflow"].__version__}
        tensorflow_probes(b, np, mods["tensorflow"])
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
