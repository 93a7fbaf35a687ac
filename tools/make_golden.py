#!/usr/bin/env python3
"""make_golden.py - golden fixtures for ssdc, made with HF transformers on the CPU.

What it is for: ssdc's tests compare its logits and greedy continuations against
data that nobody on the team computed by hand. This script builds tiny models
from HF configs (Mamba-2, Mamba-1, Bamba), redraws their weights at O(1) scale so
that mistakes show up in the logits, and writes for each case
tests/golden/<case>/{config.json, model.safetensors, input.safetensors,
logits.safetensors, greedy.json, meta.json} (see tests/golden/README.md).

How the reference is made trustworthy:
  * HF's modeling code casts to float32 in many places (norms, A = -exp(A_log),
    the chunk scan, residuals), so model.double() alone is NOT a float64 forward.
    The forward runs inside `true_f64()`, which redirects those casts to float64.
  * The same logits are recomputed by an independent float64 implementation in
    this file (sequential recurrence, no chunking, written from the semantics in
    ../shared/notes/reference-semantics.md); the two must agree to ~1e-10.
  * HF's plain float32 forward must agree with the float64 logits to ~1e-5.
  * Where HF and mamba_ssm differ (gated RMSNorm with n_groups > 1: HF normalises
    over all d_inner channels, mamba_ssm per group), the mixer norm is replaced by
    a grouped one, so the golden follows mamba_ssm; meta.json records it.
  * Greedy continuations recompute the full forward at every step (no cache) and
    check that the winning margin is large enough for a float32 engine to agree.

Requirements (CPU only, no network, nothing from the hub):
    python3 -m pip install torch==2.11.0 transformers==5.17.0 safetensors numpy
Usage:
    python3 tools/make_golden.py --out tests/golden [--cases mamba1,bamba]
Re-running with the same versions reproduces the same files (fixed seeds).
"""

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import transformers
from transformers import (BambaConfig, BambaForCausalLM, Mamba2Config,
                          Mamba2ForCausalLM, MambaConfig, MambaForCausalLM)
from transformers.models.bamba import modeling_bamba
from transformers.models.mamba import modeling_mamba
from transformers.models.mamba2 import modeling_mamba2

BATCH, SEQ = 2, 37          # 37 crosses two chunk boundaries at chunk_size 16
PROMPT_LEN, NEW_TOKENS = 6, 10
MIN_GREEDY_MARGIN = 1e-3    # top1 - top2 logit gap a float32 engine must resolve
MIN_DISTINCT_NEW = 5        # distinct tokens among the greedy new tokens
TOL_REF = 1e-9              # independent f64 reference vs HF in true f64 (relative)
TOL_F32 = 3e-5              # HF float32 vs float64 (max abs / logits std)


# ---------------------------------------------------------------- true float64

