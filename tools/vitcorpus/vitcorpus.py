#!/usr/bin/python3
"""A corpus of small ViT structures exported to ONNX, and small ViTs trained on MNIST.

    /usr/bin/python3 tools/vitcorpus/vitcorpus.py export [-o DIR]
    /usr/bin/python3 tools/vitcorpus/vitcorpus.py train  [-o DIR] [--mnist DIR] [--only NAME,...]

`export` writes the structural corpus (seeded random weights, every family);
`train` trains the MNIST models. Both write NAME.onnx, NAME_input.npy and one
NAME_out_OUTPUT.npy per graph output (PyTorch's values for that input), and
merge their entries into DIR/manifest.json. See README.md beside this file.
"""

import argparse
import fcntl
import gzip
import json
import math
import os
import sys
import time
import zlib

import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 17
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


# ---------------------------------------------------------------------------
# One configurable ViT covering the custom families.


class Attention(nn.Module):
    def __init__(self, dim, heads, fused):
        super().__init__()
        self.heads, self.dh, self.fused = heads, dim // heads, fused
        if fused:
            self.qkv = nn.Linear(dim, 3 * dim)
        else:
            self.q = nn.Linear(dim, dim)
            self.k = nn.Linear(dim, dim)
            self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        if self.fused:
            qkv = self.qkv(x).reshape(b, t, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            def split(y):
                return y.reshape(b, t, self.heads, self.dh).transpose(1, 2)
            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = (q @ k.transpose(-2, -1)) * (self.dh ** -0.5)
        a = a.softmax(dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y), a


class Block(nn.Module):
    def __init__(self, dim, heads, mlp, fused, post_norm, act):
        super().__init__()
        self.post_norm = post_norm
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, fused)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.act = nn.GELU() if act == "gelu" else nn.ReLU()
        self.fc2 = nn.Linear(mlp, dim)

    def mlp(self, x):
        return self.fc2(self.act(self.fc1(x)))

    def forward(self, x):
        if self.post_norm:
            y, a = self.attn(x)
            x = self.norm1(x + y)
            x = self.norm2(x + self.mlp(x))
        else:
            y, a = self.attn(self.norm1(x))
            x = x + y
            x = x + self.mlp(self.norm2(x))
        return x, a


