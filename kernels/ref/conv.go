package ref

import "github.com/edgeinfer/edgeinfer/kernels"

// Conv2DInt8 computes the output rows r = n·OH + oh with
// p.RowLo ≤ r < p.RowHi of a convolution over x [N,H,W,Cin] with weights
// w [Cout,KH,KW,Cin] into out [N,OH,OW,Cout]:
//
//	out[n,oh,ow,co] = p.Out.Requantize(Bias[co] +
//	    Σ_{kh,kw,ci} (x[n,ih,iw,ci] − InZP)·(w[co,kh,kw,ci] − WZP), co)
//
// with ih = oh·StrideH − PadTop + kh·DilationH and iw = ow·StrideW −
// PadLeft + kw·DilationW. Taps that fall in the padding are skipped, which
// is the same as padding with the zero point. A nil Bias counts as zero.
// Rows outside [RowLo, RowHi) of out are not touched.
//
// Where the width dilation is 1 and a window has no horizontal padding,
// the KW·Cin inputs under one kernel row are contiguous in x, as are the
// weights: one dot product per kernel row. Four such neighbouring outputs
// are computed together so that each weight is loaded once for four
// products (FullyConnectedInt8's zero-point rewrite applies).
//
// With p.Groups > 1 the weights are [Cout,KH,KW,Cin/Groups] and the sum
// runs over the input channels of co's group only (see kernels.ConvParams).
func Conv2DInt8(p *kernels.ConvParams, x, w, out []int8) {
	if p.Groups > 1 {
		zp, wzp := p.InZP, p.WZP
		convGrouped(p, x, w, out, func(co int) int32 {
			if p.Bias != nil {
				return p.Bias[co]
			}
			return 0
		}, func(x, w []int8) int32 { return dotWeights(x, w, zp, wzp) }, p.Out.Requantize)
		return
	}
	H, W, Cin, Cout := p.H, p.W, p.Cin, p.Cout
	KH, KW := p.KH, p.KW
	perImage := H * W * Cin
	perCout := KH * KW * Cin
	perRow := p.OW * Cout
	span, step := KW*Cin, p.StrideW*Cin // one kernel row; the step between outputs
	w = w[:Cout*perCout]
	zp := p.InZP
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : n*perImage+perImage]
		or := out[r*perRow : r*perRow+perRow]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; {
			iw0 := ow*p.StrideW - p.PadLeft
			wide := p.DilationW == 1 && iw0 >= 0 && iw0+KW <= W
			if wide && ow+4 <= p.OW && iw0+3*p.StrideW+KW <= W {
				// Four outputs whose windows are all inside the row.
				base := iw0 * Cin
				for co := 0; co < Cout; co++ {
					var b int32
					if p.Bias != nil {
						b = p.Bias[co]
					}
					a0, a1, a2, a3 := b, b, b, b
					wc := w[co*perCout : co*perCout+perCout]
					for kh := 0; kh < KH; kh++ {
						ih := ih0 + kh*p.DilationH
						if ih < 0 || ih >= H {
							continue
						}
						xr := xn[ih*W*Cin+base : (ih+1)*W*Cin]
						s0, s1, s2, s3, sw := dot4Int8(xr[:span], xr[step:step+span], xr[2*step:2*step+span],
							xr[3*step:3*step+span], wc[kh*span:(kh+1)*span], p.WZP)
						c := zp * sw
						a0 += s0 - c
						a1 += s1 - c
						a2 += s2 - c
						a3 += s3 - c
					}
					or[ow*Cout+co] = p.Out.Requantize(a0, co)
					or[(ow+1)*Cout+co] = p.Out.Requantize(a1, co)
					or[(ow+2)*Cout+co] = p.Out.Requantize(a2, co)
					or[(ow+3)*Cout+co] = p.Out.Requantize(a3, co)
				}
				ow += 4
				continue
			}
			op := or[ow*Cout : ow*Cout+Cout]
			for co := range op {
				var acc int32
				if p.Bias != nil {
					acc = p.Bias[co]
				}
				wc := w[co*perCout : co*perCout+perCout]
				for kh := 0; kh < KH; kh++ {
					ih := ih0 + kh*p.DilationH
					if ih < 0 || ih >= H {
						continue
					}
					xrow := xn[ih*W*Cin : (ih+1)*W*Cin]
					wrow := wc[kh*span : (kh+1)*span]
					if wide {
						acc += dotWeights(xrow[iw0*Cin:iw0*Cin+span], wrow, zp, p.WZP)
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := iw0 + kw*p.DilationW
						if iw < 0 || iw >= W {
							continue
						}
						acc += dotWeights(xrow[iw*Cin:(iw+1)*Cin], wrow[kw*Cin:(kw+1)*Cin], zp, p.WZP)
					}
				}
				op[co] = p.Out.Requantize(acc, co)
			}
			ow++
		}
	}
}

