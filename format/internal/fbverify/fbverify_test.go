package fbverify

import (
	"errors"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
)

// A small schema that uses every kind: Root{version: uint32, name: string,
// data: [int32], nodes: [Node], tags: [string], kind: ubyte, body: union
// {Leaf}}, Node{next: Node}, Leaf{x: int64}.
var (
	node = &TableSpec{Name: "Node"}
	leaf = &TableSpec{Name: "Leaf", Fields: []Field{Sc("x", 8)}}
	root = &TableSpec{Name: "Root", Fields: []Field{
		Sc("version", 4), Str("name"), Vec("data", 4), TVec("nodes", node), SVec("tags"),
		Sc("kind", 1), Un("body", []*TableSpec{nil, leaf}),
	}}
)

func init() { node.Fields = []Field{Tbl("next", node)} }

var roomy = Limits{MaxDepth: 16, MaxTables: 1000}

// build writes a Root with a chain of depth nested Nodes, refs entries in
// nodes that all point at the chain's head, and (kind, body) as given:
// body < 0 leaves the union value out.
func build(depth, refs int, kind byte, body int) []byte {
	b := flatbuffers.NewBuilder(0)
	var next flatbuffers.UOffsetT
	for i := 0; i < depth; i++ {
		b.StartObject(1)
		if next != 0 {
			b.PrependUOffsetTSlot(0, next, 0)
		}
		next = b.EndObject()
	}
	var l flatbuffers.UOffsetT
	if body >= 0 {
		b.StartObject(1)
		b.PrependInt64Slot(0, int64(body), 0)
		l = b.EndObject()
	}
	name := b.CreateString("root")
	tag := b.CreateString("t")
	b.StartVector(4, 1, 4)
	b.PrependUOffsetT(tag)
	tags := b.EndVector(1)
	b.StartVector(4, 3, 4)
	for i := 0; i < 3; i++ {
		b.PrependInt32(int32(i))
	}
	data := b.EndVector(3)
	b.StartVector(4, refs, 4)
	for i := 0; i < refs; i++ {
		b.PrependUOffsetT(next)
	}
	nodes := b.EndVector(refs)
	b.StartObject(7)
	b.PrependUint32Slot(0, 3, 0)
	b.PrependUOffsetTSlot(1, name, 0)
	b.PrependUOffsetTSlot(2, data, 0)
	b.PrependUOffsetTSlot(3, nodes, 0)
	b.PrependUOffsetTSlot(4, tags, 0)
	b.PrependByteSlot(5, kind, 0)
	if l != 0 {
		b.PrependUOffsetTSlot(6, l, 0)
	}
	b.FinishWithFileIdentifier(b.EndObject(), []byte("TEST"))
	return b.FinishedBytes()
}

// wantErr checks that err is an *Error at a path that starts with path
// and mentions frag.
func wantErr(t *testing.T, err error, path, frag string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *Error at %q mentioning %q", err, path, frag)
	}
	if !strings.HasPrefix(e.Path, path) || !strings.Contains(e.Msg, frag) {
		t.Fatalf("got %q at %q, want %q at %q…", e.Msg, e.Path, frag, path)
	}
}

func TestVerify(t *testing.T) {
	ok := build(3, 1, 1, 7)
	if err := Verify(ok, root, roomy); err != nil {
		t.Fatalf("well-formed buffer: %v", err)
	}
	if v, present, err := RootScalar(ok, 0, 4); v != 3 || !present || err != nil {
		t.Fatalf("RootScalar(version) = %d, %v, %v; want 3", v, present, err)
	}
	if _, present, err := RootScalar(build(1, 1, 0, -1), 6, 4); present || err != nil {
		t.Fatalf("RootScalar of an absent field: present %v, %v", present, err)
	}
	// Every byte truncated away: an error, never a panic.
	for n := 0; n < len(ok); n++ {
		if Verify(ok[:n:n], root, roomy) == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(ok))
		}
	}
}

func TestLimits(t *testing.T) {
	deep := build(6, 1, 0, -1)
	if err := Verify(deep, root, Limits{MaxDepth: 6, MaxTables: 100}); err != nil {
		t.Fatalf("depth 6 under MaxDepth 6: %v", err)
	}
	wantErr(t, Verify(deep, root, Limits{MaxDepth: 5, MaxTables: 100}), "nodes[0].next.next.next.next.next", "nested more than 5 deep")

	shared := build(4, 50, 0, -1) // 1 + 50·4 table visits
	if err := Verify(shared, root, Limits{MaxDepth: 8, MaxTables: 201}); err != nil {
		t.Fatalf("201 visits under MaxTables 201: %v", err)
	}
	wantErr(t, Verify(shared, root, Limits{MaxDepth: 8, MaxTables: 200}), "nodes[49].next.next.next", "more than 200 table visits")
	wantErr(t, Verify(shared, root, Limits{MaxDepth: 8, MaxTables: 1000, MaxBytes: uint64(len(shared))}), "nodes[", "shared or overlapping")
}

func TestUnion(t *testing.T) {
	for _, c := range []struct {
		kind      byte
		body      int
		path, bad string
	}{
		{0, -1, "", ""},
		{1, 5, "", ""},
		{9, 5, "", ""}, // a member this schema does not know: header only
		{1, -1, "body", "union type 1 without a value"},
		{0, 5, "body", "union value without a type"},
	} {
		err := Verify(build(1, 1, c.kind, c.body), root, roomy)
		if c.bad == "" {
			if err != nil {
				t.Errorf("kind %d body %d: %v", c.kind, c.body, err)
			}
			continue
		}
		wantErr(t, err, c.path, c.bad)
	}
}