class ViT(nn.Module):
    """Tokens are [class][distillation][registers (front)] patches [registers (end)]."""

    def __init__(self, image=(28, 28), patch=4, chans=1, dim=32, depth=2, heads=2, mlp=64,
                 classes=10, fused=True, post_norm=False, act="gelu", cls=True, dist=False,
                 registers=0, reg_pos="front", head="cls", attn_maps=(), maps_first=False):
        super().__init__()
        assert head in ("cls", "dist", "gap")
        assert not dist or cls
        self.grid = (image[0] // patch, image[1] // patch)
        self.npatch = self.grid[0] * self.grid[1]
        self.cls, self.dist, self.nreg, self.reg_pos = cls, dist, registers, reg_pos
        self.head_kind, self.attn_maps, self.post_norm = head, tuple(attn_maps), post_norm
        self.maps_first = maps_first
        self.embed = nn.Conv2d(chans, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02) if cls else None
        self.dist_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02) if dist else None
        self.reg_tokens = nn.Parameter(torch.randn(1, registers, dim) * 0.02) if registers else None
        self.pos = nn.Parameter(torch.randn(1, self.npatch, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp, fused, post_norm, act) for _ in range(depth))
        self.norm = nn.Identity() if post_norm else nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        self.head_dist = nn.Linear(dim, classes) if head == "dist" else None

    def special(self):
        """Positions of the special tokens by kind, and the first patch row."""
        pos, i = {}, 0
        if self.cls:
            pos["class"] = [i]
            i += 1
        if self.dist:
            pos["distillation"] = [i]
            i += 1
        if self.nreg and self.reg_pos == "front":
            pos["register"] = list(range(i, i + self.nreg))
            i += self.nreg
        first = i
        if self.nreg and self.reg_pos == "end":
            pos["register"] = list(range(i + self.npatch, i + self.npatch + self.nreg))
        return pos, first

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2) + self.pos  # [1, N, D]
        b = x.shape[0]
        front = []
        if self.cls:
            front.append(self.cls_token.expand(b, -1, -1))
        if self.dist:
            front.append(self.dist_token.expand(b, -1, -1))
        if self.nreg and self.reg_pos == "front":
            front.append(self.reg_tokens.expand(b, -1, -1))
        parts = front + [x]
        if self.nreg and self.reg_pos == "end":
            parts.append(self.reg_tokens.expand(b, -1, -1))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else x
        _, first = self.special()
        maps = []
        for i, blk in enumerate(self.blocks):
            x, a = blk(x)
            if i in self.attn_maps:
                row = a[:, :, 0, first:first + self.npatch]
                maps.append(row.reshape(b, a.shape[1], self.grid[0], self.grid[1]))
        x = self.norm(x)
        if self.head_kind == "cls":
            logits = self.head(x[:, 0])
        elif self.head_kind == "dist":
            logits = (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        else:
            logits = self.head(x[:, first:first + self.npatch].mean(dim=1))
        if not maps:
            return logits
        return (*maps, logits) if self.maps_first else (logits, *maps)


# ---------------------------------------------------------------------------
# The corpus.


def torchvision_vit(image=28, patch=4, dim=32, depth=2, heads=2, mlp=64):
    import torchvision
    m = torchvision.models.VisionTransformer(image_size=image, patch_size=patch, num_layers=depth,
                                             num_heads=heads, hidden_dim=dim, mlp_dim=mlp,
                                             num_classes=10)
    m.conv_proj = nn.Conv2d(1, dim, patch, patch)
    # torchvision starts the head at zero, which would make every logit equal
    # its (zero) bias; give it random weights like the rest.
    nn.init.normal_(m.heads.head.weight, std=0.2)
    nn.init.normal_(m.heads.head.bias, std=0.2)
    return m


# name -> (constructor kwargs, input shape, extra manifest facts)
STRUCTURES = {
    "tv_vit": dict(family="torchvision", tv=dict(), features=["torchvision VisionTransformer",
                   "nn.MultiheadAttention (sequence-first [T,1,D] inside)", "fused qkv", "pre-norm", "gelu", "class token"]),
    "tv_vit_p7": dict(family="torchvision", tv=dict(patch=7, depth=3, heads=4),
                      features=["torchvision VisionTransformer", "nn.MultiheadAttention", "patch 7 (4x4 grid)", "gelu", "class token"]),
    "tv_vit_dynbatch": dict(family="torchvision", tv=dict(), dynamic_batch=True,
                            features=["torchvision VisionTransformer", "nn.MultiheadAttention", "symbolic batch dimension"]),
    "deit_dist_dynbatch": dict(family="deit", vit=dict(dist=True, head="dist"), dynamic_batch=True,
                               features=["class token", "distillation token", "two heads", "symbolic batch dimension"]),
    "tv_vit_nofold": dict(family="torchvision", tv=dict(), export=dict(do_constant_folding=False),
                          features=["torchvision VisionTransformer", "nn.MultiheadAttention", "exported without constant folding"]),
    "gap_reg4_initin": dict(family="gap", vit=dict(cls=False, head="gap", registers=4),
                            export=dict(keep_initializers_as_inputs=True),
                            features=["no class token", "4 registers", "mean over patch tokens", "weights also listed as graph inputs (keep_initializers_as_inputs)"]),
    "cls_fused_pre_gelu": dict(family="cls", vit=dict(), features=["class token", "fused qkv", "pre-norm", "gelu"]),
    "cls_sep_pre_relu": dict(family="cls", vit=dict(fused=False, act="relu", depth=3),
                             features=["class token", "separate q/k/v", "pre-norm", "relu"]),
    "cls_fused_post_gelu": dict(family="cls", vit=dict(post_norm=True), features=["class token", "fused qkv", "post-norm", "gelu"]),
    "cls_sep_post_relu_opset13": dict(family="cls", vit=dict(fused=False, post_norm=True, act="relu"), opset=13,
                                      features=["class token", "separate q/k/v", "post-norm", "relu", "opset 13 (LayerNorm decomposed)"]),
    "deit_dist": dict(family="deit", vit=dict(dist=True, head="dist"),
                      features=["class token", "distillation token", "head averages two heads (rows 0 and 1)", "fused qkv", "pre-norm", "gelu"]),
    "deit_dist_sep_relu_p7": dict(family="deit", vit=dict(dist=True, head="dist", fused=False, act="relu", patch=7, depth=3),
                                  features=["class token", "distillation token", "two heads", "separate q/k/v", "relu", "patch 7 (4x4 grid)"]),
    "gap_fused_gelu": dict(family="gap", vit=dict(cls=False, head="gap"), features=["no class token", "mean over tokens head", "fused qkv", "pre-norm", "gelu"]),
    "gap_sep_post_relu": dict(family="gap", vit=dict(cls=False, head="gap", fused=False, post_norm=True, act="relu"),
                              features=["no class token", "mean over tokens head", "separate q/k/v", "post-norm", "relu"]),
    "gap_reg4": dict(family="gap", vit=dict(cls=False, head="gap", registers=4),
                     features=["no class token", "4 register tokens (front)", "mean over patch tokens", "gelu"]),
    "reg4_cls": dict(family="registers", vit=dict(registers=4), features=["class token", "4 register tokens after the class token", "fused qkv", "gelu"]),
    "reg4_end_sep": dict(family="registers", vit=dict(registers=4, reg_pos="end", fused=False),
                         features=["class token", "4 register tokens after the patches", "separate q/k/v", "gelu"]),
    "attnmap_all": dict(family="attention-maps", vit=dict(attn_maps=(0, 1)),
                        features=["class token", "CLS-attention map of every block as extra outputs", "fused qkv", "gelu"]),
    "attnmap_b1_dist_reg": dict(family="attention-maps", vit=dict(attn_maps=(1,), dist=True, head="dist", registers=4, depth=3),
                                features=["class token", "distillation token", "4 registers", "CLS-attention map of block 1", "gelu"]),
    "grid4x6_cls": dict(family="cls", vit=dict(image=(28, 42), patch=7), image=(28, 42),
                        features=["class token", "non-square input 28x42, patch 7 (4x6 grid)", "gelu"]),
    "grid4x6_gap": dict(family="gap", vit=dict(image=(32, 48), patch=8, cls=False, head="gap"), image=(32, 48),
                             features=["no class token", "non-square input 32x48, patch 8 (4x6 grid)", "gelu"]),
    "grid4x6_attnmap_reg": dict(family="attention-maps", vit=dict(image=(28, 42), patch=7, registers=2, attn_maps=(0,)), image=(28, 42),
                                features=["class token", "2 registers", "non-square 4x6 grid", "CLS-attention map of block 0"]),
}


def describe(name, model, spec, output_names, opset):
    """The manifest entry for one model."""
    if isinstance(model, ViT):
        special, first = model.special()
        grid = list(model.grid)
        blocks = len(model.blocks)
        patch = model.embed.kernel_size[0]
        head = model.head_kind
    else:  # torchvision
        special, first = {"class": [0]}, 1
        n = model.image_size // model.patch_size
        grid, blocks, patch, head = [n, n], len(model.encoder.layers), model.patch_size, "cls"
    image = list(spec.get("image", (28, 28)))
    return {
        "name": name,
        "file": name + ".onnx",
        "family": spec["family"],
        "features": spec["features"],
        "opset": opset,
        "input": {"file": name + "_input.npy", "shape": [1, 1] + image},
        "patch_size": patch,
        "patch_grid": grid,
        "patch_tokens": grid[0] * grid[1],
        "first_patch_row": first,
        "special_tokens": {k: {"count": len(v), "positions": v} for k, v in special.items()},
        "special_token_count": sum(len(v) for v in special.values()),
        "blocks": blocks,
        "head": head,
        "outputs": [{"name": o, "file": f"{name}_out_{o}.npy"} for o in output_names],
        "logits": "logits",
    }


def export(model, name, x, outdir, opset, output_names, dynamic_batch=False, options=None):
    """Exports model on input x and writes its reference files; returns the output shapes."""
    model.eval()
    path = os.path.join(outdir, name + ".onnx")
    with torch.no_grad():
        ys = model(x)
        ys = ys if isinstance(ys, tuple) else (ys,)
    # Gradients stay on while tracing: without them nn.MultiheadAttention takes
    # its fused fast path (aten::_native_multi_head_attention), which has no
    # ONNX export.
    axes = {n: {0: "batch"} for n in ["input"] + output_names} if dynamic_batch else None
    kw = dict(do_constant_folding=True, dynamic_axes=axes)
    kw.update(options or {})
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=["input"],
                      output_names=output_names, **kw)
    np.save(os.path.join(outdir, name + "_input.npy"), x.numpy().astype(np.float32))
    shapes = []
    for o, y in zip(output_names, ys):
        assert y.abs().max() > 0 and y.std() > 0, f"{name}: output {o} is constant"

        np.save(os.path.join(outdir, f"{name}_out_{o}.npy"), y.numpy().astype(np.float32))
        shapes.append(list(y.shape))
    return shapes


