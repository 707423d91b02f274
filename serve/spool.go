package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The spool keeps results on disk until the broker has acknowledged them.
//
// It is a folder of segment files named by the id of their first record
// (%020d.seg) and one file, "acked", holding the id of the last record the
// broker acknowledged. A record is
//
//	length  uint32 little endian: bytes of payload
//	crc     uint32 little endian: CRC-32C of id and payload
//	id      uint64 little endian: ids increase by one across segments
//	payload length bytes
//
// written with one write call, so a killed process leaves whole records
// (the page cache keeps them) and a power cut at most a torn tail, which
// Open detects by its length or CRC and cuts off. Ids never repeat: the
// newest segment file is never deleted, so its name (or its last record)
// tells the next id after a restart.

// Spool errors.
var (
	// ErrSpoolClosed reports use of a spool after Close.
	ErrSpoolClosed = errors.New("spool closed")
	// ErrRecordTooLarge reports a payload above MaxRecord.
	ErrRecordTooLarge = errors.New("spool record too large")
)

// MaxRecord is the largest payload a spool record holds.
const MaxRecord = 1 << 20

const (
	headerSize = 16
	segSuffix  = ".seg"
	ackedName  = "acked"
	// MinSpoolBytes is the smallest size limit a spool accepts.
	MinSpoolBytes = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SpoolOptions configures OpenSpool.
type SpoolOptions struct {
	// MaxBytes bounds the spool's size on disk; past it the oldest
	// segment is deleted and its unacknowledged records counted as
	// dropped. 0 means 256 MiB. At least MinSpoolBytes.
	MaxBytes int64
	// Sync is how often appended records are fsynced; 0 fsyncs every
	// record. A kill -9 loses nothing either way (records are written
	// whole); a power cut loses at most the last Sync interval.
	Sync time.Duration
	// SegmentBytes is the size at which a new segment starts; 0 means
	// min(4 MiB, MaxBytes/8).
	SegmentBytes int64
}

// SpoolStats are a spool's counters.
type SpoolStats struct {
	Depth    uint64 `json:"depth"`    // records not yet acknowledged
	Bytes    int64  `json:"bytes"`    // size of the segment files
	Appended uint64 `json:"appended"` // records appended since open
	Acked    uint64 `json:"acked"`    // records acknowledged since open
	Dropped  uint64 `json:"dropped"`  // unacknowledged records deleted for the size limit since open
	Corrupt  uint64 `json:"corrupt"`  // torn or corrupt tails cut off at open
	NextID   uint64 `json:"next_id"`  // id of the next record
}

type segment struct {
	first uint64 // id of its first record
	next  uint64 // id after its last record
	size  int64
	path  string
	f     *os.File // open for reading (and appending, for the newest)
}

// Spool is an on-disk, append-only queue of records with increasing ids.
// Append is for one writer; Read and Ack for one reader; Stats for anyone.
type Spool struct {
	dir  string
	opts SpoolOptions

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is appended to
	acked   uint64     // every id ≤ acked has been acknowledged
	savedAk uint64     // acked as last written to the acked file
	stats   SpoolStats
	dirty   bool // appended since the last fsync
	closed  bool
	notify  chan struct{} // closed and replaced on every Append
	cur     cursor
	buf     []byte
	timer   *time.Timer // the pending fsync
}

// OpenSpool opens (creating if needed) the spool in dir, checks every
// record, and cuts off a torn or corrupt tail of any segment (counted in
// Stats().Corrupt).
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 256 << 20
	}
	if opts.MaxBytes < MinSpoolBytes {
		return nil, fmt.Errorf("spool %s: size limit %d bytes is below the minimum %d", dir, opts.MaxBytes, MinSpoolBytes)
	}
	if opts.Sync < 0 {
		return nil, fmt.Errorf("spool %s: negative sync interval %v", dir, opts.Sync)
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = min(4<<20, opts.MaxBytes/8)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, opts: opts, notify: make(chan struct{})}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// load reads the acked file and every segment.
func (s *Spool) load() error {
	b, err := os.ReadFile(filepath.Join(s.dir, ackedName))
	switch {
	case err == nil && len(b) == 12 && crc32.Checksum(b[:8], castagnoli) == binary.LittleEndian.Uint32(b[8:]):
		s.acked = binary.LittleEndian.Uint64(b)
	case err == nil:
		// A torn acked file: start from the oldest record (duplicates,
		// never losses).
		s.stats.Corrupt++
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("spool: %w", err)
	}
	s.savedAk = s.acked
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var firsts []uint64
	cut := false
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil || id == 0 {
			return fmt.Errorf("spool %s: unexpected segment name %q", s.dir, e.Name())
		}
		firsts = append(firsts, id)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	for i, first := range firsts {
		corrupt := s.stats.Corrupt
		seg, err := s.scan(first)
		if err != nil {
			return err
		}
		cut = s.stats.Corrupt > corrupt
		if i+1 < len(firsts) && seg.next > firsts[i+1] {
			return fmt.Errorf("spool %s: segment %s runs to id %d, past the next segment's first id %d", s.dir, seg.path, seg.next-1, firsts[i+1])
		}
		s.segs = append(s.segs, seg)
	}
	next := s.acked + 1
	if n := len(s.segs); n > 0 {
		next = max(next, s.segs[n-1].next)
	}
	if cut {
		// The torn record may have been read and published before the
		// cut: never give its id to another result.
		next++
	}
	if n := len(s.segs); n == 0 || cut || s.segs[n-1].size >= s.opts.SegmentBytes {
		if err := s.newSegment(next); err != nil {
			return err
		}
	}
	s.stats.NextID = s.segs[len(s.segs)-1].next
	// Segments wholly acknowledged can go (all but the newest).
	s.trimAcked()
	return nil
}

