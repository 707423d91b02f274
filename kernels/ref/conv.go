package ref

import "github.com/edgeinfer/edgeinfer/kernels"

// Conv2DInt8 computes the output rows r = n·OH + oh with
// p.RowLo ≤ r < p.RowHi of a convolution over x [N,H,W,Cin] with weights
// w [Cout,KH,KW,Cin] into out [N,OH,OW,Cout]:
//
//	out[n,oh,ow,co] = p.Out.Requantize(Bias[co] +
//	    Σ_{kh,kw,ci} (x[n,ih,iw,ci] − InZP)·w[co,kh,kw,ci], co)
//
// with ih = oh·StrideH − PadTop + kh·DilationH and iw = ow·StrideW −
// PadLeft + kw·DilationW. Taps that fall in the padding are skipped, which
// is the same as padding with the zero point. A nil Bias counts as zero.
// Rows outside [RowLo, RowHi) of out are not touched.
func Conv2DInt8(p *kernels.ConvParams, x, w, out []int8) {
	H, W, Cin, Cout := p.H, p.W, p.Cin, p.Cout
	KH, KW := p.KH, p.KW
	perImage := H * W * Cin
	perCout := KH * KW * Cin
	perRow := p.OW * Cout
	w = w[:Cout*perCout]
	zp := p.InZP
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : n*perImage+perImage]
		or := out[r*perRow : r*perRow+perRow]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			// With unit width dilation and no horizontal padding in the
			// window, the KW·Cin values of one kernel row are contiguous in
			// both x and w: one dot product per kernel row.
			wide := p.DilationW == 1 && iw0 >= 0 && iw0+KW <= W
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
					wrow := wc[kh*KW*Cin : (kh+1)*KW*Cin]
					if wide {
						acc += dotInt8(xrow[iw0*Cin:(iw0+KW)*Cin], wrow, zp)
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := iw0 + kw*p.DilationW
						if iw < 0 || iw >= W {
							continue
						}
						acc += dotInt8(xrow[iw*Cin:(iw+1)*Cin], wrow[kw*Cin:(kw+1)*Cin], zp)
					}
				}
				op[co] = p.Out.Requantize(acc, co)
			}
		}
	}
}

// Conv2DFloat is Conv2DInt8 in float32 (no zero point):
//
//	out[n,oh,ow,co] = clamp(BiasF[co] + Σ_{kh,kw,ci} x[n,ih,iw,ci]·w[co,kh,kw,ci],
//	                        ActMin, ActMax)
//
// over the in-bounds taps of output rows [RowLo, RowHi).
func Conv2DFloat(p *kernels.ConvParams, x, w, out []float32) {
	H, W, Cin, Cout := p.H, p.W, p.Cin, p.Cout
	KH, KW := p.KH, p.KW
	perImage := H * W * Cin
	perCout := KH * KW * Cin
	perRow := p.OW * Cout
	w = w[:Cout*perCout]
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : n*perImage+perImage]
		or := out[r*perRow : r*perRow+perRow]
		ih0 := oh*p.StrideH - p.PadTop
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			wide := p.DilationW == 1 && iw0 >= 0 && iw0+KW <= W
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
					wrow := wc[kh*KW*Cin : (kh+1)*KW*Cin]
					if wide {
						acc += dotFloat(xrow[iw0*Cin:(iw0+KW)*Cin], wrow)
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
		}
	}
}

// DepthwiseConv2DInt8 computes the output rows [RowLo, RowHi) of a
// depthwise convolution over x [N,H,W,Cin] with weights
// w [1,KH,KW,Cout], Cout = Cin·DepthMultiplier, into out [N,OH,OW,Cout].
// Output channel co reads input channel co/DepthMultiplier:
//
//	out[n,oh,ow,co] = p.Out.Requantize(Bias[co] +
//	    Σ_{kh,kw} (x[n,ih,iw,co/DepthMultiplier] − InZP)·w[kh,kw,co], co)
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
	zp := p.InZP
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
								acc[j] += (int32(xs[j]) - zp) * int32(wt[j])
							}
						} else {
							for j := range acc {
								acc[j] += (int32(px[(c0+j)/mult]) - zp) * int32(wt[j])
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