// Conv2DFloat is Conv2DInt8 in float32 (no zero point):
//
//	out[n,oh,ow,co] = clamp(BiasF[co] + Σ_{kh,kw,ci} x[n,ih,iw,ci]·w[co,kh,kw,ci],
//	                        ActMin, ActMax)
//
// over the in-bounds taps of output rows [RowLo, RowHi), with the same
// four-output blocking as Conv2DInt8, and the same grouping.
func Conv2DFloat(p *kernels.ConvParams, x, w, out []float32) {
	if p.Groups > 1 {
		convGrouped(p, x, w, out, func(co int) float32 {
			if p.BiasF != nil {
				return p.BiasF[co]
			}
			return 0
		}, dotFloat, func(acc float32, _ int) float32 { return clampF(acc, p.ActMin, p.ActMax) })
		return
	}
	H, W, Cin, Cout := p.H, p.W, p.Cin, p.Cout
	KH, KW := p.KH, p.KW
	perImage := H * W * Cin
	perCout := KH * KW * Cin
	perRow := p.OW * Cout
	span, step := KW*Cin, p.StrideW*Cin
	w = w[:Cout*perCout]
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : n*perImage+perImage]
		or := out[r*perRow : r*perRow+perRow]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; {
			iw0 := ow*p.StrideW - p.PadLeft
			wide := p.DilationW == 1 && iw0 >= 0 && iw0+KW <= W
			if wide && ow+4 <= p.OW && iw0+3*p.StrideW+KW <= W {
				base := iw0 * Cin
				for co := 0; co < Cout; co++ {
					var b float32
					if p.BiasF != nil {
						b = p.BiasF[co]
					}
					a0, a1, a2, a3 := b, b, b, b
					wc := w[co*perCout : co*perCout+perCout]
					for kh := 0; kh < KH; kh++ {
						ih := ih0 + kh*p.DilationH
						if ih < 0 || ih >= H {
							continue
						}
						xr := xn[ih*W*Cin+base : (ih+1)*W*Cin]
						s0, s1, s2, s3 := dot4Float(xr[:span], xr[step:step+span], xr[2*step:2*step+span],
							xr[3*step:3*step+span], wc[kh*span:(kh+1)*span])
						a0 += s0
						a1 += s1
						a2 += s2
						a3 += s3
					}
					or[ow*Cout+co] = clampF(a0, p.ActMin, p.ActMax)
					or[(ow+1)*Cout+co] = clampF(a1, p.ActMin, p.ActMax)
					or[(ow+2)*Cout+co] = clampF(a2, p.ActMin, p.ActMax)
					or[(ow+3)*Cout+co] = clampF(a3, p.ActMin, p.ActMax)
				}
				ow += 4
				continue
			}
			op := or[ow*Cout : ow*Cout+Cout]
			for co := range op {
				var acc float32
				if p.BiasF != nil {
					acc = p.BiasF[co]
				}
				wc := w[co*perCout : co*perCout+perCout]
				for kh := 0; kh < KH; kh++ {
					ih := ih0 + kh*p.DilationH
					if ih < 0 || ih >= H {
						continue
					}
					xrow := xn[ih*W*Cin : (ih+1)*W*Cin]
					wrow := wc[kh*span : (kh+1)*span]
					if wide {
						acc += dotFloat(xrow[iw0*Cin:iw0*Cin+span], wrow)
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := iw0 + kw*p.DilationW
						if iw < 0 || iw >= W {
							continue
						}
						acc += dotFloat(xrow[iw*Cin:(iw+1)*Cin], wrow[kw*Cin:(kw+1)*Cin])
					}
				}
				op[co] = clampF(acc, p.ActMin, p.ActMax)
			}
			ow++
		}
	}
}

// convGrouped is the grouped convolution of Conv2DInt8 and Conv2DFloat:
// for each output pixel and channel co of group g, bias(co) plus one dot
// product per in-bounds tap over the Cin/Groups channels of group g, then
// store(acc, co).
func convGrouped[T int8 | float32, A int32 | float32](p *kernels.ConvParams, x, w, out []T,
	bias func(co int) A, dot func(x, w []T) A, store func(acc A, co int) T) {
	H, W, Cin, Cout, KH, KW := p.H, p.W, p.Cin, p.Cout, p.KH, p.KW
	cg, og := Cin/p.Groups, Cout/p.Groups // channels per group, in and out
	perCout := KH * KW * cg
	w = w[:Cout*perCout]
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*H*W*Cin : (n+1)*H*W*Cin]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			op := out[(r*p.OW+ow)*Cout : (r*p.OW+ow+1)*Cout]
			for co := range op {
				acc := bias(co)
				c0 := co / og * cg
				wc := w[co*perCout : (co+1)*perCout]
				for kh := 0; kh < KH; kh++ {
					ih := ih0 + kh*p.DilationH
					if ih < 0 || ih >= H {
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := iw0 + kw*p.DilationW
						if iw < 0 || iw >= W {
							continue
						}
						px := (ih*W+iw)*Cin + c0
						acc += dot(xn[px:px+cg], wc[(kh*KW+kw)*cg:(kh*KW+kw+1)*cg])
					}
				}
				op[co] = store(acc, co)
			}
		}
	}
}

