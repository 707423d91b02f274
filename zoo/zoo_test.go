package zoo

import (
	"bytes"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
)

func TestBuildIsDeterministic(t *testing.T) {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		var first [2][]byte
		for run := 0; run < 2; run++ {
			q, f, err := Build(name, Options{Seed: 3, Threads: 1 + run})
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range []*format.Model{q, f} {
				b, err := format.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					first[i] = b
				} else if !bytes.Equal(first[i], b) {
					t.Errorf("%s: model %d differs between two builds with the same seed", name, i)
				}
			}
		}
		q, _, err := Build(name, Options{Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := format.Marshal(q)
		if bytes.Equal(b, first[0]) {
			t.Errorf("%s: seeds 3 and 4 give the same model", name)
		}
	}
}

func TestViTShape(t *testing.T) {
	q, f, err := Build("vit-micro", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Ops) < len(f.Ops) {
		t.Errorf("int8 model has %d ops, float %d", len(q.Ops), len(f.Ops))
	}
	in := q.Tensors[q.Inputs[0]]
	if in.DType != format.Int8 || in.Quant == nil {
		t.Errorf("int8 model input is %v", in.DType)
	}
	// 2 blocks × (qkv, proj, fc1, fc2) + head, all with per-channel weights.
	fcs := 0
	for _, op := range q.Ops {
		if op.Code == format.OpFullyConnected {
			fcs++
			w := q.Tensors[op.Inputs[1]]
			if len(w.Quant.Scale) != int(w.Shape[0]) {
				t.Errorf("%s: %d weight scales for %d channels", op.Name, len(w.Quant.Scale), w.Shape[0])
			}
		}
	}
	if fcs != 2*4+1 {
		t.Errorf("%d FullyConnected ops, want 9", fcs)
	}
	if _, _, err := Build("nope", Options{}); err == nil {
		t.Error("unknown zoo name accepted")
	}
}
