#!/usr/bin/env python3
"""test_convert.py: tools/convert_mamba_ssm.py without torch.

Builds tiny torch-format checkpoints by hand: a zip with archive/data.pkl (a
protocol-2 pickle using the same globals and persistent ids torch.save
writes: torch._utils._rebuild_tensor_v2, torch.FloatStorage & co., and
('storage', type, key, 'cpu', numel) ids) and archive/data/<key> blobs.  The
fake `torch` modules below exist only in this process so that pickle can name
those globals; the converter runs as a subprocess and never sees them.

Checks: a Mamba-2 + attention + MLP hybrid round-trips (names, splits, tied
lm_head dropped, F32/BF16/F16 bytes, storage offsets), both through a
pure-Python safetensors reader and through ssdc's C reader (--dump); hostile
pickles (os.system, builtins.eval), non-contiguous strides, missing storages
and non-zip files fail with a clear message and run nothing.

With a third argument GOLDEN_DIR (tests/golden), it also converts the
torch-made fixture ssm_format/pytorch_model.bin (written by real torch.save,
see tests/golden/README.md) and requires the result to equal, tensor for
tensor and value for value (exactly), the HF safetensors of the same weights that
transformers wrote (mamba2_g2/model.safetensors).

Usage: test_convert.py CONVERTER C_DUMP_BINARY [GOLDEN_DIR]
"""
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import types
import zipfile

CONVERTER, DUMP = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


# ---- fake torch globals, so the pickle names what torch's does ----
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"], sys.modules["torch._utils"] = torch, torch_utils


def _storage_class(name):
    cls = type(name, (), {})
    cls.__module__ = "torch"
    setattr(torch, name, cls)
    return cls


FloatStorage = _storage_class("FloatStorage")
HalfStorage = _storage_class("HalfStorage")
BFloat16Storage = _storage_class("BFloat16Storage")


def _rebuild_tensor_v2(*args):
    raise AssertionError("never called here")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, cls, key, raw, itemsize):
        self.cls, self.key, self.raw, self.numel = cls, key, raw, len(raw) // itemsize


class T:
    """A tensor as torch pickles it."""

    def __init__(self, storage, offset, shape, stride=None):
        self.storage, self.offset, self.shape = storage, offset, tuple(shape)
        if stride is None:
            stride, acc = [], 1
            for d in reversed(self.shape):
                stride.insert(0, acc)
                acc *= d
        self.stride = tuple(stride)

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2,
                (self.storage, self.offset, self.shape, self.stride, False,
                 collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def torch_zip(path, state, storages, pkl=None):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl if pkl is not None else buf.getvalue())
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.raw)


# ---- a tiny hybrid checkpoint ----
def f32_storage(key, values):
    return Storage(FloatStorage, key, struct.pack(f"<{len(values)}f", *values), 4)