// scan opens one segment, checks its records and cuts off a bad tail.
func (s *Spool) scan(first uint64) (*segment, error) {
	path := filepath.Join(s.dir, fmt.Sprintf("%020d%s", first, segSuffix))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	seg := &segment{first: first, next: first, path: path, f: f}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	end := fi.Size()
	var hdr [headerSize]byte
	var payload []byte
	var off int64
	for off < end {
		ok, n, err := readRecord(f, off, end, seg.next, hdr[:], &payload)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("spool %s at byte %d: %w", path, off, err)
		}
		if !ok {
			break
		}
		off += n
		seg.next++
	}
	if off < end {
		s.stats.Corrupt++
		if err := f.Truncate(off); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: cutting the torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	seg.size = off
	return seg, nil
}

// readRecord reads the record at off (of a file of end bytes) whose id
// must be want. ok is false for a torn or corrupt record.
func readRecord(r io.ReaderAt, off, end int64, want uint64, hdr []byte, payload *[]byte) (ok bool, n int64, err error) {
	if end-off < headerSize {
		return false, 0, nil
	}
	if _, err := r.ReadAt(hdr[:headerSize], off); err != nil {
		return false, 0, err
	}
	length := int64(binary.LittleEndian.Uint32(hdr))
	sum := binary.LittleEndian.Uint32(hdr[4:])
	id := binary.LittleEndian.Uint64(hdr[8:])
	if length > MaxRecord || end-off-headerSize < length || id != want {
		return false, 0, nil
	}
	if int64(cap(*payload)) < length {
		*payload = make([]byte, length)
	}
	p := (*payload)[:length]
	if _, err := r.ReadAt(p, off+headerSize); err != nil {
		return false, 0, err
	}
	if crc32.Update(crc32.Checksum(hdr[8:headerSize], castagnoli), castagnoli, p) != sum {
		return false, 0, nil
	}
	*payload = p
	return true, headerSize + length, nil
}

