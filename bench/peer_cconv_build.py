"""peer_cconv_build.py: build causal-conv1d's CUDA extension on the device machine, so that
mamba_ssm can be measured in its best configuration ("B" in ../shared/notes/anchors-h100.md:
causal_conv1d and the mem-eff path) in the same device call as ssdc, instead of comparing against
numbers from another machine and day.

The source is an ignored copy of Dao-AILab/causal-conv1d (csrc/ and causal_conv1d/) in
.peers/causal-conv1d, never committed.  The module is built for the device's own arch only (the
package's setup.py builds seven), with setup.py's nvcc flags otherwise, into .peers/cc_build;
a build already there that imports is kept, so a carried .peers/cc_build costs nothing.
    MAX_JOBS=16 python3 bench/peer_cconv_build.py
Then PYTHONPATH=.peers:.peers/causal-conv1d:.peers/cc_build makes `import causal_conv1d` work.
With --check it only says whether the module imports (exit 1 if not), building nothing.
"""
import os, sys, time

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".peers")
src = os.path.join(root, "causal-conv1d", "csrc")
dst = os.path.join(root, "cc_build")
if not os.path.isdir(src):
    sys.exit(f"peer_cconv_build: no source at {src}")
os.makedirs(dst, exist_ok=True)
sys.path[:0] = [dst, os.path.join(root, "causal-conv1d")]
import torch  # first: the module links against torch's libraries, found once torch is loaded

try:
    import causal_conv1d_cuda  # noqa: F401  a carried build
    print(f"peer_cconv_build: {causal_conv1d_cuda.__file__} imports; not rebuilt")
    sys.exit(0)
except ImportError as e:
    if "--check" in sys.argv[1:]:
        sys.exit(f"peer_cconv_build: causal_conv1d_cuda does not import ({e})")
    print(f"peer_cconv_build: building ({e})", flush=True)

from torch.utils.cpp_extension import load

major, minor = torch.cuda.get_device_capability()
arch = f"{major}{minor}"
t0 = time.time()
load(name="causal_conv1d_cuda",
     sources=[os.path.join(src, f) for f in ("causal_conv1d.cpp", "causal_conv1d_fwd.cu",
                                             "causal_conv1d_bwd.cu", "causal_conv1d_update.cu")],
     extra_cflags=["-O3"],
     extra_cuda_cflags=["-O3", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
                        "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
                        "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
                        "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math",
                        "--threads", "4", "-gencode", f"arch=compute_{arch},code=sm_{arch}"],
     extra_include_paths=[src], build_directory=dst, verbose=False)
import causal_conv1d  # noqa: E402,F401  the package finds the module just built
print(f"peer_cconv_build: built for sm_{arch} in {time.time() - t0:.0f} s")
