"""peer_anchors.py: run sections of the shared peer script (../shared/tools/mamba_ssm_anchors.py,
copied to .peers/ with mamba_ssm; never committed) in the same device call as ssdc.

    SECTIONS=lm_mamba2 [PEER_CC=1] OUT=DIR PYTHONPATH=... python3 bench/peer_anchors.py

SECTIONS (comma-separated) keeps the named sections; empty or unset runs them all.
PEER_CC=1 measures configuration B of ../shared/notes/anchors-h100.md instead of A: causal_conv1d
importable (bench/peer_cconv_build.py builds it) and mamba_ssm's default mem-eff path; its LM rows
go to "mamba_ssm_lm_causal_conv1d" in DIR/anchors-cc.json, so that both configurations can be
measured in one call and the peer's best taken per cell, as the anchors do.  Without PEER_CC the
script runs as written (A: rows "mamba_ssm_lm_no_causal_conv1d" in DIR/anchors.json); then
causal_conv1d must not be importable, or A is not what it says.
PEER_LAST=1 (with PEER_CC=1) measures B's prefill as generation runs it, m(ids, num_last_tokens=1):
the logits of the last position only, as ssdc's prefill computes them, where the anchors' m(ids)
also computes every other position's (~6 ms at 2.7b); rows "mamba_ssm_lm_causal_conv1d_last" in
DIR/anchors-cc-last.json, no decode rows (those are B's).
"""
import importlib.util, os, sys

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", ".peers", "mamba_ssm_anchors.py")
src = open(path).read()
want = {s for s in os.environ.get("SECTIONS", "").split(",") if s}
cc = os.environ.get("PEER_CC", "0") == "1"
last = os.environ.get("PEER_LAST", "0") == "1"
if last and not cc:
    sys.exit("peer_anchors: PEER_LAST=1 measures configuration B: set PEER_CC=1")
has_cc = importlib.util.find_spec("causal_conv1d") is not None
if cc != has_cc:
    sys.exit(f"peer_anchors: PEER_CC={int(cc)} but causal_conv1d is {'' if has_cc else 'not '}importable")


def edit(old, new):
    """One textual change to the shared script; fail loudly if it no longer matches."""
    global src
    if old not in src:
        sys.exit(f"peer_anchors: {path} changed: {old!r} not found")
    src = src.replace(old, new, 1)


edit("def section(name):\n    def deco(f):\n",
     "def section(name):\n    def deco(f):\n        if want and name not in want: return f\n")
if cc:
    edit('"use_mem_eff_path": False', '"use_mem_eff_path": True')
    edit('res["mamba_ssm_lm_no_causal_conv1d"] = out', 'res["mamba_ssm_lm_causal_conv1d"] = out')
    src = src.replace('"anchors.json"', '"anchors-cc.json"')
if last:
    edit("ms = bench(lambda: m(ids), warmup=2, iters=5)", "ms = bench(lambda: m(ids, num_last_tokens=1), warmup=2, iters=5)")
    edit("for b in [1, 16]:\n                ids = torch.randint(0, 50277, (b, 128)", "for b in []:\n                ids = torch.randint(0, 50277, (b, 128)")
    edit('res["mamba_ssm_lm_causal_conv1d"] = out', 'res["mamba_ssm_lm_causal_conv1d_last"] = out')
    src = src.replace('"anchors-cc.json"', '"anchors-cc-last.json"')
exec(compile(src, path, "exec"), {"__name__": "__main__", "want": want})