def output_names_of(model):
    if isinstance(model, ViT) and model.attn_maps:
        maps = [f"attn_block{i}" for i in model.attn_maps]
        return maps + ["logits"] if model.maps_first else ["logits"] + maps
    return ["logits"]


def logits_of(model, out):
    if not isinstance(out, tuple):
        return out
    return out[-1] if model.maps_first else out[0]


def cmd_export(args):
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    entries = []
    for name, spec in sorted(STRUCTURES.items()):
        if args.only and name not in args.only:
            continue
        seed = zlib.crc32(name.encode())  # a model's weights do not depend on the others
        torch.manual_seed(seed)
        model = torchvision_vit(**spec["tv"]) if "tv" in spec else ViT(**spec["vit"])
        image = spec.get("image", (28, 28))
        x = torch.randn(1, 1, *image)
        opset = spec.get("opset", OPSET)
        names = output_names_of(model)
        shapes = export(model, name, x, args.out, opset, names, spec.get("dynamic_batch", False),
                        spec.get("export"))
        e = describe(name, model, spec, names, opset)
        e["dynamic_batch"] = spec.get("dynamic_batch", False)
        e["export_options"] = spec.get("export", {})
        for o, s in zip(e["outputs"], shapes):
            o["shape"] = s
        e["trained"] = False
        e["seed"] = seed
        entries.append(e)
        size = os.path.getsize(os.path.join(args.out, name + ".onnx"))
        print(f"{name}: {size} bytes, outputs {shapes}", flush=True)
    merge_manifest(args.out, entries)