class _F64Torch:
    """Stands in for the `torch` module inside HF modeling files: its float32
    dtype is float64, so `.to(torch.float32)` keeps float64 precision."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        if name in ("float32", "float"):
            return self._real.float64
        return getattr(self._real, name)


@contextlib.contextmanager
def true_f64():
    mods = (modeling_mamba2, modeling_mamba, modeling_bamba)
    saved_float = torch.Tensor.float
    torch.Tensor.float = lambda self, *a, **k: self.to(torch.float64)
    for m in mods:
        m.torch = _F64Torch(torch)
    try:
        yield
    finally:
        torch.Tensor.float = saved_float
        for m in mods:
            m.torch = torch


class GroupedRMSNormGated(torch.nn.Module):
    """mamba_ssm's RMSNormGated with norm_before_gate=False and
    group_size = d_inner / ngroups: y = rmsnorm_per_group(x * silu(z)) * w.
    Parameter name `weight` keeps the state dict identical to HF's."""

    def __init__(self, weight, eps, ngroups):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.detach().clone())
        self.variance_epsilon = eps
        self.ngroups = ngroups

    def forward(self, hidden_states, gate=None):
        x = hidden_states
        if gate is not None:
            x = x * F.silu(gate.to(x.dtype))
        shp = x.shape
        xg = x.reshape(*shp[:-1], self.ngroups, shp[-1] // self.ngroups)
        xg = xg * torch.rsqrt(xg.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * xg.reshape(shp).to(hidden_states.dtype)


def use_grouped_norm(model, ngroups):
    for layer in model.backbone.layers:
        old = layer.mixer.norm
        layer.mixer.norm = GroupedRMSNormGated(old.weight, old.variance_epsilon, ngroups)


# ------------------------------------------------------------ weight redrawing

def inv_softplus(y):
    return y + torch.log(-torch.expm1(-y))


def redraw(model, gen):
    """Replace every parameter with O(1)-scale random values (drawn in float64,
    rounded to float32 since the checkpoint is float32)."""
    tied = model.config.tie_word_embeddings
    new = {}
    for name, p in model.state_dict().items():
        if not p.is_floating_point() or (tied and name == "lm_head.weight"):
            continue
        new[name] = draw_param(name, tuple(p.shape), gen).to(torch.float32)
    missing = model.load_state_dict(new, strict=False).missing_keys
    if set(missing) - {"lm_head.weight"}:
        sys.exit(f"parameters left undrawn: {missing}")


def _normal(shape, std, gen):
    return torch.randn(shape, generator=gen, dtype=torch.float64) * std


def _uniform(shape, lo, hi, gen):
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


def draw_param(name, shape, gen):
    leaf = name.split(".")[-1]
    parent = name.split(".")[-2] if "." in name else ""
    if "embed" in name:
        # small next to the mixer outputs: with tied heads a large embedding makes
        # every greedy step repeat the current token (e.e dominates the logits)
        return _normal(shape, 0.3, gen)
    if leaf == "A_log":
        return torch.log(_uniform(shape, 1.0, 8.0, gen))
    if leaf == "D":
        return _normal(shape, 1.0, gen)
    if leaf == "dt_bias" or (parent == "dt_proj" and leaf == "bias"):
        # softplus(dt_bias) log-uniform in [0.01, 0.3]: decays from ~0.99 to ~0.1
        dt = torch.exp(_uniform(shape, math.log(0.01), math.log(0.3), gen))
        return inv_softplus(dt)
    if leaf == "weight" and len(shape) == 1:           # every RMSNorm weight
        return 1.0 + _normal(shape, 0.1, gen)
    if parent == "conv1d" and leaf == "weight":        # [C, 1, K]
        return _normal(shape, 1.0 / math.sqrt(shape[-1]), gen)
    if leaf == "bias":                                  # conv / proj biases
        return _normal(shape, 0.2, gen)
    if leaf == "weight" and len(shape) == 2:            # Linear [out, in]
        gain = 0.5 if parent == "dt_proj" else 1.0
        return _normal(shape, gain / math.sqrt(shape[1]), gen)
    raise ValueError(f"no drawing rule for {name} {shape}")


def shrink_mamba2_dt_rows(model, n_heads, gen):
    """The last n_heads rows of in_proj feed dt; keep their spread ~0.5 so that
    softplus(dt + dt_bias) stays within ~0.005..0.6 (no saturation)."""
    with torch.no_grad():
        for mixer in mixers(model):
            w = mixer.in_proj.weight
            w[-n_heads:] = _normal((n_heads, w.shape[1]), 0.5 / math.sqrt(w.shape[1]),
                                   gen).to(w.dtype)
            if mixer.in_proj.bias is not None:
                mixer.in_proj.bias[-n_heads:] = 0.1 * mixer.in_proj.bias[-n_heads:]


def mixers(model):
    base = model.model if hasattr(model, "model") else model.backbone
    for layer in base.layers:
        m = getattr(layer, "mixer", None) or getattr(layer, "mamba", None)
        if m is not None:
            yield m


# ------------------------------------------------- independent f64 reference

def ref_rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def ref_linear(x, p, name):
    y = x @ p[name + ".weight"].T
    b = p.get(name + ".bias")
    return y if b is None else y + b


def ref_causal_conv(x, w, b):
    """x [B, L, C], w [C, 1, K]: out[t] = sum_k w[k] x[t-K+1+k] (+b)."""
    K = w.shape[-1]
    xp = F.pad(x, (0, 0, K - 1, 0))
    out = sum(xp[:, k:k + x.shape[1]] * w[:, 0, k] for k in range(K))
    return out if b is None else out + b


def ref_mamba2_mixer(x, p, pre, c):
    di, G, N, H, P = c["d_inner"], c["G"], c["N"], c["H"], c["P"]
    zxbcdt = ref_linear(x, p, pre + "in_proj")
    z, xbc, dt = torch.split(zxbcdt, [di, di + 2 * G * N, H], dim=-1)
    xbc = F.silu(ref_causal_conv(xbc, p[pre + "conv1d.weight"], p.get(pre + "conv1d.bias")))
    xs, Bm, Cm = torch.split(xbc, [di, G * N, G * N], dim=-1)
    dt = F.softplus(dt + p[pre + "dt_bias"]).clamp(c["dt_lo"], c["dt_hi"])
    A = -torch.exp(p[pre + "A_log"])
    Bsz, L, _ = x.shape
    xs = xs.reshape(Bsz, L, H, P)
    Bm = Bm.reshape(Bsz, L, G, N).repeat_interleave(H // G, dim=2)
    Cm = Cm.reshape(Bsz, L, G, N).repeat_interleave(H // G, dim=2)
    s = torch.zeros(Bsz, H, P, N, dtype=x.dtype)
    ys = []
    for t in range(L):
        dA = torch.exp(dt[:, t] * A)[:, :, None, None]
        s = dA * s + (dt[:, t, :, None] * xs[:, t])[..., None] * Bm[:, t, :, None, :]
        ys.append((s * Cm[:, t, :, None, :]).sum(-1) + p[pre + "D"][:, None] * xs[:, t])
    y = torch.stack(ys, 1).reshape(Bsz, L, di) * F.silu(z)
    yg = y.reshape(Bsz, L, c["norm_groups"], di // c["norm_groups"])
    yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + c["eps"])
    y = yg.reshape(Bsz, L, di) * p[pre + "norm.weight"]
    return ref_linear(y, p, pre + "out_proj")


def ref_mamba1_mixer(x, p, pre, c):
    di, N, R = c["d_inner"], c["N"], c["R"]
    xz = ref_linear(x, p, pre + "in_proj")
    xs, z = xz[..., :di], xz[..., di:]
    xs = F.silu(ref_causal_conv(xs, p[pre + "conv1d.weight"], p.get(pre + "conv1d.bias")))
    dbc = xs @ p[pre + "x_proj.weight"].T
    dtr, Bm, Cm = torch.split(dbc, [R, N, N], dim=-1)
    dt = F.softplus(ref_linear(dtr, p, pre + "dt_proj"))
    A = -torch.exp(p[pre + "A_log"])                       # [di, N]
    s = torch.zeros(x.shape[0], di, N, dtype=x.dtype)
    ys = []
    for t in range(x.shape[1]):
        dBx = (dt[:, t] * xs[:, t])[..., None] * Bm[:, t, None, :]
        s = torch.exp(dt[:, t, :, None] * A) * s + dBx
        ys.append((s * Cm[:, t, None, :]).sum(-1) + p[pre + "D"] * xs[:, t])
    y = torch.stack(ys, 1) * F.silu(z)
    return ref_linear(y, p, pre + "out_proj")


def ref_rope(q, rot, theta):
    """Non-interleaved (rotate-half) RoPE on the first `rot` dims of q [B,h,L,d]."""
    L = q.shape[2]
    inv = 1.0 / theta ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot)
    ang = torch.arange(L, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cos(ang), torch.sin(ang)
    q1, q2, rest = q[..., :rot // 2], q[..., rot // 2:rot], q[..., rot:]
    return torch.cat([q1 * cos - q2 * sin, q2 * cos + q1 * sin, rest], -1)


def ref_attention(x, p, pre, c):
    Bsz, L, _ = x.shape
    nh, nkv, hd = c["heads"], c["kv_heads"], c["head_dim"]
    q = ref_linear(x, p, pre + "q_proj").reshape(Bsz, L, nh, hd).transpose(1, 2)
    k = ref_linear(x, p, pre + "k_proj").reshape(Bsz, L, nkv, hd).transpose(1, 2)
    v = ref_linear(x, p, pre + "v_proj").reshape(Bsz, L, nkv, hd).transpose(1, 2)
    q, k = ref_rope(q, c["rot"], c["theta"]), ref_rope(k, c["rot"], c["theta"])
    k = k.repeat_interleave(nh // nkv, dim=1)
    v = v.repeat_interleave(nh // nkv, dim=1)
    sc = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    sc = sc.masked_fill(torch.triu(torch.ones(L, L, dtype=torch.bool), 1), float("-inf"))
    o = (torch.softmax(sc, -1) @ v).transpose(1, 2).reshape(Bsz, L, nh * hd)
    return ref_linear(o, p, pre + "o_proj")


def ref_logits(kind, p, c, ids):
    """Whole-model float64 forward from the raw state dict `p`."""
    if kind == "bamba":
        h = p["model.embed_tokens.weight"][ids]
        for i in range(c["layers"]):
            pre = f"model.layers.{i}."
            x = ref_rmsnorm(h, p[pre + "input_layernorm.weight"], c["eps"])
            if i in c["attn_layers"]:
                h = h + ref_attention(x, p, pre + "self_attn.", c)
            else:
                h = h + ref_mamba2_mixer(x, p, pre + "mamba.", c)
            x = ref_rmsnorm(h, p[pre + "pre_ff_layernorm.weight"], c["eps"])
            g = ref_linear(x, p, pre + "feed_forward.gate_proj")
            u = ref_linear(x, p, pre + "feed_forward.up_proj")
            h = h + ref_linear(F.silu(g) * u, p, pre + "feed_forward.down_proj")
        h = ref_rmsnorm(h, p["model.final_layernorm.weight"], c["eps"])
        return h @ p["lm_head.weight"].T
    h = p["backbone.embeddings.weight"][ids]
    mixer = ref_mamba1_mixer if kind == "mamba1" else ref_mamba2_mixer
    for i in range(c["layers"]):
        pre = f"backbone.layers.{i}."
        h = h + mixer(ref_rmsnorm(h, p[pre + "norm.weight"], c["eps"]), p, pre + "mixer.", c)
    h = ref_rmsnorm(h, p["backbone.norm_f.weight"], c["eps"])
    head = p.get("lm_head.weight", p["backbone.embeddings.weight"])
    return h @ head.T


# --------------------------------------------------------------------- cases

def mamba2_ref_cfg(cfg, norm_groups):
    di = cfg.expand * cfg.hidden_size
    lo, hi = cfg.time_step_limit
    return dict(d_inner=di, G=cfg.n_groups, N=cfg.state_size, H=cfg.num_heads,
                P=cfg.head_dim, dt_lo=lo, dt_hi=hi, eps=cfg.layer_norm_epsilon,
                layers=cfg.num_hidden_layers, norm_groups=norm_groups)


def case_mamba2(name, seed, covers, id_limit=None, **kw):
    base = dict(vocab_size=256, hidden_size=64, expand=2, head_dim=16, num_heads=8,
                state_size=16, n_groups=1, num_hidden_layers=3, chunk_size=16,
                conv_kernel=4, tie_word_embeddings=True, pad_token_id=0,
                bos_token_id=1, eos_token_id=2)
    base.update(kw)
    cfg = Mamba2Config(**base)
    return dict(name=name, kind="mamba2", seed=seed, covers=covers, cls=Mamba2ForCausalLM,
                cfg=cfg, norm_groups=cfg.n_groups, id_limit=id_limit or cfg.vocab_size,
                ref_cfg=mamba2_ref_cfg(cfg, cfg.n_groups))


def case_mamba1():
    cfg = MambaConfig(vocab_size=128, hidden_size=64, state_size=16, expand=2,
                      num_hidden_layers=3, conv_kernel=4, time_step_rank="auto",
                      tie_word_embeddings=True, pad_token_id=0, bos_token_id=1,
                      eos_token_id=2, use_mambapy=False)
    rc = dict(d_inner=cfg.intermediate_size, N=cfg.state_size, R=cfg.time_step_rank,
              eps=cfg.layer_norm_epsilon, layers=cfg.num_hidden_layers)
    return dict(name="mamba1", kind="mamba1", seed=1004, cls=MambaForCausalLM, cfg=cfg,
                ref_cfg=rc, norm_groups=None,
                covers="Mamba-1 (selective scan, diagonal A per channel [d_inner, N]), "
                       "dt_rank auto = ceil(d_model/16) = 4, conv bias, tied lm_head, 3 layers.")


def case_bamba():
    cfg = BambaConfig(vocab_size=128, hidden_size=64, num_hidden_layers=3,
                      attn_layer_indices=[1], num_attention_heads=4, num_key_value_heads=2,
                      intermediate_size=128, mamba_n_heads=8, mamba_d_head=16,
                      mamba_n_groups=1, mamba_d_state=16, mamba_d_conv=4, mamba_expand=2,
                      mamba_chunk_size=16, tie_word_embeddings=False,
                      max_position_embeddings=4096, pad_token_id=0, bos_token_id=1,
                      eos_token_id=2)
    cfg._attn_implementation = "eager"
    hd = cfg.hidden_size // cfg.num_attention_heads
    rot = int(hd * cfg.rope_parameters["partial_rotary_factor"])
    lo, hi = cfg.time_step_limit
    rc = dict(d_inner=cfg.mamba_expand * cfg.hidden_size, G=cfg.mamba_n_groups,
              N=cfg.mamba_d_state, H=cfg.mamba_n_heads, P=cfg.mamba_d_head, dt_lo=lo,
              dt_hi=hi, eps=cfg.rms_norm_eps, layers=cfg.num_hidden_layers, norm_groups=1,
              attn_layers=cfg.attn_layer_indices, heads=cfg.num_attention_heads,
              kv_heads=cfg.num_key_value_heads, head_dim=hd, rot=rot,
              theta=cfg.rope_parameters["rope_theta"])
    return dict(name="bamba", kind="bamba", seed=1005, cls=BambaForCausalLM, cfg=cfg,
                ref_cfg=rc, norm_groups=1,
                covers="Bamba hybrid: layers 0,2 Mamba-2 (G=1, N=16, P=16, chunk 16), layer 1 "
                       "causal GQA attention (4 q heads, 2 kv heads, head_dim 16) with "
                       "rotate-half RoPE on the first 8 of 16 dims (partial_rotary_factor 0.5, "
                       "theta 10000, positions 0..L-1); every layer adds a SwiGLU MLP "
                       "(pre_ff_layernorm); untied lm_head.")


def all_cases():
    return [
        case_mamba2("mamba2_g1", 1001,
                    "Mamba-2 defaults except small sizes: G=1, N=16, P=16, H=8, chunk 16 with "
                    "L=37 (3 chunks, last one partial), conv_kernel 4 with bias, tied lm_head, "
                    "residual_in_fp32."),
        case_mamba2("mamba2_g2", 1002,
                    "Mamba-2 with n_groups=2 (heads 0-3 read B/C group 0, heads 4-7 group 1), "
                    "N=32, chunk 16, L=37. The gated RMSNorm is normalised PER GROUP of "
                    "d_inner/G = 64 channels (mamba_ssm semantics), not over all 128 as HF's "
                    "MambaRMSNormGated does: logits here differ from stock HF. "
                    "Input/prompt ids < 250 "
                    "(ssm_format reuses these weights with vocab_size 250 padded to 256).",
                    n_groups=2, state_size=32, num_hidden_layers=2, vocab_size=256,
                    id_limit=250),
        case_mamba2("mamba2_variants", 1003,
                    "Mamba-2 non-defaults: use_bias=True (in_proj and out_proj biases), "
                    "use_conv_bias=False, conv_kernel=3, time_step_limit=(0.02, 0.12) clamping "
                    "both ends, tie_word_embeddings=False (own lm_head.weight), "
                    "residual_in_fp32=False, d_model 48, H=6, G=1, N=16, chunk 16.",
                    hidden_size=48, num_heads=6, vocab_size=128, use_bias=True,
                    use_conv_bias=False, conv_kernel=3, time_step_limit=(0.02, 0.12),
                    tie_word_embeddings=False, residual_in_fp32=False),
        case_mamba1(),
        case_bamba(),
    ]


# ------------------------------------------------------------------- running

def build_model(case):
    torch.manual_seed(case["seed"])
    model = case["cls"](case["cfg"]).eval()
    gen = torch.Generator().manual_seed(case["seed"])
    redraw(model, gen)
    if case["kind"] in ("mamba2", "bamba"):
        shrink_mamba2_dt_rows(model, case["ref_cfg"]["H"], gen)
    if case["kind"] == "mamba2" and case["norm_groups"] > 1:
        use_grouped_norm(model, case["norm_groups"])
    model.tie_weights()
    return model


@torch.no_grad()
def hf_logits(model, ids):
    return model(input_ids=ids, use_cache=False).logits


@torch.no_grad()
def f64_logits(model64, ids):
    with true_f64():
        return hf_logits(model64, ids)


def exact_rope(model64, rc):
    """HF computes inv_freq in float32 at construction; .double() keeps that
    rounding. Recompute it in float64 so the golden has exact RoPE angles."""
    inv = 1.0 / rc["theta"] ** (torch.arange(0, rc["rot"], 2, dtype=torch.float64) / rc["rot"])
    model64.model.rotary_emb.inv_freq = inv
    model64.model.rotary_emb.original_inv_freq = inv.clone()


def rel_err(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().std())


def check_logits(name, logits):
    bad = []
    if not torch.isfinite(logits).all():
        bad.append("non-finite")
    if logits.std() < 0.5:
        bad.append(f"std {float(logits.std()):.3g} too small")
    am = logits.argmax(-1)
    if am.unique().numel() < max(4, am.numel() // 8):
        bad.append(f"argmax takes only {am.unique().numel()} values")
    if bad:
        sys.exit(f"{name}: degenerate logits: {', '.join(bad)}")


def greedy(model64, prompt, n_new):
    """Greedy continuation by full-forward recomputation at every step."""
    seq = list(prompt)
    margins = []
    for _ in range(n_new):
        last = f64_logits(model64, torch.tensor([seq]))[0, -1]
        top = torch.topk(last, 2).values
        margins.append(float(top[0] - top[1]))
        seq.append(int(last.argmax()))
    return seq[len(prompt):], margins


def pick_prompt(model64, vocab, gen):
    """First random prompt whose greedy steps all have a clear winner, whose
    continuation is not one repeated token (that would test little) and holds no
    EOS (so engines that stop at EOS and engines that do not agree)."""
    for attempt in range(40):
        prompt = torch.randint(3, vocab, (PROMPT_LEN,), generator=gen).tolist()
        new, margins = greedy(model64, prompt, NEW_TOKENS)
        eos = model64.config.eos_token_id
        if (min(margins) >= MIN_GREEDY_MARGIN and len(set(new)) >= MIN_DISTINCT_NEW
                and eos not in new):
            return prompt, new, margins, attempt
    sys.exit("no prompt with a clear, non-repeating greedy continuation found")


def dt_stats(model64, case, ids):
    """Fraction of softplus(dt) values at or outside the limits, and its range,
    measured at the first mixer input (what the clamp actually does)."""
    m = next(mixers(model64))
    lo, hi = case["ref_cfg"]["dt_lo"], case["ref_cfg"]["dt_hi"]
    caught = {}

    def hook(_mod, inp, out):
        H = case["ref_cfg"]["H"]
        caught["dt"] = F.softplus(out[..., -H:] + m.dt_bias)

    hnd = m.in_proj.register_forward_hook(hook)
    f64_logits(model64, ids)
    hnd.remove()
    dt = caught["dt"]
    return dict(softplus_dt_min=float(dt.min()), softplus_dt_max=float(dt.max()),
                frac_below_lo=float((dt < lo).double().mean()),
                frac_above_hi=float((dt > hi).double().mean()))


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def versions():
    return dict(torch=torch.__version__, transformers=transformers.__version__,
                numpy=np.__version__, python=platform.python_version())


def make_case(case, out):
    name = case["name"]
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model = build_model(case)
    vocab = case["cfg"].vocab_size
    gen = torch.Generator().manual_seed(case["seed"] + 7)
    id_limit = case.get("id_limit", vocab)
    ids = torch.randint(0, id_limit, (BATCH, SEQ), generator=gen)

    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(tmp, f), os.path.join(d, f))

    l32 = hf_logits(model, ids)
    raw = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model64 = model.double()
    if case["kind"] == "bamba":
        exact_rope(model64, case["ref_cfg"])
    l64 = f64_logits(model64, ids)
    p64 = {k: v.double() for k, v in raw.items()}
    lref = ref_logits(case["kind"], p64, case["ref_cfg"], ids)
    e_ref, e32 = rel_err(lref, l64), rel_err(l32, l64)
    print(f"{name}: ref-vs-hf64 {e_ref:.2e}  hf32-vs-hf64 {e32:.2e}  std {float(l64.std()):.3f}")
    if e_ref > TOL_REF:
        sys.exit(f"{name}: independent reference disagrees with HF f64 ({e_ref:.3g})")
    if e32 > TOL_F32:
        sys.exit(f"{name}: HF f32 forward disagrees with f64 ({e32:.3g})")
    check_logits(name, l64)
    e_file = rel_err(f64_logits(load_case_model(case, d), ids), l64)
    if e_file > TOL_REF:
        sys.exit(f"{name}: model reloaded from the written files disagrees ({e_file:.3g})")
    e_plain = rel_err(plain_double_logits(case, ids), l64)

    save_file({"input_ids": ids.contiguous()}, os.path.join(d, "input.safetensors"))
    save_file({"logits": l64.to(torch.float32).contiguous()},
              os.path.join(d, "logits.safetensors"))
    prompt, new, margins, attempt = pick_prompt(model64, id_limit, gen)
    write_json(os.path.join(d, "greedy.json"), {"prompt": prompt, "new_tokens": new})

    meta = dict(case=name, covers=case["covers"], model_class=case["cls"].__name__,
                seed=case["seed"], versions=versions(), batch=BATCH, seq_len=SEQ,
                logits_dtype="float32 (computed in float64, rounded once)",
                reference=("HF transformers forward in true float64 (HF's internal float32 "
                           "casts redirected to float64), cross-checked against an "
                           "independent sequential float64 implementation in "
                           "tools/make_golden.py"),
                checks=dict(independent_ref_vs_hf_f64=e_ref, hf_f32_vs_f64=e32,
                            reloaded_files_vs_golden=e_file,
                            hf_plain_double_vs_true_f64=e_plain,
                            err_metric="max|a-b| / std(logits_f64)",
                            logits_std=float(l64.std()),
                            logits_absmax=float(l64.abs().max()),
                            distinct_argmax=int(l64.argmax(-1).unique().numel())),
                greedy=dict(method="full forward recomputation per step, float64, no cache",
                            prompt_len=PROMPT_LEN, new_tokens=NEW_TOKENS,
                            min_top1_top2_margin=min(margins),
                            prompt_draws_rejected=attempt,
                            eos_in_new_tokens=False,
                            hf_cached_generate_f64=cached_generate_report(model64, prompt,
                                                                          new)))
    if case["kind"] in ("mamba2", "bamba"):
        meta["dt"] = dt_stats(model64, case, ids)
    if case["kind"] == "mamba2":
        meta["gated_norm"] = (f"per group of d_inner/{case['norm_groups']} channels "
                              "(mamba_ssm RMSNormGated, norm_before_gate=False)")
        if case["norm_groups"] > 1:
            meta["gated_norm"] += ("; HF's MambaRMSNormGated replaced by a grouped one "
                                   "for this reference; stock HF 5.17 would differ")
            meta["stock_hf_differs_by"] = stock_hf_gap(case, ids, l64)
    if case["kind"] == "bamba":
        meta["gated_norm"] = ("n_groups=1, so HF's full-width gated norm and mamba_ssm's "
                              "per-group one coincide (BambaRMSNormGated has no groups)")
    write_json(os.path.join(d, "meta.json"), meta)
    return model64, ids, l64, prompt, new, meta


def load_case_model(case, d):
    """The case's model rebuilt from the files just written (config.json +
    model.safetensors), in true float64: proves the files alone carry it."""
    m = case["cls"].from_pretrained(d, dtype=torch.float64).eval()
    if case["kind"] == "mamba2" and case["norm_groups"] > 1:
        use_grouped_norm(m, case["norm_groups"])
    if case["kind"] == "bamba":
        m.config._attn_implementation = "eager"
        exact_rope(m, case["ref_cfg"])
    return m


@torch.no_grad()
def plain_double_logits(case, ids):
    """HF with model.double() only: shows how much HF's internal float32 casts
    would have cost the golden (recorded in meta.json, not used)."""
    m = build_model(case).double()
    return hf_logits(m, ids)


@torch.no_grad()
def cached_generate_report(model64, prompt, new):
    """Does HF's cached generate() reproduce the full-recompute greedy tokens?
    Informational: the golden is the recompute (reference-semantics.md)."""
    with true_f64():
        out = model64.generate(torch.tensor([prompt]), max_new_tokens=len(new),
                               do_sample=False, eos_token_id=None, pad_token_id=0)
    got = out[0, len(prompt):].tolist()
    diverge = next((i for i, (a, b) in enumerate(zip(got, new)) if a != b), None)
    if diverge is None and len(got) != len(new):
        diverge = min(len(got), len(new))
    return dict(tokens=got, agrees=diverge is None, first_divergence=diverge)


def stock_hf_gap(case, ids, l64):
    """How far stock HF (full-width gated norm) is from the golden: shows the
    grouped-norm patch matters and by how much."""
    saved = case["norm_groups"]
    case["norm_groups"] = 1
    m = build_model(case).double()
    case["norm_groups"] = saved
    return rel_err(f64_logits(m, ids), l64)


# --------------------------------------------------- mamba_ssm-format export

def ssm_state_dict(model):
    """HF Mamba2ForCausalLM names -> mamba_ssm MambaLMHeadModel names."""
    out = {}
    for k, v in model.state_dict().items():
        nk = k.replace("backbone.embeddings.", "backbone.embedding.")
        out[nk] = v.detach().to(torch.float32).clone()
    # mamba_ssm ties lm_head to the embedding and its state_dict lists both names
    out["lm_head.weight"] = out["backbone.embedding.weight"]
    return out


def make_ssm_format(out, src_case, model64, ids, l64, prompt, new):
    d = os.path.join(out, "ssm_format")
    os.makedirs(d, exist_ok=True)
    cfg = src_case["cfg"]
    true_vocab = cfg.vocab_size - 6           # padded back up to cfg.vocab_size
    pad_mult = 16
    assert (true_vocab + pad_mult - 1) // pad_mult * pad_mult == cfg.vocab_size
    assert int(ids.max()) < true_vocab and max(prompt) < true_vocab
    lo, hi = cfg.time_step_limit
    ssm_cfg = {"layer": "Mamba2", "d_state": cfg.state_size, "d_conv": cfg.conv_kernel,
               "expand": cfg.expand, "headdim": cfg.head_dim, "ngroups": cfg.n_groups,
               "chunk_size": cfg.chunk_size}
    if math.isfinite(hi) or lo != 0.0:
        ssm_cfg["dt_limit"] = [lo, hi]
    write_json(os.path.join(d, "config.json"), {
        "d_model": cfg.hidden_size, "d_intermediate": 0, "n_layer": cfg.num_hidden_layers,
        "vocab_size": true_vocab, "ssm_cfg": ssm_cfg, "attn_layer_idx": [], "attn_cfg": {},
        "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
        "pad_vocab_size_multiple": pad_mult, "tie_embeddings": True})
    sd = ssm_state_dict(model64)
    check_ssm_keys(sd, cfg.num_hidden_layers)
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    e_back = rel_err(ssm_roundtrip_logits(src_case, d, ids), l64)
    if e_back > TOL_REF:
        sys.exit(f"ssm_format: pytorch_model.bin mapped back to HF disagrees ({e_back:.3g})")
    save_file({"input_ids": ids.contiguous()}, os.path.join(d, "input.safetensors"))
    save_file({"logits": l64.to(torch.float32).contiguous()},
              os.path.join(d, "logits.safetensors"))
    write_json(os.path.join(d, "greedy.json"), {"prompt": prompt, "new_tokens": new})
    write_json(os.path.join(d, "meta.json"), dict(
        case="ssm_format", source_case=src_case["name"], seed=src_case["seed"],
        versions=versions(),
        covers=("mamba_ssm checkpoint layout (pytorch_model.bin pickle, backbone.embedding "
                "without s, lm_head.weight stored tied) with a mamba_ssm config.json "
                f"(vocab_size {true_vocab} padded to a multiple of {pad_mult} = "
                f"{cfg.vocab_size} rows). Same weights as {src_case['name']}: convert, run, "
                "and compare with the same logits (all padded vocab columns included)."),
        keys=sorted(sd.keys()), logits_shape=list(l64.shape),
        checks=dict(bin_mapped_back_to_hf_vs_golden=e_back)))


MAMBA2_SSM_LAYER_KEYS = ("in_proj.weight", "conv1d.weight", "conv1d.bias", "dt_bias",
                         "A_log", "D", "norm.weight", "out_proj.weight")


def check_ssm_keys(sd, n_layer):
    """Names of mamba_ssm's MambaLMHeadModel with Mamba2 mixers (mixer_seq_simple.py,
    modules/mamba2.py): exactly these keys, nothing more."""
    want = {"backbone.embedding.weight", "backbone.norm_f.weight", "lm_head.weight"}
    for i in range(n_layer):
        want.add(f"backbone.layers.{i}.norm.weight")
        want.update(f"backbone.layers.{i}.mixer.{k}" for k in MAMBA2_SSM_LAYER_KEYS)
    if set(sd) != want:
        sys.exit(f"ssm_format: key mismatch: extra {set(sd) - want}, missing {want - set(sd)}")


@torch.no_grad()
def ssm_roundtrip_logits(case, d, ids):
    """Load pytorch_model.bin back, rename to HF, run in true float64."""
    sd = torch.load(os.path.join(d, "pytorch_model.bin"), weights_only=True)
    hf = {k.replace("backbone.embedding.", "backbone.embeddings."): v for k, v in sd.items()}
    m = build_model(case)
    m.load_state_dict(hf)
    m.tie_weights()
    return f64_logits(m.double(), ids)


def write_manifest(out):
    """SHA256SUMS over every fixture file: `sha256sum -c SHA256SUMS` in the
    golden folder tells a consumer the data is what this script wrote."""
    lines = []
    for case in sorted(os.listdir(out)):
        cd = os.path.join(out, case)
        if not os.path.isdir(cd):
            continue
        for f in sorted(os.listdir(cd)):
            with open(os.path.join(cd, f), "rb") as fh:
                lines.append(f"{hashlib.sha256(fh.read()).hexdigest()}  {case}/{f}\n")
    with open(os.path.join(out, "SHA256SUMS"), "w") as fh:
        fh.writelines(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="e.g. tests/golden")
    ap.add_argument("--cases", default="", help="comma list; default: all")
    args = ap.parse_args()
    torch.set_num_threads(2)
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    want = set(filter(None, args.cases.split(",")))
    made = {}
    for case in all_cases():
        if want and case["name"] not in want and not (
                case["name"] == "mamba2_g2" and "ssm_format" in want):
            continue
        made[case["name"]] = (case, make_case(case, args.out))
    if not want or "ssm_format" in want:
        case, (m64, ids, l64, prompt, new, _) = made["mamba2_g2"]
        make_ssm_format(args.out, case, m64, ids, l64, prompt, new)
    write_manifest(args.out)
    print("done:", ", ".join(sorted(made)) + ("" if want and "ssm_format" not in want
                                              else ", ssm_format"))


if __name__ == "__main__":
    main()
