package serve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func payloadFor(id uint64) []byte {
	return []byte(fmt.Sprintf(`{"id":%d,"pad":"%s"}`, id, strings.Repeat("x", int(id%37))))
}

func appendN(t *testing.T, s *Spool, n int) []uint64 {
	t.Helper()
	var ids []uint64
	for range n {
		id, err := s.Append(func(id uint64, b []byte) []byte { return append(b, payloadFor(id)...) })
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// readAll reads every unacknowledged record and checks each payload.
func readAll(t *testing.T, s *Spool) []uint64 {
	t.Helper()
	var ids []uint64
	recs := make([]Record, 0, 7)
	after := uint64(0)
	for {
		got, err := s.Read(after, recs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			return ids
		}
		for _, r := range got {
			if string(r.Payload) != string(payloadFor(r.ID)) {
				t.Fatalf("record %d: payload %q, want %q", r.ID, r.Payload, payloadFor(r.ID))
			}
			ids = append(ids, r.ID)
			after = r.ID
		}
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func TestSpoolAppendReadAckReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{SegmentBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := appendN(t, s, 100)
	if ids[0] != 1 || ids[99] != 100 {
		t.Fatalf("ids %d..%d, want 1..100", ids[0], ids[99])
	}
	if n := len(segFiles(t, dir)); n < 5 {
		t.Fatalf("%d segments for 100 records of ~40 bytes in 1000-byte segments", n)
	}
	if got := readAll(t, s); len(got) != 100 || got[0] != 1 || got[99] != 100 {
		t.Fatalf("read %d records", len(got))
	}
	if err := s.Ack(60); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(1000); err == nil {
		t.Error("ack of a record never appended accepted")
	}
	st := s.Stats()
	if st.Depth != 40 || st.Acked != 60 || st.Appended != 100 || st.NextID != 101 {
		t.Errorf("stats %+v, want depth 40, acked 60, appended 100, next 101", st)
	}
	for _, f := range segFiles(t, dir) {
		first, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(f), segSuffix), 10, 64)
		if first+20 < 60 {
			t.Errorf("segment %s starting at %d outlived the ack of 60", f, first)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(func(_ uint64, b []byte) []byte { return b }); !errors.Is(err, ErrSpoolClosed) {
		t.Errorf("append after close: %v", err)
	}

	s, err = OpenSpool(dir, SpoolOptions{SegmentBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s)
	if len(got) != 40 || got[0] != 61 || got[39] != 100 {
		t.Fatalf("after reopen read %v, want 61..100", got)
	}
	if id := appendN(t, s, 1)[0]; id != 101 {
		t.Errorf("next id after reopen %d, want 101", id)
	}
	// Everything acknowledged: the ids still go on after a reopen.
	if err := s.Ack(101); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSpool(dir, SpoolOptions{SegmentBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readAll(t, s); len(got) != 0 {
		t.Errorf("acknowledged records read again: %v", got)
	}
	if id := appendN(t, s, 1)[0]; id != 102 {
		t.Errorf("next id after everything was acknowledged %d, want 102", id)
	}
}

// A power cut can leave a torn record at the end of the newest segment:
// it is detected (length or CRC), cut off and never read, and its id is
// not given to a later record.
func TestSpoolTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(size int64) int64 // new size
		flip bool                   // flip a payload byte instead
	}{
		{"torn in header", func(n int64) int64 { return n - int64(len(payloadFor(20))) - 5 }, false},
		{"torn in payload", func(n int64) int64 { return n - 3 }, false},
		{"bad crc", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenSpool(dir, SpoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, s, 20)
			s.Close()
			segs := segFiles(t, dir)
			last := segs[len(segs)-1]
			fi, _ := os.Stat(last)
			if tc.flip {
				b, _ := os.ReadFile(last)
				b[len(b)-2] ^= 0x40
				os.WriteFile(last, b, 0o600)
			} else {
				os.Truncate(last, tc.cut(fi.Size()))
			}
			s, err = OpenSpool(dir, SpoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if c := s.Stats().Corrupt; c != 1 {
				t.Errorf("corrupt = %d, want 1", c)
			}
			got := readAll(t, s)
			if len(got) != 19 || got[18] != 19 {
				t.Fatalf("read %v, want 1..19", got)
			}
			if id := appendN(t, s, 1)[0]; id != 21 {
				t.Errorf("next id %d, want 21 (20 was torn and may have been published)", id)
			}
			got = readAll(t, s)
			if len(got) != 20 || got[19] != 21 {
				t.Errorf("after an append read %v, want 1..19, 21", got)
			}
		})
	}
}

// A corrupt record inside an older segment cuts that segment there; the
// later segments are read as they are.
func TestSpoolCorruptMiddleSegment(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 60)
	s.Close()
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	b, _ := os.ReadFile(segs[1])
	b[headerSize+1] ^= 0xff // first record of the second segment
	os.WriteFile(segs[1], b, 0o600)
	first2, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(segs[1]), segSuffix), 10, 64)
	first3, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(segs[2]), segSuffix), 10, 64)
	s, err = OpenSpool(dir, SpoolOptions{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s)
	want := int(60 - (first3 - first2))
	if len(got) != want || got[len(got)-1] != 60 {
		t.Errorf("read %d records ending %d, want %d ending 60", len(got), got[len(got)-1], want)
	}
	for _, id := range got {
		if id >= first2 && id < first3 {
			t.Errorf("record %d of the corrupt segment was read", id)
		}
	}
}

// On its size limit the spool drops the oldest records, counts them, and
// keeps going.
func TestSpoolSizeLimit(t *testing.T) {
	dir := t.TempDir()
	const max = MinSpoolBytes
	s, err := OpenSpool(dir, SpoolOptions{MaxBytes: max, SegmentBytes: 4096, Sync: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendN(t, s, 5000)
	st := s.Stats()
	if st.Bytes > max {
		t.Errorf("spool holds %d bytes, limit %d", st.Bytes, max)
	}
	if st.Dropped == 0 || st.Dropped+st.Depth != 5000 {
		t.Errorf("dropped %d + depth %d, want 5000 with some dropped", st.Dropped, st.Depth)
	}
	got := readAll(t, s)
	if uint64(len(got)) != st.Depth || got[len(got)-1] != 5000 || got[0] != st.Dropped+1 {
		t.Errorf("read %d records %d..%d; stats %+v", len(got), got[0], got[len(got)-1], st)
	}
	// Records being published when their segment is dropped: acking them
	// later is harmless, and the counters stay right.
	if err := s.Ack(got[10]); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 2000)
	st2 := s.Stats()
	if st2.Dropped+st2.Depth+st2.Acked != 7000 {
		t.Errorf("dropped %d + depth %d + acked %d, want 7000", st2.Dropped, st2.Depth, st2.Acked)
	}
	s.Close()
	s2, err := OpenSpool(dir, SpoolOptions{MaxBytes: max, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := readAll(t, s2); uint64(len(got)) != st2.Depth || got[len(got)-1] != 7000 {
		t.Errorf("after reopen read %d records, want %d ending 7000", len(got), st2.Depth)
	}
}

func TestSpoolBadOptionsAndRecords(t *testing.T) {
	if _, err := OpenSpool(t.TempDir(), SpoolOptions{MaxBytes: 1000}); err == nil {
		t.Error("a 1000-byte spool accepted")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "junk"+segSuffix), nil, 0o600)
	if _, err := OpenSpool(dir, SpoolOptions{}); err == nil || !strings.Contains(err.Error(), "junk") {
		t.Errorf("a foreign .seg file: %v", err)
	}
	s, err := OpenSpool(t.TempDir(), SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := make([]byte, MaxRecord+1)
	if _, err := s.Append(func(_ uint64, b []byte) []byte { return append(b, big...) }); !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("oversized record: %v", err)
	}
	if id := appendN(t, s, 1)[0]; id != 1 {
		t.Errorf("id after a refused record %d, want 1", id)
	}
}
