#!/usr/bin/env python3
"""make.py OUTDIR writes two QDQ ONNX models as the usual ONNX quantizers
lay them out (QuantizeLinear/DequantizeLinear around every activation,
per-channel int8 weights, int32 biases at s_x*s_w), with random weights
and activation scales from the min/max of the float graph on random
inputs (seed 15):

  cnn.onnx  uint8 activations: Conv 3->8 3x3 + Relu, depthwise Conv 8 3x3
            stride 2 + Relu, GlobalAveragePool, Flatten, Gemm 8->10
  mlp.onnx  int8 activations: MatMul 16->32 + Relu, MatMul 32->16, Add
            (residual), Softmax

Needs python3-onnx and python3-torch (Debian). The Go test
TestQDQAgainstOnnxRuntime runs it and caches the files.
"""
import sys, os
import numpy as np
import torch
import torch.nn.functional as F
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh

rng = np.random.default_rng(15)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def act_params(x, u8):
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    s = (hi - lo) / 255.0
    z = round(-lo / s) if u8 else round(-128 - lo / s)
    return np.float32(s), z


class G:
    def __init__(self, u8):
        self.u8, self.nodes, self.inits, self.n = u8, [], [], 0

    def init(self, name, arr):
        self.inits.append(nh.from_array(arr, name))
        return name

    def qdq(self, x, val):
        s, z = act_params(val, self.u8)
        k = self.n = self.n + 1
        zt = np.array(z, np.uint8 if self.u8 else np.int8)
        self.init(f"s{k}", np.array(s, np.float32))
        self.init(f"z{k}", zt)
        self.nodes.append(h.make_node("QuantizeLinear", [x, f"s{k}", f"z{k}"], [f"{x}_q"], name=f"Q_{x}"))
        self.nodes.append(h.make_node("DequantizeLinear", [f"{x}_q", f"s{k}", f"z{k}"], [f"{x}_dq"], name=f"DQ_{x}"))
        return f"{x}_dq", s

    def weight(self, name, w, axis, sx, b=None):
        """per-channel symmetric int8 weight along axis; int32 bias"""
        red = tuple(i for i in range(w.ndim) if i != axis)
        sw = (np.abs(w).max(axis=red) / 127.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / sw.reshape(shape)), -127, 127).astype(np.int8)
        self.init(name + "_q", q)
        self.init(name + "_s", sw)
        self.init(name + "_z", np.zeros(len(sw), np.int8))
        self.nodes.append(h.make_node("DequantizeLinear", [name + "_q", name + "_s", name + "_z"], [name], name="DQ_" + name, axis=axis))
        wd = torch.tensor(q.astype(np.float32) * sw.reshape(shape))
        if b is None:
            return name, wd, None
        sb = (sx * sw).astype(np.float32)
        bq = np.round(b / sb).astype(np.int32)
        self.init(name + "_bq", bq)
        self.init(name + "_bs", sb)
        self.nodes.append(h.make_node("DequantizeLinear", [name + "_bq", name + "_bs"], [name + "_b"], name="DQ_" + name + "_b", axis=0))
        return name, wd, torch.tensor(bq.astype(np.float32) * sb)

    def save(self, path, inp, outp):
        g = h.make_graph(self.nodes, os.path.basename(path), [inp], [outp], self.inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="edgeinfer-qdqmodels")
        onnx.checker.check_model(m)
        onnx.save(m, path)


def fq(x, s, u8):
    # float value after a QDQ pair, so later ranges see what the model sees
    lo, hi = (0, 255) if u8 else (-128, 127)
    _, z = act_params(x, u8)
    return (torch.clamp(torch.round(x / s) + z, lo, hi) - z) * s


