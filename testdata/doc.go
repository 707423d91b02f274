// Package testdata holds the small models and inputs edgeinfer's tests and
// README use: the zoo's seeded models, ten real MNIST digits (digits/, with
// MNIST's attribution in digits/SOURCE.txt) and a trained MNIST ViT
// converted to int8 with ZOO-Prune after its first block (mnist-vit.eim:
// vits/mnist_reg4.onnx, which tools/vitcorpus trains on MNIST test images
// 0–4999), the README's first command. Everything here except vits/
// (written by tools/vitcorpus) is generated deterministically by
//
//	go generate ./testdata
//
// and committed; CI regenerates it and fails if anything changed. Both
// steps calibrate on the reference kernels (EDGEINFER_KERNELS=ref), whose
// float results do not depend on the CPU. A change
// to the ONNX importer, ZOO-Prune or calibration that changes what
// convert writes changes mnist-vit.eim: regenerate it in the same commit.
package testdata

//go:generate go run ./gen
//go:generate env EDGEINFER_KERNELS=ref go run ../cmd/edgeinfer convert vits/mnist_reg4.onnx mnist-vit.eim --name mnist-vit --prune zoo --prune-after-block 0 --calibrate ../../shared/data/mnist --calib-offset 0 --calib-count 500 --scale 0.00392156862745098 --mean 0.1307 --std 0.3081
