// Package dataset reads labelled image sets — MNIST idx files (gzipped or
// not) and folders with one sub-folder per class — converts their images
// into a model's input with the model's preprocessing metadata, and
// measures top-1/top-5 accuracy.
package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeinfer/edgeinfer/camera"
)

// ErrFormat is wrapped by errors about malformed dataset files.
var ErrFormat = errors.New("dataset: malformed file")

// Set is a labelled image set. Images are decoded on demand.
type Set struct {
	// Classes names the labels: Classes[Label(i)].
	Classes []string
	// Kind is "mnist" or "images".
	Kind   string
	labels []int
	// MNIST: all images, row-major, w×h bytes each.
	pix  []byte
	w, h int
	// Image folders: one file per image.
	files []string
}

// Len returns the number of images.
func (s *Set) Len() int { return len(s.labels) }

// Label returns the class index of image i.
func (s *Set) Label(i int) int { return s.labels[i] }

// Source names image i: its file, or "mnist #i".
func (s *Set) Source(i int) string {
	if s.files != nil {
		return s.files[i]
	}
	return fmt.Sprintf("mnist #%d", i)
}

// Image returns image i. MNIST images are *image.Gray views of the set's
// memory (white digit on black, as stored).
func (s *Set) Image(i int) (image.Image, error) {
	if i < 0 || i >= s.Len() {
		return nil, fmt.Errorf("dataset: image %d out of range [0, %d)", i, s.Len())
	}
	if s.files == nil {
		n := s.w * s.h
		return &image.Gray{Pix: s.pix[i*n : (i+1)*n : (i+1)*n], Stride: s.w, Rect: image.Rect(0, 0, s.w, s.h)}, nil
	}
	img, err := camera.DecodeImage(s.files[i])
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return img, nil
}

// Open reads a dataset directory, telling the kinds apart: a directory
// holding *images-idx3-ubyte[.gz] and *labels-idx1-ubyte[.gz] files is
// MNIST (the t10k pair when both test and train files are there);
// otherwise each sub-directory is a class and its image files (PNG, JPEG,
// GIF, BMP) are its examples.
func Open(dir string) (*Set, error) {
	imgs, labels, err := findIdx(dir)
	if err != nil {
		return nil, err
	}
	if imgs != "" {
		return OpenMNIST(imgs, labels)
	}
	return OpenFolder(dir)
}

func findIdx(dir string) (images, labels string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("dataset: %w", err)
	}
	var is, ls []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case e.IsDir():
		case strings.Contains(n, "images-idx3-ubyte"):
			is = append(is, n)
		case strings.Contains(n, "labels-idx1-ubyte"):
			ls = append(ls, n)
		}
	}
	pick := func(names []string) string {
		sort.Strings(names)
		for _, n := range names {
			if strings.HasPrefix(n, "t10k") {
				return n
			}
		}
		if len(names) == 0 {
			return ""
		}
		return names[0]
	}
	i, l := pick(is), pick(ls)
	switch {
	case i == "" && l == "":
		return "", "", nil
	case i == "" || l == "":
		return "", "", fmt.Errorf("dataset: %s has MNIST %s but not the matching %s file", dir, map[bool]string{true: "images", false: "labels"}[i != ""], map[bool]string{true: "labels", false: "images"}[i != ""])
	}
	prefix := func(n string) string { return strings.SplitN(n, "-", 2)[0] }
	if prefix(i) != prefix(l) {
		return "", "", fmt.Errorf("dataset: %s: images %s and labels %s are of different sets", dir, i, l)
	}
	return filepath.Join(dir, i), filepath.Join(dir, l), nil
}

// maxIdxBytes bounds what an idx file may decompress to.
const maxIdxBytes = 1 << 30

// readIdx reads an idx file (gzipped or not) and returns its dims and data.
func readIdx(path string, wantType byte, wantDims int) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	br := r.(*bufio.Reader)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
		}
		r = gz
	}
	b, err := io.ReadAll(io.LimitReader(r, maxIdxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
	}
	return parseIdx(path, b, wantType, wantDims)
}

func parseIdx(path string, b []byte, wantType byte, wantDims int) ([]int, []byte, error) {
	if len(b) > maxIdxBytes {
		return nil, nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrFormat, path, maxIdxBytes)
	}
	if len(b) < 4 || b[0] != 0 || b[1] != 0 {
		return nil, nil, fmt.Errorf("%w: %s: not an idx file (bad magic)", ErrFormat, path)
	}
	if b[2] != wantType || int(b[3]) != wantDims {
		return nil, nil, fmt.Errorf("%w: %s: type 0x%02x with %d dims, want 0x%02x with %d", ErrFormat, path, b[2], b[3], wantType, wantDims)
	}
	if len(b) < 4+4*wantDims {
		return nil, nil, fmt.Errorf("%w: %s: truncated header", ErrFormat, path)
	}
	dims := make([]int, wantDims)
	n := 1
	for d := range dims {
		dims[d] = int(binary.BigEndian.Uint32(b[4+4*d:]))
		if dims[d] == 0 || n > maxIdxBytes/dims[d] {
			return nil, nil, fmt.Errorf("%w: %s: dims %v", ErrFormat, path, dims)
		}
		n *= dims[d]
	}
	data := b[4+4*wantDims:]
	if len(data) != n {
		return nil, nil, fmt.Errorf("%w: %s: %d data bytes for dims %v, want %d", ErrFormat, path, len(data), dims, n)
	}
	return dims, data, nil
}

// OpenMNIST reads an MNIST images file and its labels file.
func OpenMNIST(imagesPath, labelsPath string) (*Set, error) {
	idims, pix, err := readIdx(imagesPath, 0x08, 3)
	if err != nil {
		return nil, err
	}
	ldims, lab, err := readIdx(labelsPath, 0x08, 1)
	if err != nil {
		return nil, err
	}
	if ldims[0] != idims[0] {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrFormat, idims[0], ldims[0])
	}
	s := &Set{Kind: "mnist", pix: pix, h: idims[1], w: idims[2], labels: make([]int, ldims[0])}
	for i, l := range lab {
		if l > 9 {
			return nil, fmt.Errorf("%w: %s: label %d of image %d is not a digit", ErrFormat, labelsPath, l, i)
		}
		s.labels[i] = int(l)
	}
	for d := 0; d < 10; d++ {
		s.Classes = append(s.Classes, strconv.Itoa(d))
	}
	return s, nil
}

var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true}

// OpenFolder reads a folder with one sub-folder per class (sorted by name:
// the first is class 0) holding that class's images.
func OpenFolder(dir string) (*Set, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	s := &Set{Kind: "images"}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		class := len(s.Classes)
		s.Classes = append(s.Classes, e.Name())
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		for _, f := range files {
			if f.IsDir() || !imageExts[strings.ToLower(filepath.Ext(f.Name()))] {
				continue
			}
			s.files = append(s.files, filepath.Join(dir, e.Name(), f.Name()))
			s.labels = append(s.labels, class)
		}
	}
	if len(s.Classes) == 0 {
		return nil, fmt.Errorf("dataset: %s has neither MNIST idx files nor class sub-folders", dir)
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("dataset: %s: no images (.png, .jpg, .gif, .bmp) in its %d class folders", dir, len(s.Classes))
	}
	return s, nil
}