// DepthwiseConv2DInt8 computes the output rows [RowLo, RowHi) of a
// depthwise convolution over x [N,H,W,Cin] with weights
// w [1,KH,KW,Cout], Cout = Cin·DepthMultiplier, into out [N,OH,OW,Cout].
// Output channel co reads input channel co/DepthMultiplier:
//
//	out[n,oh,ow,co] = p.Out.Requantize(Bias[co] +
//	    Σ_{kh,kw} (x[n,ih,iw,co/DepthMultiplier] − InZP)·(w[kh,kw,co] − WZP), co)
//
// with ih, iw and padding as in Conv2DInt8. A DepthMultiplier of 0 is
// taken as 1.
func DepthwiseConv2DInt8(p *kernels.ConvParams, x, w, out []int8) {
	H, W, Cin, Cout := p.H, p.W, p.Cin, p.Cout
	KH, KW := p.KH, p.KW
	mult := max(p.DepthMultiplier, 1)
	perImage := H * W * Cin
	perRow := p.OW * Cout
	w = w[:KH*KW*Cout]
	zp, wzp := p.InZP, p.WZP
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : n*perImage+perImage]
		or := out[r*perRow : r*perRow+perRow]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			op := or[ow*Cout : ow*Cout+Cout]
			for c0 := 0; c0 < Cout; c0 += accTile {
				var accBuf [accTile]int32
				acc := accBuf[:min(accTile, Cout-c0)]
				if p.Bias != nil {
					copy(acc, p.Bias[c0:])
				}
				for kh := 0; kh < KH; kh++ {
					ih := ih0 + kh*p.DilationH
					if ih < 0 || ih >= H {
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := iw0 + kw*p.DilationW
						if iw < 0 || iw >= W {
							continue
						}
						px := xn[(ih*W+iw)*Cin : (ih*W+iw+1)*Cin]
						wt := w[(kh*KW+kw)*Cout+c0:]
						wt = wt[:len(acc)]
						if mult == 1 {
							xs := px[c0 : c0+len(acc)]
							for j := range acc {
								acc[j] += (int32(xs[j]) - zp) * (int32(wt[j]) - wzp)
							}
						} else {
							for j := range acc {
								acc[j] += (int32(px[(c0+j)/mult]) - zp) * (int32(wt[j]) - wzp)
							}
						}
					}
				}
				for j, v := range acc {
					op[c0+j] = p.Out.Requantize(v, c0+j)
				}
			}
		}
	}
}

// DepthwiseConv2DFloat is DepthwiseConv2DInt8 in float32:
//
//	out[n,oh,ow,co] = clamp(BiasF[co] + Σ_{kh,kw} x[n,ih,iw,co/DepthMultiplier]·w[kh,kw,co],
//	                        ActMin, ActMax)
//
// over the in-bounds taps of output rows [RowLo, RowHi).
func DepthwiseConv2DFloat(p *kernels.ConvParams, x, w, out []float32) {
	H, W, Cin, Cout := p.H, p.W, p.Cin, p.Cout
	KH, KW := p.KH, p.KW
	mult := max(p.DepthMultiplier, 1)
	perImage := H * W * Cin
	perRow := p.OW * Cout
	w = w[:KH*KW*Cout]
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : n*perImage+perImage]
		or := out[r*perRow : r*perRow+perRow]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			op := or[ow*Cout : ow*Cout+Cout]
			for c0 := 0; c0 < Cout; c0 += accTile {
				var accBuf [accTile]float32
				acc := accBuf[:min(accTile, Cout-c0)]
				if p.BiasF != nil {
					copy(acc, p.BiasF[c0:])
				}
				for kh := 0; kh < KH; kh++ {
					ih := ih0 + kh*p.DilationH
					if ih < 0 || ih >= H {
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := iw0 + kw*p.DilationW
						if iw < 0 || iw >= W {
							continue
						}
						px := xn[(ih*W+iw)*Cin : (ih*W+iw+1)*Cin]
						wt := w[(kh*KW+kw)*Cout+c0:]
						wt = wt[:len(acc)]
						if mult == 1 {
							xs := px[c0 : c0+len(acc)]
							for j := range acc {
								acc[j] += float32(xs[j] * wt[j])
							}
						} else {
							for j := range acc {
								acc[j] += float32(px[(c0+j)/mult] * wt[j])
							}
						}
					}
				}
				for j, v := range acc {
					op[c0+j] = clampF(v, p.ActMin, p.ActMax)
				}
			}
		}
	}
}
