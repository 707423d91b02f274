package serve

import (
	"bytes"
	"fmt"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeinfer/edgeinfer/serve/servetest"
)

// flakyServer serves one file that changes version on request. Each
// request that starts at offset 0 is cut off after cut bytes (unless cut
// is 0); a Range request with the current version's ETag in If-Range gets
// the rest (206) when ranges is on, the whole file otherwise.
type flakyServer struct {
	mu      sync.Mutex
	data    []byte
	etag    string
	cut     int
	ranges  bool
	seen    []string // Range header of each request
	written int
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rng := r.Header.Get("Range")
	f.seen = append(f.seen, rng)
	w.Header().Set("ETag", f.etag)
	var start int
	if f.ranges && rng != "" && r.Header.Get("If-Range") == f.etag {
		if _, err := fmt.Sscanf(rng, "bytes=%d-", &start); err != nil || start >= len(f.data) {
			http.Error(w, "bad range", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(f.data)-1, len(f.data)))
		w.Header().Set("Content-Length", fmt.Sprint(len(f.data)-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(f.data[start:])
		f.written += len(f.data) - start
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(f.data)))
	if f.cut == 0 {
		w.Write(f.data)
		f.written += len(f.data)
		return
	}
	w.Write(f.data[:f.cut])
	f.written += f.cut
	w.(http.Flusher).Flush()
	c, _, _ := http.NewResponseController(w).Hijack()
	c.Close()
}

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// A download cut off halfway resumes where it stopped (one Range request,
// no byte fetched twice); a file replaced in between is fetched whole
// again; a server that ignores Range and keeps cutting off is refused
// after downloadAttempts tries.
func TestDownloadResumes(t *testing.T) {
	defer func(d time.Duration) { resumeDelay = d }(resumeDelay)
	resumeDelay = 10 * time.Millisecond
	const size, cut = 200 << 10, 80 << 10
	for _, tc := range []struct {
		name      string
		ranges    bool
		replace   bool // a new version after the first request
		wantErr   string
		wantSeen  []string
		wantBytes int
	}{
		{name: "resumed", ranges: true, wantSeen: []string{"", fmt.Sprintf("bytes=%d-", cut)}, wantBytes: size},
		{name: "replaced between", ranges: true, replace: true, wantSeen: []string{"", fmt.Sprintf("bytes=%d-", cut)}, wantBytes: cut + size},
		{name: "no ranges", wantErr: fmt.Sprintf("of %d bytes after %d attempts", size, downloadAttempts)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flakyServer{data: randomBytes(size, 1), etag: `"v1"`, cut: cut, ranges: tc.ranges}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f.ServeHTTP(w, r)
				if tc.replace {
					f.mu.Lock()
					f.data, f.etag, f.cut = randomBytes(size, 2), `"v2"`, 0
					f.mu.Unlock()
				}
			}))
			defer srv.Close()
			var logs servetest.LogBuffer
			s := &Service{cfg: Config{UpdateClient: srv.Client()}, log: log.New(&logs, "", 0)}
			got, err := s.download(srv.URL+"/m.eim", 1<<20)
			f.mu.Lock()
			defer f.mu.Unlock()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if len(f.seen) != downloadAttempts {
					t.Errorf("%d requests, want %d", len(f.seen), downloadAttempts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, f.data) {
				t.Errorf("downloaded %d bytes that are not the server's current %d", len(got), len(f.data))
			}
			if fmt.Sprint(f.seen) != fmt.Sprint(tc.wantSeen) || f.written != tc.wantBytes {
				t.Errorf("requests %q, %d bytes sent; want %q, %d", f.seen, f.written, tc.wantSeen, tc.wantBytes)
			}
			if !strings.Contains(logs.String(), fmt.Sprintf("cut off after %d of %d bytes", cut, size)) {
				t.Errorf("no log line about the cut:\n%s", logs.String())
			}
		})
	}
}