def merge_manifest(outdir, entries):
    """Adds or replaces entries in outdir/manifest.json (locked: `train --only` runs may go in parallel)."""
    fd = os.open(outdir, os.O_RDONLY)  # lock the directory: no lock file left behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        write_manifest(outdir, entries)
    finally:
        os.close(fd)


def write_manifest(outdir, entries):
    path = os.path.join(outdir, "manifest.json")
    models = {}
    if os.path.exists(path):
        with open(path) as f:
            models = {m["name"]: m for m in json.load(f)["models"]}
    for e in entries:
        models[e["name"]] = e
    doc = {
        "about": "ViT corpus written by tools/vitcorpus/vitcorpus.py; see tools/vitcorpus/README.md. "
                 "Per model: NAME.onnx, NAME_input.npy (the float input, NCHW) and NAME_out_OUTPUT.npy "
                 "(PyTorch's value of each graph output for that input).",
        "models": [models[k] for k in sorted(models)],
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------------------
# Training on MNIST test images 0-4999, evaluation on 5000-9999.


def read_mnist(d):
    with gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz")) as f:
        b = f.read()
    assert int.from_bytes(b[:4], "big") == 2051, "not an idx3 image file"
    n, h, w = (int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    imgs = np.frombuffer(b, np.uint8, n * h * w, 16).reshape(n, 1, h, w)
    with gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz")) as f:
        b = f.read()
    assert int.from_bytes(b[:4], "big") == 2049, "not an idx1 label file"
    labels = np.frombuffer(b, np.uint8, int.from_bytes(b[4:8], "big"), 8)
    return imgs, labels


def unit(u8):
    return torch.from_numpy(u8.astype(np.float32)) / 255


def normalise(x):
    return (x - MNIST_MEAN) / MNIST_STD


TRAINED = {
    "mnist_cls_attn": dict(features=["class token", "fused qkv", "pre-norm", "gelu",
                                     "CLS-attention map of every block as outputs 0-2, logits last"],
                           vit=dict(attn_maps=(0, 1, 2), maps_first=True)),
    "mnist_reg4": dict(features=["class token", "4 register tokens", "fused qkv", "pre-norm", "gelu"], vit=dict(registers=4)),
    "mnist_deit": dict(features=["class token", "distillation token", "head averages two heads (rows 0 and 1)", "gelu"],
                       vit=dict(dist=True, head="dist")),
    "mnist_gap": dict(features=["no class token", "mean over tokens head", "gelu"], vit=dict(cls=False, head="gap")),
}
TRAIN_ARCH = dict(dim=48, depth=3, heads=3, mlp=96, patch=4)


def augment(x, gen, kind):
    """Random small shifts ("shift": up to 2 pixels) or affine maps ("affine": rotation up to
    10 degrees, scale 0.9-1.1, shift up to 2 pixels) of images in [0, 1], background 0."""
    b = x.shape[0]
    if kind == "none":
        return x
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=gen)
    tx, ty = u(-2, 2) * 2 / 28, u(-2, 2) * 2 / 28  # affine_grid works in [-1, 1]
    if kind == "shift":
        ang, sc = torch.zeros(b), torch.ones(b)
    else:
        ang, sc = u(-10, 10) * math.pi / 180, u(0.9, 1.1)
    c, s_ = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([c, -s_, tx], 1), torch.stack([s_, c, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def accuracy(model, x, y):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), 500):
            preds.append(logits_of(model, model(x[i:i + 500])).argmax(1))
    preds = torch.cat(preds)
    return (preds == y).float().mean().item(), preds


def cmd_train(args):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    imgs, labels = read_mnist(args.mnist)
    xtr, ytr = unit(imgs[:5000]), torch.from_numpy(labels[:5000].astype(np.int64))
    xte, yte = normalise(unit(imgs[5000:10000])), torch.from_numpy(labels[5000:10000].astype(np.int64))
    entries = []
    for name, spec in TRAINED.items():
        if args.only and name not in args.only:
            continue
        seed = args.seed
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = ViT(**TRAIN_ARCH, **spec["vit"])
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
        steps = args.epochs * math.ceil(5000 / args.batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
        t0 = time.time()
        for ep in range(args.epochs):
            model.train()
            perm = torch.randperm(5000, generator=gen)
            total = 0.0
            for i in range(0, 5000, args.batch):
                idx = perm[i:i + args.batch]
                xb = normalise(augment(xtr[idx], gen, args.aug))
                out = logits_of(model, model(xb))
                loss = F.cross_entropy(out, ytr[idx], label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            msg = f"{name} epoch {ep + 1}/{args.epochs} loss {total / 5000:.4f} ({time.time() - t0:.0f}s)"
            if (ep + 1) % 5 == 0 or ep + 1 == args.epochs:
                msg += f" top-1 on 5000-9999 {accuracy(model, xte, yte)[0]:.4f}"
            print(msg, flush=True)
        top1, preds = accuracy(model, xte, yte)
        np.save(os.path.join(args.out, name + "_preds.npy"), preds.numpy().astype(np.int32))
        x = xte[:1].clone()  # MNIST test image 5000, preprocessed
        names = output_names_of(model)
        shapes = export(model, name, x, args.out, OPSET, names)
        entry = describe(name, model, {"family": "trained", "features": spec["features"]}, names, OPSET)
        for o, s in zip(entry["outputs"], shapes):
            o["shape"] = s
        entry.update({
            "trained": True,
            "seed": seed,
            "input_note": "MNIST test image 5000, preprocessed",
            "preprocessing": {"scale": 1 / 255, "mean": [MNIST_MEAN], "std": [MNIST_STD],
                              "formula": "x' = (x/255 - 0.1307)/0.3081"},
            "training": {"data": "MNIST test images 0-4999 (CC BY-SA 3.0, LeCun, Cortes, Burges)",
                         "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                         "augmentation": args.aug, "arch": TRAIN_ARCH,
                         "seconds": round(time.time() - t0)},
            "top1_mnist_test_5000_9999": top1,
            "predictions": {"file": name + "_preds.npy", "first_image": 5000, "count": len(preds),
                            "note": "PyTorch's top-1 class (int32) for each MNIST test image 5000-9999"},
        })
        entries.append(entry)
        print(f"{name}: top-1 {top1:.4f} on MNIST test images 5000-9999, "
              f"{os.path.getsize(os.path.join(args.out, name + '.onnx'))} bytes", flush=True)
    merge_manifest(args.out, entries)


def main():
    warnings.filterwarnings("ignore")
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write the structural corpus (random weights)")
    t = sub.add_parser("train", help="train the MNIST ViTs")
    for s in (e, t):
        s.add_argument("-o", "--out", default=os.path.join(root, "testdata", "vits"))
        s.add_argument("--only", type=lambda v: set(v.split(",")), default=None,
                       help="comma-separated model names")
    t.add_argument("--mnist", default=os.path.join(root, "..", "shared", "data", "mnist"))
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--aug", choices=("none", "shift", "affine"), default="affine")
    t.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    {"export": cmd_export, "train": cmd_train}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
