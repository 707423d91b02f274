#!/usr/bin/python3
"""Export torchvision's classification families to ONNX with random weights.

    /usr/bin/python3 tools/tvexport/export.py -o DIR [--only NAME,...] [--list]

For each model it writes DIR/NAME.onnx, DIR/NAME_input.npy (a seeded input
image, N×C×H×W float32) and DIR/NAME_logits.npy (PyTorch's logits for that
input), and records the model in DIR/manifest.json. The weights are random
(seeded): the models test structure — which operators an export holds and
whether our import computes what PyTorch computes — not accuracy. Inputs are
as small as each architecture allows, so the tests stay fast.

Batch-norm statistics and affine parameters, which a fresh model holds at
their identity values (mean 0, variance 1, weight 1, bias 0), are drawn at
random too, so that folding them is actually tested; so are the weights of
linear layers initialized to zero (ViT's classification head).

Used by format/onnx's TestTorchvision*, which run it into a cache folder.
Needs torch and torchvision (Debian python3-torch, python3-torchvision),
imported only to export (--list does without); onnx is not needed.
"""

import argparse
import json
import os
import sys

OPSET = 17

# name -> (builder, builder kwargs, input height and width, heavy).
# One member per family (a second where the family has two structures:
# RegNet X and Y, Swin v1 and v2, SqueezeNet 1.0 and 1.1). Heavy models
# (hundreds of MB of weights, or 224×224 inputs the architecture needs)
# run only in the full test, not with -short.
MODELS = {
    "alexnet": ("alexnet", {}, 224, True),
    "convnext_tiny": ("convnext_tiny", {}, 64, False),
    "densenet121": ("densenet121", {}, 64, False),
    "efficientnet_b0": ("efficientnet_b0", {}, 64, False),
    "efficientnet_v2_s": ("efficientnet_v2_s", {}, 64, False),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": True}, 64, False),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": True}, 75, False),
    "maxvit_t": ("maxvit_t", {}, 224, True),
    "mnasnet0_5": ("mnasnet0_5", {}, 64, False),
    "mobilenet_v2": ("mobilenet_v2", {}, 64, False),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 64, False),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, 64, False),
    "regnet_x_400mf": ("regnet_x_400mf", {}, 64, False),
    "regnet_y_400mf": ("regnet_y_400mf", {}, 64, False),
    "resnet18": ("resnet18", {}, 64, False),
    "resnext50_32x4d": ("resnext50_32x4d", {}, 64, False),
    "shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", {}, 64, False),
    "squeezenet1_0": ("squeezenet1_0", {}, 64, False),
    "squeezenet1_1": ("squeezenet1_1", {}, 64, False),
    "swin_t": ("swin_t", {}, 64, False),
    "swin_v2_t": ("swin_v2_t", {}, 64, False),
    "vgg11_bn": ("vgg11_bn", {}, 224, True),
    "vit_b_16": ("vit_b_16", {"image_size": 32}, 32, True),
    "wide_resnet50_2": ("wide_resnet50_2", {}, 64, True),
}


def perturb_norms(model, gen):
    """Gives every batch norm random statistics and affine parameters, and
    every linear layer initialized to zero (ViT's head) random weights, so
    that the logits are not all zero."""
    import torch
    for m in model.modules():
        if isinstance(m, torch.nn.Linear) and not m.weight.detach().any():
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.1)


def export(name, out):
    import numpy as np
    import torch
    import torchvision
    builder, kwargs, size, _ = MODELS[name]
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = getattr(torchvision.models, builder)(weights=None, **kwargs)
    perturb_norms(model, gen)
    model.eval()
    x = torch.randn(1, 3, size, size, generator=gen)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out, name + ".onnx")
    # torch 1.13 cannot export the in-place Tensor.zero_ that Swin v2 applies
    # to a copy of its qkv bias; multiplying by zero in place is the same
    # value and exports (as a constant, once folded).
    zero = torch.Tensor.zero_
    torch.Tensor.zero_ = lambda t: t.mul_(0)
    try:
        torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True)
    finally:
        torch.Tensor.zero_ = zero
    np.save(os.path.join(out, name + "_input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, name + "_logits.npy"), y.numpy().astype(np.float32))
    return {"name": name, "file": name + ".onnx", "input": name + "_input.npy",
            "logits": name + "_logits.npy", "size": size, "builder": builder,
            "torchvision": torchvision.__version__, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", help="output folder")
    ap.add_argument("--only", help="comma-separated model names (default: all)")
    ap.add_argument("--list", action="store_true", help="print the models, one a line: name size heavy")
    a = ap.parse_args()
    if a.list:
        for n, (_, _, size, heavy) in MODELS.items():
            print(n, size, "heavy" if heavy else "light")
        return
    if not a.out:
        ap.error("-o DIR is needed")
    names = a.only.split(",") if a.only else list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit(f"unknown model {n!r}; --list names them")
    os.makedirs(a.out, exist_ok=True)
    mpath = os.path.join(a.out, "manifest.json")
    doc = {"models": []}
    if os.path.exists(mpath):
        with open(mpath) as f:
            doc = json.load(f)
    entries = {e["name"]: e for e in doc["models"]}
    for n in names:
        entries[n] = export(n, a.out)
        print("exported", n, file=sys.stderr)
        # Written after every model, so an interrupted run keeps what it did.
        doc["models"] = sorted(entries.values(), key=lambda e: e["name"])
        tmp = mpath + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, mpath)


if __name__ == "__main__":
    main()
