"""peer_best.py: mamba_ssm's LM numbers from one device call (bench/peer_lm.sh), the better of
configurations A and B per cell, as ../shared/notes/anchors-h100.md reports the peer at its best.

    from peer_best import peer_rows
    rows = peer_rows(DIR)  # {"mamba2-2.7b": {"prefill_b8_L2048_ms": (ms, "A" or "B"), ...}, ...}
"""
import json, os

FILES = (("A", "anchors.json", "mamba_ssm_lm_no_causal_conv1d"),
         ("B", "anchors-cc.json", "mamba_ssm_lm_causal_conv1d"),
         # B's prefill with the last position's logits only (bench/peer_anchors.py PEER_LAST=1)
         ("B1", "anchors-cc-last.json", "mamba_ssm_lm_causal_conv1d_last"))


def _measured(d):
    """(configuration, rows key, JSON) of each configuration measured in d."""
    for cfg, name, key in FILES:
        try:
            yield cfg, key, json.load(open(os.path.join(d, name)))
        except (OSError, ValueError):
            continue


def peer_rows(d):
    """Per model and key, (ms, configuration) of the faster configuration measured in d."""
    best = {}
    for cfg, key, a in _measured(d):
        for r in a.get(key, []):
            m = best.setdefault(r["model"], {})
            for k, v in r.items():
                if k.endswith("_ms") or k.endswith("_ms_per_token"):
                    if isinstance(v, (int, float)) and v > 0 and (k not in m or v < m[k][0]):
                        m[k] = (v, cfg)
    return best


def peer_raw(d):
    """Both configurations' JSON as measured (for the results file)."""
    return {cfg: {k: a[k] for k in ("device", "torch", "triton", key, "errors") if k in a}
            for cfg, key, a in _measured(d)}


if __name__ == "__main__":
    import sys
    for model, m in sorted(peer_rows(sys.argv[1]).items()):
        for k, (v, cfg) in sorted(m.items()):
            print(f"{model:12} {k:28} {v:9.3f} ({cfg})")
