"""bench_ssd_peer.py: the peer's side of bench/bench_ssd_gpu.c, run by bench/gpu.sh in the same
device call: mamba_ssm's mamba_chunk_scan_combined (5 Triton kernels) and selective_state_update
on the same shapes (H=80, P=64, N=128, G=1, bf16, chunk 256, dt_softplus; decode with an fp32
state and Mamba2.step's tied-head-dim views).  CUDA events, 3 warm-ups, median of 20.
Usage: PYTHONPATH=.peers python3 bench/bench_ssd_peer.py OUT.json   (mamba_ssm from .peers/)
"""
import json, sys, sys as _s
import torch

_hf = type(_s)("mamba_ssm.utils.hf")
_hf.load_config_hf = _hf.load_state_dict_hf = None
_s.modules["mamba_ssm.utils.hf"] = _hf
from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined  # noqa: E402
from mamba_ssm.ops.triton.selective_state_update import selective_state_update  # noqa: E402

dev = "cuda"
H, P, N = 80, 64, 128


def bench(fn, warmup=3, iters=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return (ts[9] + ts[10]) / 2


res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "chunked": [], "step": []}
for (b, L) in [(1, 512), (1, 1024), (1, 2048), (1, 4096), (1, 8192), (1, 16384), (1, 32768),
               (1, 65536), (1, 131072), (8, 8192), (32, 2048)]:
    x = torch.randn(b, L, H, P, device=dev, dtype=torch.bfloat16)
    dt = torch.randn(b, L, H, device=dev, dtype=torch.bfloat16)
    A = -torch.exp(torch.rand(H, device=dev) * 2.7)
    B = torch.randn(b, L, 1, N, device=dev, dtype=torch.bfloat16)
    C = torch.randn(b, L, 1, N, device=dev, dtype=torch.bfloat16)
    D = torch.randn(H, device=dev)
    dtb = torch.randn(H, device=dev) - 4
    ms = bench(lambda: mamba_chunk_scan_combined(x, dt, A, B, C, 256, D=D, dt_bias=dtb, dt_softplus=True))
    res["chunked"].append({"batch": b, "L": L, "ms": ms})
    print(f"mamba_chunk_scan_combined {b}x{L}: {ms:.4f} ms", flush=True)
    del x, dt, B, C
for b in [1, 16, 64, 256]:
    state = torch.randn(b, H, P, N, device=dev, dtype=torch.float32)
    x = torch.randn(b, H, P, device=dev, dtype=torch.bfloat16)
    z = torch.randn(b, H, P, device=dev, dtype=torch.bfloat16)
    dt = torch.randn(b, H, device=dev, dtype=torch.bfloat16)[:, :, None].expand(b, H, P)
    A = (-torch.exp(torch.rand(H, device=dev) * 2.7))[:, None, None].expand(H, P, N)
    Bm = torch.randn(b, 1, N, device=dev, dtype=torch.bfloat16)
    Cm = torch.randn(b, 1, N, device=dev, dtype=torch.bfloat16)
    D = torch.randn(H, device=dev)[:, None].expand(H, P)
    dtb = (torch.randn(H, device=dev) - 4)[:, None].expand(H, P)
    ms = bench(lambda: selective_state_update(state, x, dt, A, Bm, Cm, D=D, z=z, dt_bias=dtb, dt_softplus=True))
    res["step"].append({"batch": b, "us": ms * 1e3})
    print(f"selective_state_update b={b}: {ms*1e3:.2f} us", flush=True)
json.dump(res, open(sys.argv[1], "w"), indent=1)