def values_of(dtype, raw):
    if dtype == "F32":
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if dtype == "F16":
        return list(struct.unpack(f"<{len(raw) // 2}e", raw))
    if dtype == "BF16":
        return [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    raise ValueError(dtype)


def seq(n, scale, shift=0.0):
    return [((i * 7919) % 113 - 56) * scale + shift for i in range(n)]


D, V = 8, 16
config = {"d_model": D, "d_intermediate": 12, "n_layer": 2, "vocab_size": V,
          "ssm_cfg": {"layer": "Mamba2", "d_state": 4, "headdim": 4},
          "attn_layer_idx": [1],
          "attn_cfg": {"causal": True, "head_dim": 4, "num_heads": 2, "num_heads_kv": 1,
                       "rotary_emb_dim": 4},
          "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
          "pad_vocab_size_multiple": 16, "tie_embeddings": True}

emb = f32_storage("0", seq(V * D, 0.01))
inproj = f32_storage("1", seq(16 * D, 0.02))
inbias = f32_storage("2", seq(16, 0.5))
fc1 = f32_storage("3", seq(24 * D, 0.03))
fc2 = f32_storage("4", seq(D * 12, 0.04))
shared = f32_storage("5", seq(10, 0.25))  # two tensors share it at offsets 0 and 4
bf = Storage(BFloat16Storage, "6", bytes([0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40, 0x01, 0x00]), 2)
hf = Storage(HalfStorage, "7", struct.pack("<4e", 1.0, -2.5, 65504.0, 2.0 ** -24), 2)
storages = [emb, inproj, inbias, fc1, fc2, shared, bf, hf]
state = collections.OrderedDict([
    ("backbone.embedding.weight", T(emb, 0, (V, D))),
    ("backbone.layers.0.mixer.dt_bias", T(shared, 0, (4,))),
    ("backbone.layers.0.mixer.D", T(shared, 4, (2, 3))),
    ("backbone.layers.0.mixer.A_log", T(bf, 0, (4,))),
    ("backbone.layers.0.mixer.norm.weight", T(hf, 0, (4,))),
    ("backbone.layers.1.mixer.in_proj.weight", T(inproj, 0, (16, D))),
    ("backbone.layers.1.mixer.in_proj.bias", T(inbias, 0, (16,))),
    ("backbone.layers.1.mlp.fc1.weight", T(fc1, 0, (24, D))),
    ("backbone.layers.1.mlp.fc2.weight", T(fc2, 0, (D, 12))),
    ("lm_head.weight", T(emb, 0, (V, D))),
])


def rows(storage, itemsize, dtype, r0, r1, ncols):
    return values_of(dtype, storage.raw[r0 * ncols * itemsize:r1 * ncols * itemsize])


expected = {
    "backbone.embeddings.weight": ("F32", [V, D], values_of("F32", emb.raw)),
    "backbone.layers.0.mixer.dt_bias": ("F32", [4], values_of("F32", shared.raw)[0:4]),
    "backbone.layers.0.mixer.D": ("F32", [2, 3], values_of("F32", shared.raw)[4:10]),
    "backbone.layers.0.mixer.A_log": ("BF16", [4], values_of("BF16", bf.raw)),
    "backbone.layers.0.mixer.norm.weight": ("F16", [4], [1.0, -2.5, 65504.0, 2.0 ** -24]),
    "backbone.layers.1.mixer.q_proj.weight": ("F32", [8, D], rows(inproj, 4, "F32", 0, 8, D)),
    "backbone.layers.1.mixer.k_proj.weight": ("F32", [4, D], rows(inproj, 4, "F32", 8, 12, D)),
    "backbone.layers.1.mixer.v_proj.weight": ("F32", [4, D], rows(inproj, 4, "F32", 12, 16, D)),
    "backbone.layers.1.mixer.q_proj.bias": ("F32", [8], rows(inbias, 4, "F32", 0, 8, 1)),
    "backbone.layers.1.mixer.k_proj.bias": ("F32", [4], rows(inbias, 4, "F32", 8, 12, 1)),
    "backbone.layers.1.mixer.v_proj.bias": ("F32", [4], rows(inbias, 4, "F32", 12, 16, 1)),
    "backbone.layers.1.mlp.up_proj.weight": ("F32", [12, D], rows(fc1, 4, "F32", 0, 12, D)),
    "backbone.layers.1.mlp.gate_proj.weight": ("F32", [12, D], rows(fc1, 4, "F32", 12, 24, D)),
    "backbone.layers.1.mlp.down_proj.weight": ("F32", [D, 12], values_of("F32", fc2.raw)),
}


def f32(x):
    """x rounded to float32 (%.9g identifies a float32 uniquely)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def read_safetensors(path):
    """An independent, minimal safetensors reader."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    meta = header.pop("__metadata__", None)
    out, ends = {}, []
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], info["shape"], values_of(info["dtype"], data[base + b:base + e]))
        ends.append((b, e))
    ends.sort()
    contiguous = all(ends[i][1] == ends[i + 1][0] for i in range(len(ends) - 1))
    return out, meta, n % 8 == 0 and contiguous and ends[0][0] == 0 and ends[-1][1] == len(data) - base


def run(src, dst):
    return subprocess.run([sys.executable, CONVERTER, src, dst], capture_output=True, text=True)


