"""deit_onnx.py writes two ONNX DeiT-tiny models of edgeinfer's zoo shape
(224x224x3 input, patch 16, width 192, 3 heads, 12 blocks, MLP 768, 1000
classes) for timing ONNX Runtime against `edgeinfer bench`:

  deit_f32.onnx   torchvision's VisionTransformer with seeded weights, float32
  deit_int8.onnx  the same graph in QDQ form: int8 per-channel weights and
                  int8 activations (QuantizeLinear/DequantizeLinear on
                  every MatMul, Gemm and Conv input and output), which ONNX
                  Runtime fuses into QLinearMatMul, QGemm and QLinearConv

Activation scales are one fixed range, [-8, 8], for every tensor (the
outputs are not meaningful; the timing does not depend on the scales). Usage: /usr/bin/python3 deit_onnx.py OUTDIR
"""
import sys

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torchvision.models.vision_transformer import VisionTransformer


def export_float(path):
    torch.manual_seed(7)
    m = VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=3,
                          hidden_dim=192, mlp_dim=768, num_classes=1000).eval()
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(m, x, path, input_names=["image"], output_names=["logits"],
                      opset_version=17)


def qdq(model):
    """Inserts QuantizeLinear/DequantizeLinear (int8) before every MatMul,
    Gemm and Conv input: per-tensor asymmetric activations, per-channel
    symmetric weights."""
    inits = {i.name: i for i in model.graph.initializer}
    nodes = []
    added = []
    done = {}

    def act(name):
        if name in done:
            return done[name]
        lo, hi = -8.0, 8.0
        s = max(hi - lo, 1e-6) / 255.0
        zp = int(np.clip(round(-128 - lo / s), -128, 127))
        sn, zn = name + "_qs", name + "_qz"
        added.append(numpy_helper.from_array(np.array(s, np.float32), sn))
        added.append(numpy_helper.from_array(np.array(zp, np.int8), zn))
        nodes.append(helper.make_node("QuantizeLinear", [name, sn, zn], [name + "_q"]))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", sn, zn], [name + "_dq"]))
        done[name] = name + "_dq"
        return done[name]

    def weight(name, axis):
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        red = tuple(i for i in range(w.ndim) if i != axis)
        s = np.maximum(np.abs(w).max(axis=red), 1e-8) / 127.0
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / s.reshape(shape)), -127, 127).astype(np.int8)
        qn, sn, zn = name + "_i8", name + "_ws", name + "_wz"
        added.append(numpy_helper.from_array(q, qn))
        added.append(numpy_helper.from_array(s.astype(np.float32), sn))
        added.append(numpy_helper.from_array(np.zeros(s.shape, np.int8), zn))
        nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [name + "_wdq"], axis=axis))
        return name + "_wdq"

    for n in model.graph.node:
        if n.op_type in ("MatMul", "Gemm", "Conv"):
            ins = list(n.input)
            for i in range(2):
                if ins[i] in inits:
                    w = numpy_helper.to_array(inits[ins[i]])
                    if w.ndim < 2:
                        continue
                    if n.op_type == "Conv":
                        axis = 0
                    elif n.op_type == "Gemm":
                        tb = next((a.i for a in n.attribute if a.name == "transB"), 0)
                        axis = 0 if tb else 1
                    else:
                        axis = w.ndim - 1
                    ins[i] = weight(ins[i], axis)
                elif ins[i]:
                    ins[i] = act(ins[i])
            del n.input[:]
            n.input.extend(ins)
            # The output quantized too, so that ONNX Runtime fuses
            # DQ → op → Q into QLinearMatMul, QGemm and QLinearConv.
            out = n.output[0]
            n.output[0] = out + "_f"
            nodes.append(n)
            s, z = out + "_os", out + "_oz"
            added.append(numpy_helper.from_array(np.array(16.0 / 255, np.float32), s))
            added.append(numpy_helper.from_array(np.array(0, np.int8), z))
            nodes.append(helper.make_node("QuantizeLinear", [out + "_f", s, z], [out + "_oq"]))
            nodes.append(helper.make_node("DequantizeLinear", [out + "_oq", s, z], [out]))
            continue
        nodes.append(n)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(added)
    used = {i for n in model.graph.node for i in n.input}
    keep = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    return model


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    f32 = out + "/deit_f32.onnx"
    export_float(f32)
    q = qdq(onnx.load(f32))
    onnx.checker.check_model(q)
    onnx.save(q, out + "/deit_int8.onnx")
    print("wrote", f32, out + "/deit_int8.onnx")


if __name__ == "__main__":
    main()
