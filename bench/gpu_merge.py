"""gpu_merge.py: join bench_ssd_gpu.c's and bench_ssd_peer.py's JSON (same device call) into one
results file with ssdc / mamba_ssm speed ratios.  Usage: gpu_merge.py OURS PEER OUT"""
import json, sys

ours, peer = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
pk = {(r["batch"], r["L"]): r["ms"] for r in peer["chunked"]}
ps = {r["batch"]: r["us"] for r in peer["step"]}
rows = []
for r in ours["ssd_chunked_h80_p64_n128_g1_bf16"]:
    if not r["picked"]:
        continue
    m = pk.get((r["batch"], r["L"]))
    rows.append(dict(r, mamba_ssm_ms=m, speedup=(m / r["ms"]) if m else None))
steps = []
for r in ours["ssd_step_h80_p64_n128_fp32_state"]:
    m = ps.get(r["batch"])
    steps.append(dict(r, mamba_ssm_us=m, speedup=(m / r["us"]) if m else None))
out = {"device": ours["device"], "peer_device": peer["device"], "date": ours["date"],
       "arch": ours["arch"], "torch": peer["torch"],
       "note": "ssdc and mamba_ssm measured in the same device call; CUDA events, median of 20",
       "ssd_chunked": rows, "ssd_step": steps,
       "ssd_chunked_all_tilings": ours["ssd_chunked_h80_p64_n128_g1_bf16"]}
json.dump(out, open(sys.argv[3], "w"), indent=1)
print(f"\n{'batch x L':>12} {'ssdc ms':>9} {'mamba ms':>9} {'speedup':>8} {'floor ms':>9}")
for r in rows:
    print(f"{r['batch']:>4}x{r['L']:<7} {r['ms']:9.4f} {r['mamba_ssm_ms'] or 0:9.4f} {r['speedup'] or 0:8.2f} {r['floor_ms']:9.4f}")
print(f"\n{'step batch':>12} {'ssdc us':>9} {'mamba us':>9} {'speedup':>8}")
for r in steps:
    print(f"{r['batch']:>12} {r['us']:9.2f} {r['mamba_ssm_us'] or 0:9.2f} {r['speedup'] or 0:8.2f}")