def make_src(tmp, name, state_obj=state, pkl=None, stores=storages, zip_ok=True):
    src = os.path.join(tmp, name)
    os.makedirs(src)
    with open(os.path.join(src, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if zip_ok:
        torch_zip(os.path.join(src, "pytorch_model.bin"), state_obj, stores, pkl)
    else:
        with open(os.path.join(src, "pytorch_model.bin"), "wb") as f:
            pickle.dump({"a": 1}, f)
    return src


def test_round_trip(tmp):
    src = make_src(tmp, "good")
    dst = os.path.join(tmp, "good_out")
    r = run(src, dst)
    check(r.returncode == 0, f"conversion failed: {r.stderr}")
    if r.returncode:
        return
    got, meta, layout_ok = read_safetensors(os.path.join(dst, "model.safetensors"))
    check(layout_ok, "header padded to 8 and tensors tile the data region")
    check(meta == {"format": "pt"}, f"metadata {meta}")
    check(set(got) == set(expected), f"names differ: {sorted(set(got) ^ set(expected))}")
    for name, want in expected.items():
        check(got.get(name) == want, f"{name}: got {got.get(name)!r:.200} want {want!r:.200}")
    with open(os.path.join(src, "config.json"), "rb") as a, open(os.path.join(dst, "config.json"), "rb") as b:
        check(a.read() == b.read(), "config.json copied byte for byte")
    # The same file through ssdc's C reader.
    d = subprocess.run([DUMP, "--dump", os.path.join(dst, "model.safetensors")],
                       capture_output=True, text=True)
    check(d.returncode == 0, f"C reader rejected the converted file: {d.stderr}")
    lines = {ln.split(" ")[0]: ln.split(" ")[1:] for ln in d.stdout.splitlines()}
    for name, (dtype, shape, vals) in expected.items():
        ln = lines.get(name)
        ok = (ln is not None and ln[0] == dtype and ln[1] == "[" + ",".join(map(str, shape)) + "]"
              and [f32(float(v)) for v in ln[2:]] == vals)
        check(ok, f"C reader disagrees on {name}: {ln!r:.200}")


def expect_failure(tmp, name, needle, **kw):
    src = make_src(tmp, name, **kw)
    r = run(src, os.path.join(tmp, name + "_out"))
    check(r.returncode == 1 and needle in r.stderr, f"{name}: rc {r.returncode}, stderr {r.stderr!r}")
    check(not os.path.exists(os.path.join(tmp, name + "_out", "model.safetensors")),
          f"{name}: no output on failure")


def test_hostile(tmp):
    marker = os.path.join(tmp, "pwned")
    cmd = f"touch {marker}".encode()
    evil = (b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"\x85R.")
    expect_failure(tmp, "evil_os", "refusing pickle global os.system", pkl=evil)
    code = f"open({marker!r}, 'w')".encode()
    evil2 = (b"\x80\x02cbuiltins\neval\nq\x00X" + struct.pack("<I", len(code)) + code + b"\x85R.")
    expect_failure(tmp, "evil_eval", "refusing pickle global builtins.eval", pkl=evil2)
    check(not os.path.exists(marker), "hostile pickle ran code")
    strided = collections.OrderedDict([("x", T(emb, 0, (D, V), stride=(1, D)))])
    expect_failure(tmp, "strided", "only contiguous", state_obj=strided)
    expect_failure(tmp, "nostorage", "missing from the archive", stores=storages[1:])
    big = collections.OrderedDict([("x", T(shared, 8, (4,)))])
    expect_failure(tmp, "pastend", "shorter than its tensors need", state_obj=big)
    expect_failure(tmp, "notzip", "not a torch zip archive", zip_ok=False)
    bad_pid = b"\x80\x02(X\x07\x00\x00\x00storageq\x00tQ."
    expect_failure(tmp, "badpid", "unsupported persistent id", pkl=bad_pid)
    expect_failure(tmp, "notdict", "does not hold a state dict", state_obj=[1, 2])


def test_golden(tmp, golden):
    src = os.path.join(golden, "ssm_format")
    ref = os.path.join(golden, "mamba2_g2", "model.safetensors")
    if not (os.path.exists(os.path.join(src, "pytorch_model.bin")) and os.path.exists(ref)):
        print("test_convert: golden fixtures absent, torch-made check skipped")
        return
    dst = os.path.join(tmp, "golden_out")
    r = run(src, dst)
    check(r.returncode == 0, f"golden conversion failed: {r.stderr}")
    if r.returncode:
        return
    got, _, layout_ok = read_safetensors(os.path.join(dst, "model.safetensors"))
    want, _, _ = read_safetensors(ref)
    check(layout_ok, "golden: layout")
    check(set(got) == set(want), f"golden: names differ: {sorted(set(got) ^ set(want))}")
    for name in want:
        check(got.get(name) == want[name], f"golden: {name} differs from transformers' file")


with tempfile.TemporaryDirectory() as tmp:
    test_round_trip(tmp)
    test_hostile(tmp)
    if len(sys.argv) > 3:
        test_golden(tmp, sys.argv[3])
if failures:
    print(f"test_convert: {failures} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("test_convert: ok")