func (s *Spool) newSegment(first uint64) error {
	if n := len(s.segs); n > 0 {
		if err := s.segs[n-1].f.Sync(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%020d%s", first, segSuffix))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.segs = append(s.segs, &segment{first: first, next: first, path: path, f: f})
	return nil
}

// Append writes one record whose payload encode builds from the record's id
// (appending to buf, which it may reuse) and returns the id. The record is
// on disk (not yet fsynced unless Sync is 0) when Append returns.
func (s *Spool) Append(encode func(id uint64, buf []byte) []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrSpoolClosed
	}
	seg := s.segs[len(s.segs)-1]
	if seg.size >= s.opts.SegmentBytes {
		if err := s.newSegment(seg.next); err != nil {
			return 0, err
		}
		seg = s.segs[len(s.segs)-1]
	}
	id := seg.next
	var zero [headerSize]byte
	b := append(s.buf[:0], zero[:]...)
	b = encode(id, b)
	s.buf = b
	length := len(b) - headerSize
	if length > MaxRecord {
		return 0, fmt.Errorf("%w: %d bytes (limit %d)", ErrRecordTooLarge, length, MaxRecord)
	}
	binary.LittleEndian.PutUint32(b, uint32(length))
	binary.LittleEndian.PutUint64(b[8:], id)
	binary.LittleEndian.PutUint32(b[4:], crc32.Update(crc32.Checksum(b[8:headerSize], castagnoli), castagnoli, b[headerSize:]))
	if _, err := seg.f.WriteAt(b, seg.size); err != nil {
		// Whatever part was written is past seg.size and overwritten by
		// the next record, or cut off at the next open.
		return 0, fmt.Errorf("spool: writing record %d: %w", id, err)
	}
	if s.opts.Sync == 0 {
		if err := seg.f.Sync(); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
	} else if !s.dirty {
		// One fsync Sync after the first unsynced record: no timer runs
		// while nothing is appended (a duty-cycled box sleeps).
		s.dirty = true
		s.timer = time.AfterFunc(s.opts.Sync, func() { s.Sync() })
	}
	seg.size += int64(len(b))
	seg.next++
	s.stats.Appended++
	s.stats.NextID = seg.next
	s.enforceLimit()
	close(s.notify)
	s.notify = make(chan struct{})
	return id, nil
}

// enforceLimit deletes the oldest segments while the spool is over its
// size limit, never the one being appended to.
func (s *Spool) enforceLimit() {
	for len(s.segs) > 1 && s.bytes() > s.opts.MaxBytes {
		old := s.segs[0]
		if old.next-1 > s.acked {
			s.stats.Dropped += old.next - max(old.first, s.acked+1)
			s.acked = old.next - 1
			// The ack must be on disk before the segment goes, or a
			// restart could reuse its ids.
			s.saveAcked()
		}
		s.removeOldest()
	}
}

func (s *Spool) bytes() int64 {
	var n int64
	for _, g := range s.segs {
		n += g.size
	}
	return n
}

func (s *Spool) removeOldest() {
	old := s.segs[0]
	if s.cur.seg == old {
		s.cur = cursor{}
	}
	old.f.Close()
	os.Remove(old.path)
	s.segs = s.segs[1:]
}

// Record is one spooled result.
type Record struct {
	ID      uint64
	Payload []byte
}

// Read fills recs (up to its capacity) with the oldest unacknowledged
// records whose ids are above after, in order, reusing the payload buffers
// recs holds, and returns them (none when there are none). The payloads
// stay valid until the next Read with the same recs.
func (s *Spool) Read(after uint64, recs []Record) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSpoolClosed
	}
	next := max(after, s.acked) + 1
	out, full := recs[:0], recs[:cap(recs)]
	var hdr [headerSize]byte
	for _, seg := range s.segs {
		if len(out) == cap(out) {
			break
		}
		if seg.next <= next {
			continue
		}
		next = max(next, seg.first)
		off, err := s.seek(seg, next, hdr[:])
		if err != nil {
			return out, err
		}
		for ; next < seg.next && len(out) < cap(out); next++ {
			p := full[len(out)].Payload
			ok, n, err := readRecord(seg.f, off, seg.size, next, hdr[:], &p)
			if err != nil || !ok {
				return out, fmt.Errorf("spool %s: record %d unreadable (changed on disk?): %v", seg.path, next, err)
			}
			off += n
			out = append(out, Record{ID: next, Payload: p})
		}
		s.cur = cursor{seg: seg, id: next, off: off}
	}
	return out, nil
}

