#!/usr/bin/env python3
"""convert_mamba_ssm.py: a state-spaces (mamba_ssm) checkpoint -> safetensors.

ssdc reads safetensors, not pickles.  mamba_ssm checkpoints (state-spaces/
mamba-*, mamba2-*, hybrids) ship a pytorch_model.bin: a torch zip archive
whose data.pkl is a pickle of the state dict, with each tensor's bytes in
data/<key>.  This script reads that archive WITHOUT torch (and without numpy)
and writes DIR_OUT/model.safetensors plus DIR_OUT/config.json copied as-is
(ssdc reads mamba_ssm's config keys through the model files' @ssm(...)
annotations).

Safety: the pickle is untrusted.  It is read by a restricted Unpickler that
resolves only the handful of globals torch writes for a state dict
(collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
_rebuild_parameter, torch.<Float|Half|BFloat16|Long|Int>Storage) to our own
handlers, and refuses every other global, so a hostile file cannot run code.

Names: backbone.embedding.weight -> backbone.embeddings.weight (HF layout);
everything else keeps its mamba_ssm name, except in hybrids:
  - attention layers (config attn_layer_idx): mixer.in_proj (legacy
    mixer.Wqkv) rows [q | k | v] (mamba_ssm mha.py: q is num_heads*head_dim
    rows, then k and v num_heads_kv*head_dim each) -> mixer.q_proj, mixer.k_proj,
    mixer.v_proj (weight and bias); mixer.out_proj is kept;
  - gated MLPs (d_intermediate > 0): mlp.fc1 rows [y | gate] (mamba_ssm
    mlp.py: y * silu(gate)) -> mlp.up_proj (y) and mlp.gate_proj (gate), and
    mlp.fc2 -> mlp.down_proj, the HF Bamba names.
lm_head.weight is dropped when it is the embedding's own storage (tied).

Usage: convert_mamba_ssm.py SRC_DIR DST_DIR
"""
import collections
import json
import os
import pickle
import struct
import sys
import zipfile

DTYPES = {  # torch storage class -> (safetensors dtype, element size)
    "FloatStorage": ("F32", 4),
    "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2),
    "LongStorage": ("I64", 8),
    "IntStorage": ("I32", 4),
}


class ConvertError(Exception):
    pass


class StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype, self.itemsize = DTYPES[name]


class Storage:
    """A storage named by a persistent id; its bytes are read on demand."""

    def __init__(self, archive, stype, key, numel):
        self.archive, self.stype, self.key, self.numel = archive, stype, key, numel


class Tensor:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
        self.dtype = storage.stype.dtype

    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def data(self):
        it = self.storage.stype.itemsize
        raw = self.storage.archive.read_storage(self.storage.key)
        begin, end = self.offset * it, (self.offset + self.numel()) * it
        if self.offset + self.numel() > self.storage.numel or self.storage.numel * it > len(raw):
            raise ConvertError(f"storage {self.storage.key} is shorter than its tensors need")
        return raw[begin:end]


def _contiguous(shape, stride):
    expect = 1
    for size, st in zip(reversed(shape), reversed(stride)):
        if size != 1 and st != expect:
            return False
        expect *= size
    return True


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    if not isinstance(storage, Storage):
        raise ConvertError("tensor without a storage")
    shape, stride = tuple(int(d) for d in size), tuple(int(s) for s in stride)
    if len(shape) != len(stride) or any(d < 0 for d in shape) or offset < 0:
        raise ConvertError("malformed tensor record")
    if not _contiguous(shape, stride):
        raise ConvertError(f"tensor of shape {shape} has strides {stride}: only contiguous "
                           "tensors are supported")
    return Tensor(storage, int(offset), shape, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None, *rest):
    return data


class RestrictedUnpickler(pickle.Unpickler):
    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, f, archive):
        super().__init__(f)
        self.archive = archive

    def find_class(self, module, name):
        if module == "torch" and name in DTYPES:
            return StorageType(name)
        fn = self.ALLOWED.get((module, name))
        if fn is None:
            raise ConvertError(f"refusing pickle global {module}.{name} (not part of a torch "
                               "state dict; the file may be hostile)")
        return fn

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage"
                or not isinstance(pid[1], StorageType) or not isinstance(pid[2], str)
                or not isinstance(pid[4], int) or pid[4] < 0):
            raise ConvertError(f"unsupported persistent id {pid!r:.80}")
        return Storage(self.archive, pid[1], pid[2], pid[4])


