package neon

// maxIm2colK bounds the reduction length of a convolution that goes
// through the per-tile im2col buffer on the stack.
const maxIm2colK = 4096
