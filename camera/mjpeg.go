package camera

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
)

// Many UVC webcams send MJPEG frames without DHT segments: the frames rely
// on the default Huffman tables of the JPEG standard (ITU T.81 Annex K.3),
// which image/jpeg does not assume. withHuffmanTables inserts those tables
// before the first SOS marker of such frames. The tables are taken from
// the output of image/jpeg's own encoder, which always writes the Annex K
// tables (all four for a colour image), so they are not retyped here.

var (
	stdDHTOnce sync.Once
	stdDHT     []byte // one or more complete DHT segments, markers included
)

func defaultDHT() []byte {
	stdDHTOnce.Do(func() {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
			return
		}
		forSegments(b.Bytes(), func(marker byte, seg []byte) bool {
			if marker == 0xC4 {
				stdDHT = append(stdDHT, seg...)
			}
			return marker != 0xDA
		})
	})
	return stdDHT
}

// forSegments calls fn for each marker segment of a JPEG stream from SOI up
// to and including SOS, with the segment's bytes (marker and length
// included). It stops when fn returns false or the stream is malformed and
// returns the offset of the last segment visited (-1 if none).
func forSegments(data []byte, fn func(marker byte, seg []byte) bool) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return -1
	}
	last := -1
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return last
		}
		m := data[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 || i+2+n > len(data) {
			return last
		}
		last = i
		if !fn(m, data[i:i+2+n]) {
			return last
		}
		i += 2 + n
	}
	return last
}

// withHuffmanTables returns data unchanged when it has a DHT segment, and
// otherwise a copy in *buf with the default tables inserted before SOS.
func withHuffmanTables(data []byte, buf *[]byte) []byte {
	hasDHT := false
	sos := forSegments(data, func(m byte, _ []byte) bool {
		if m == 0xC4 {
			hasDHT = true
		}
		return m != 0xC4 && m != 0xDA
	})
	dht := defaultDHT()
	if hasDHT || sos < 0 || data[sos+1] != 0xDA || len(dht) == 0 {
		return data
	}
	b := append((*buf)[:0], data[:sos]...)
	b = append(b, dht...)
	b = append(b, data[sos:]...)
	*buf = b
	return b
}