class TorchArchive:
    """The torch zip layout: <prefix>/data.pkl and <prefix>/data/<key>."""

    def __init__(self, path):
        if not zipfile.is_zipfile(path):
            raise ConvertError(f"{path}: not a torch zip archive (the legacy non-zip torch "
                               "format is not supported)")
        self.zip = zipfile.ZipFile(path)
        pkls = [n for n in self.zip.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise ConvertError(f"{path}: expected one <prefix>/data.pkl, found {len(pkls)}")
        self.prefix = pkls[0][: -len("data.pkl")]
        order = self.prefix + "byteorder"
        if order in self.zip.namelist() and self.zip.read(order).strip() != b"little":
            raise ConvertError(f"{path}: big-endian archives are not supported")
        self.cache = {}

    def read_storage(self, key):
        if key not in self.cache:
            name = self.prefix + "data/" + key
            try:
                self.cache[key] = self.zip.read(name)
            except KeyError:
                raise ConvertError(f"storage {key!r} is missing from the archive") from None
        return self.cache[key]

    def state_dict(self):
        with self.zip.open(self.prefix + "data.pkl") as f:
            obj = RestrictedUnpickler(f, self).load()
        for wrapper in ("state_dict", "model"):
            if isinstance(obj, dict) and set(obj) == {wrapper}:
                obj = obj[wrapper]
        if not isinstance(obj, dict) or not all(
                isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()):
            raise ConvertError("data.pkl does not hold a state dict of tensors")
        return obj


def _split_rows(t, sizes, what):
    """Split a tensor along dim 0 into parts with the given row counts."""
    if t.shape[0] != sum(sizes):
        raise ConvertError(f"{what}: {t.shape[0]} rows, expected {' + '.join(map(str, sizes))}")
    per_row = t.numel() // t.shape[0] if t.shape[0] else 0
    parts, row = [], 0
    for n in sizes:
        parts.append(Tensor(t.storage, t.offset + row * per_row, (n,) + t.shape[1:],
                            t.stride))
        row += n
    return parts


def _attention_dims(cfg):
    attn = cfg.get("attn_cfg") or {}
    nh = attn.get("num_heads")
    if not isinstance(nh, int) or nh <= 0:
        raise ConvertError("config attn_cfg.num_heads missing for a hybrid checkpoint")
    nkv = attn.get("num_heads_kv") or nh
    hd = attn.get("head_dim") or cfg["d_model"] // nh
    return nh * hd, nkv * hd


def convert_names(sd, cfg):
    """The output {name: Tensor} in HF-style names (see the module docstring)."""
    out = {}
    attn_layers = set(cfg.get("attn_layer_idx") or [])
    prefixes = {f"backbone.layers.{i}.mixer." for i in attn_layers}
    for name, t in sd.items():
        if name == "backbone.embedding.weight":
            out["backbone.embeddings.weight"] = t
            continue
        if name == "lm_head.weight":
            emb = sd.get("backbone.embedding.weight")
            if emb is not None and emb.storage.key == t.storage.key and emb.offset == t.offset:
                continue  # tied: the same storage as the embedding
        mixer = next((p for p in prefixes if name.startswith(p)), None)
        base = name.rsplit(".", 1)
        if mixer and name[len(mixer):].split(".")[0] in ("in_proj", "Wqkv"):
            q, kv = _attention_dims(cfg)
            if len(t.shape) not in (1, 2):
                raise ConvertError(f"{name}: unexpected rank {len(t.shape)}")
            for part, pn in zip(_split_rows(t, [q, kv, kv], name), ("q_proj", "k_proj", "v_proj")):
                out[f"{mixer}{pn}.{base[1]}"] = part
        elif ".mlp.fc1." in name:
            if t.shape[0] % 2:
                raise ConvertError(f"{name}: odd number of rows {t.shape[0]}")
            h = t.shape[0] // 2
            stem = name.split(".mlp.fc1.")[0] + ".mlp."
            up, gate = _split_rows(t, [h, h], name)
            out[stem + "up_proj." + base[1]] = up
            out[stem + "gate_proj." + base[1]] = gate
        elif ".mlp.fc2." in name:
            out[name.replace(".mlp.fc2.", ".mlp.down_proj.")] = t
        else:
            out[name] = t
    return out


def write_safetensors(path, tensors, metadata=None):
    """Write {name: Tensor} as safetensors, atomically (temp file + rename)."""
    header, offset, order = {}, 0, sorted(tensors)
    if metadata:
        header["__metadata__"] = metadata
    for name in order:
        t = tensors[name]
        nbytes = t.numel() * t.storage.stype.itemsize
        header[name] = {"dtype": t.dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for name in order:
                f.write(tensors[name].data())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert(src, dst):
    with open(os.path.join(src, "config.json"), "rb") as f:
        raw_cfg = f.read()
    cfg = json.loads(raw_cfg)
    if not isinstance(cfg, dict) or "d_model" not in cfg:
        raise ConvertError(f"{src}/config.json is not a mamba_ssm config (no d_model)")
    sd = TorchArchive(os.path.join(src, "pytorch_model.bin")).state_dict()
    tensors = convert_names(sd, cfg)
    os.makedirs(dst, exist_ok=True)
    write_safetensors(os.path.join(dst, "model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(dst, "config.json"), "wb") as f:
        f.write(raw_cfg)
    return tensors


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        tensors = convert(argv[1], argv[2])
    except (ConvertError, OSError, ValueError, KeyError, pickle.UnpicklingError,
            zipfile.BadZipFile, EOFError, TypeError) as e:
        print(f"convert_mamba_ssm: error: {e}", file=sys.stderr)
        return 1
    print(f"convert_mamba_ssm: wrote {len(tensors)} tensors to {argv[2]}/model.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
