"""The determinism-relevant environment variables envsnap records, and what each controls.

A leaf (no envsnap import): the probe reads the environment through it, the check engine quotes
its descriptions, and the Dockerfile renderer refuses any other name in a lock.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALLOWLIST", "DESCRIPTIONS"]

# What each variable controls; the check engine quotes these in its remedies. Sources: NVIDIA
# cuBLAS/cuDNN/NCCL docs, PyTorch/TensorFlow/XLA reproducibility notes, OpenBLAS/MKL/NumPy docs.
DESCRIPTIONS: Mapping[str, str] = {
    "PYTHONHASHSEED": "seed of str/bytes hashing: set iteration order and anything derived from it",
    "CUBLAS_WORKSPACE_CONFIG": "cuBLAS workspace size; ':4096:8' or ':16:8' makes cuBLAS "
    "deterministic with several streams (required by torch.use_deterministic_algorithms)",
    "NVIDIA_TF32_OVERRIDE": "'0' disables TF32 tensor-core math in all CUDA libraries (Ampere+)",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "'1' forces TF32 for torch cuBLAS matmuls (set in NGC "
    "containers)",
    "TORCH_CUDNN_V8_API_DISABLED": "disables torch's cuDNN v8 frontend API (other conv algorithms)",
    "TORCH_DETERMINISTIC": "project convention asking torch for deterministic algorithms",
    "CUDNN_DETERMINISTIC": "project convention asking for deterministic cuDNN algorithms",
    "TF_DETERMINISTIC_OPS": "'1' makes TensorFlow 2.1-2.7 GPU ops deterministic",
    "TF_CUDNN_DETERMINISTIC": "'1' makes TensorFlow 1.14-2.0 cuDNN algorithms deterministic",
    "TF_ENABLE_ONEDNN_OPTS": "TensorFlow oneDNN CPU kernels; changes floating-point rounding",
    "TF_CUDNN_USE_AUTOTUNE": "'0' disables TensorFlow cuDNN autotuning (algorithm choice)",
    "TF_GPU_ALLOCATOR": "TensorFlow GPU memory allocator",
    "XLA_FLAGS": "XLA compiler flags, e.g. --xla_gpu_deterministic_ops=true for JAX/TF",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "JAX GPU memory preallocation",
    "XLA_PYTHON_CLIENT_MEM_FRACTION": "fraction of GPU memory JAX preallocates",
    "JAX_ENABLE_X64": "JAX 64-bit floats by default",
    "JAX_DEFAULT_MATMUL_PRECISION": "JAX matmul precision (TF32/bf16 passes on GPUs)",
    "OMP_NUM_THREADS": "OpenMP thread count: changes how CPU reductions are partitioned",
    "MKL_NUM_THREADS": "Intel MKL thread count: changes CPU reduction order",
    "OPENBLAS_NUM_THREADS": "OpenBLAS thread count: changes CPU reduction order",
    "NUMEXPR_NUM_THREADS": "numexpr thread count",
    "VECLIB_MAXIMUM_THREADS": "Apple Accelerate (vecLib) thread count",
    "OMP_DYNAMIC": "lets OpenMP change the thread count at run time",
    "KMP_AFFINITY": "Intel OpenMP thread pinning",
    "MKL_CBWR": "MKL conditional numerical reproducibility, e.g. AVX2[,STRICT] or COMPATIBLE",
    "MKL_ENABLE_INSTRUCTIONS": "caps the instruction set MKL dispatches to (e.g. AVX2)",
    "MKL_DEBUG_CPU_TYPE": "forces MKL's code path on non-Intel CPUs (older MKL)",
    "MKL_THREADING_LAYER": "MKL threading runtime (INTEL, GNU, SEQUENTIAL, TBB)",
    "OPENBLAS_CORETYPE": "pins OpenBLAS DYNAMIC_ARCH kernels to one CPU type, e.g. Haswell",
    "OPENBLAS_VERBOSE": "OpenBLAS prints the kernel it picked",
    "NPY_DISABLE_CPU_FEATURES": "disables NumPy SIMD dispatch targets (e.g. AVX512_SKX)",
    "NPY_ENABLE_CPU_FEATURES": "restricts NumPy SIMD dispatch to the listed targets",
    "ATEN_CPU_CAPABILITY": "caps torch's CPU kernel ISA (default, avx2, avx512)",
    "NCCL_ALGO": "NCCL collective algorithm (Ring, Tree, ...): changes reduction order",
    "NCCL_PROTO": "NCCL protocol (LL, LL128, Simple)",
    "NCCL_NVLS_ENABLE": "NCCL NVLink SHARP reductions; '0' disables them",
    "NCCL_TOPO_FILE": "NCCL topology file: changes ring/tree construction",
    "NCCL_MIN_NCHANNELS": "minimum NCCL channels: changes how data is split",
    "NCCL_MAX_NCHANNELS": "maximum NCCL channels: changes how data is split",
    "NCCL_IB_DISABLE": "disables InfiniBand transport in NCCL",
    "NCCL_P2P_DISABLE": "disables peer-to-peer transport in NCCL",
    "CUDA_VISIBLE_DEVICES": "which GPUs (and in which order) the process sees",
    "CUDA_DEVICE_ORDER": "GPU enumeration order (FASTEST_FIRST or PCI_BUS_ID)",
    "CUDA_LAUNCH_BLOCKING": "'1' makes kernel launches synchronous",
    "CUDA_MODULE_LOADING": "CUDA lazy module loading (LAZY or EAGER)",
    "CUDA_FORCE_PTX_JIT": "'1' ignores cubins and JIT-compiles the embedded PTX",
    "CUDA_CACHE_DISABLE": "'1' disables the PTX JIT cache",
    "PYTORCH_CUDA_ALLOC_CONF": "torch CUDA caching-allocator settings",
    "PYTORCH_NVML_BASED_CUDA_CHECK": "torch checks CUDA availability through NVML",
    "TORCHINDUCTOR_FX_GRAPH_CACHE": "torch.compile graph cache",
    "TOKENIZERS_PARALLELISM": "Hugging Face tokenizers thread pool",
    "TF_CPP_MIN_LOG_LEVEL": "TensorFlow C++ log level (no numeric effect; aids comparison)",
}

ALLOWLIST: frozenset[str] = frozenset(DESCRIPTIONS)