// cursor remembers where Read stopped, so the next Read need not walk the
// segment's headers from its start.
type cursor struct {
	seg *segment
	id  uint64
	off int64
}

// seek returns the offset of record id in seg.
func (s *Spool) seek(seg *segment, id uint64, hdr []byte) (int64, error) {
	from, off := seg.first, int64(0)
	if c := s.cur; c.seg == seg && c.id <= id {
		from, off = c.id, c.off
	}
	for ; from < id; from++ {
		if seg.size-off < headerSize {
			return 0, fmt.Errorf("spool %s: record %d missing", seg.path, from)
		}
		if _, err := seg.f.ReadAt(hdr[:headerSize], off); err != nil {
			return 0, fmt.Errorf("spool %s: %w", seg.path, err)
		}
		if binary.LittleEndian.Uint64(hdr[8:]) != from {
			return 0, fmt.Errorf("spool %s: record %d has id %d", seg.path, from, binary.LittleEndian.Uint64(hdr[8:]))
		}
		off += headerSize + int64(binary.LittleEndian.Uint32(hdr))
	}
	return off, nil
}

// Ack records that the broker acknowledged every record up to id. Wholly
// acknowledged segments (but the newest) are deleted.
func (s *Spool) Ack(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSpoolClosed
	}
	if id <= s.acked {
		return nil
	}
	if id >= s.stats.NextID {
		return fmt.Errorf("spool: ack of record %d, which was never appended (next is %d)", id, s.stats.NextID)
	}
	s.stats.Acked += id - s.acked
	s.acked = id
	s.trimAcked()
	return nil
}

func (s *Spool) trimAcked() {
	if len(s.segs) > 1 && s.segs[0].next-1 <= s.acked {
		s.saveAcked()
		for len(s.segs) > 1 && s.segs[0].next-1 <= s.acked {
			s.removeOldest()
		}
	}
}

// saveAcked writes the acked file (write, rename; fsynced at the next sync).
func (s *Spool) saveAcked() {
	if s.acked == s.savedAk {
		return
	}
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:], s.acked)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	tmp := filepath.Join(s.dir, ackedName+".tmp")
	if err := os.WriteFile(tmp, b[:], 0o600); err != nil {
		return // retried at the next sync; a stale ack means duplicates only
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, ackedName)); err != nil {
		return
	}
	s.savedAk = s.acked
}

// Wait returns a channel closed at the next Append.
func (s *Spool) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

// Stats returns the spool's counters.
func (s *Spool) Stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Bytes = s.bytes()
	first := s.acked + 1
	if len(s.segs) > 0 {
		first = max(first, s.segs[0].first)
	}
	if st.NextID > first {
		st.Depth = st.NextID - first
	}
	return st
}

// Sync fsyncs appended records and the acknowledgement state.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSpoolClosed
	}
	return s.syncLocked()
}

func (s *Spool) syncLocked() error {
	s.saveAcked()
	if !s.dirty {
		return nil
	}
	if err := s.segs[len(s.segs)-1].f.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.dirty = false
	return nil
}

// Close syncs and closes the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	err := s.syncLocked()
	s.closed = true
	s.closeFiles()
	return err
}

func (s *Spool) closeFiles() {
	for _, g := range s.segs {
		g.f.Close()
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: syncing %s: %w", dir, err)
	}
	return nil
}