def cnn():
    g = G(True)
    x = torch.tensor(rng.uniform(-1, 1, (64, 3, 16, 16)).astype(np.float32))
    xd, sx = g.qdq("x", x)
    w1, b1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 8).astype(np.float32)
    n, w, b = g.weight("w1", w1, 0, sx, b1)
    g.nodes.append(h.make_node("Conv", [xd, n, n + "_b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]))
    g.nodes.append(h.make_node("Relu", ["c1"], ["r1"], name="relu1"))
    v = F.relu(F.conv2d(x, w, b, padding=1))
    r1, s1 = g.qdq("r1", v)
    v = fq(v, s1, True)
    w2, b2 = rng.normal(0, 0.4, (8, 1, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 8).astype(np.float32)
    n, w, b = g.weight("w2", w2, 0, s1, b2)
    g.nodes.append(h.make_node("Conv", [r1, n, n + "_b"], ["c2"], name="dwconv", pads=[1, 1, 1, 1], strides=[2, 2], group=8))
    g.nodes.append(h.make_node("Relu", ["c2"], ["r2"], name="relu2"))
    v = F.relu(F.conv2d(v, w, b, padding=1, stride=2, groups=8))
    r2, s2 = g.qdq("r2", v)
    v = fq(v, s2, True)
    g.nodes.append(h.make_node("GlobalAveragePool", [r2], ["p"], name="gap"))
    v = v.mean(dim=(2, 3), keepdim=True)
    p, sp = g.qdq("p", v)
    v = fq(v, sp, True)
    g.nodes.append(h.make_node("Flatten", [p], ["f"], name="flatten"))
    w3, b3 = rng.normal(0, 0.5, (10, 8)).astype(np.float32), rng.normal(0, 0.1, 10).astype(np.float32)
    n, w, b = g.weight("w3", w3, 0, sp, b3)
    g.nodes.append(h.make_node("Gemm", ["f", n, n + "_b"], ["y"], name="fc", transB=1))
    v = F.linear(v.flatten(1), w, b)
    g.qdq("y", v)
    g.save(os.path.join(out, "cnn.onnx"), h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 16]),
           h.make_tensor_value_info("y_dq", T.FLOAT, [1, 10]))


def mlp():
    g = G(False)
    x = torch.tensor(rng.normal(0, 1, (256, 4, 16)).astype(np.float32))
    xd, sx = g.qdq("x", x)
    xv = fq(x, sx, False)
    w1, b1 = rng.normal(0, 0.25, (16, 32)).astype(np.float32), rng.normal(0, 0.1, 32).astype(np.float32)
    n, w, _ = g.weight("w1", w1, 1, sx)
    g.nodes.append(h.make_node("MatMul", [xd, n], ["m1"], name="fc1"))
    g.init("b1", b1)
    g.nodes.append(h.make_node("Add", ["m1", "b1"], ["a1"], name="bias1"))
    g.nodes.append(h.make_node("Relu", ["a1"], ["r1"], name="relu1"))
    v = F.relu(xv @ w + torch.tensor(b1))
    r1, s1 = g.qdq("r1", v)
    v = fq(v, s1, False)
    w2 = rng.normal(0, 0.2, (32, 16)).astype(np.float32)
    n, w, _ = g.weight("w2", w2, 1, s1)
    g.nodes.append(h.make_node("MatMul", [r1, n], ["m2"], name="fc2"))
    v = v @ w
    m2, s2 = g.qdq("m2", v)
    v = fq(v, s2, False)
    g.nodes.append(h.make_node("Add", [m2, xd], ["res"], name="residual"))
    v = v + xv
    res, s3 = g.qdq("res", v)
    g.nodes.append(h.make_node("Softmax", [res], ["sm"], name="softmax", axis=-1))
    sm = g.init("sms", np.array(1 / 256, np.float32))
    g.init("smz", np.array(-128, np.int8))
    g.nodes.append(h.make_node("QuantizeLinear", ["sm", "sms", "smz"], ["sm_q"], name="Q_sm"))
    g.nodes.append(h.make_node("DequantizeLinear", ["sm_q", "sms", "smz"], ["y"], name="DQ_sm"))
    g.save(os.path.join(out, "mlp.onnx"), h.make_tensor_value_info("x", T.FLOAT, [1, 4, 16]),
           h.make_tensor_value_info("y", T.FLOAT, [1, 4, 16]))


cnn()
mlp()
