package camera

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"
)

func noSleep(time.Duration) {}

// arduOps helpers: the SPI transactions of the ArduCAM register protocol.
func arduWrite(reg, val byte) conntest.IO {
	return conntest.IO{W: []byte{0x80 | reg, val}, R: []byte{0, 0}}
}

func arduRead(reg, val byte) conntest.IO {
	return conntest.IO{W: []byte{reg, 0}, R: []byte{0, val}}
}

// arduInitOps is the start-up sequence for a module answering id.
func arduInitOps(pidl byte, w, h int) (spiOps []conntest.IO, i2cOps []i2ctest.IO) {
	spiOps = []conntest.IO{arduWrite(0x00, 0x55), arduRead(0x00, 0x55)}
	i2cOps = []i2ctest.IO{
		{Addr: 0x30, W: []byte{0xFF, 0x01}},
		{Addr: 0x30, W: []byte{0x0A}}, {Addr: 0x30, R: []byte{0x26}},
		{Addr: 0x30, W: []byte{0x0B}}, {Addr: 0x30, R: []byte{pidl}},
	}
	if pidl != 0x42 {
		return spiOps, i2cOps
	}
	for _, r := range OV2640SequenceJPEG(w, h, 12) {
		i2cOps = append(i2cOps, i2ctest.IO{Addr: 0x30, W: []byte{r.Reg, r.Val}})
	}
	spiOps = append(spiOps, arduWrite(0x01, 0))
	return spiOps, i2cOps
}

// arduCaptureOps is one capture delivering fifo in chunks of maxTx-1.
func arduCaptureOps(fifo []byte, notReady, maxTx int) []conntest.IO {
	ops := []conntest.IO{arduWrite(0x04, 0x01), arduWrite(0x04, 0x30), arduWrite(0x04, 0x02)}
	for i := 0; i < notReady; i++ {
		ops = append(ops, arduRead(0x41, 0x00))
	}
	n := len(fifo)
	ops = append(ops, arduRead(0x41, 0x08), arduRead(0x42, byte(n)), arduRead(0x43, byte(n>>8)), arduRead(0x44, byte(n>>16)))
	for off := 0; off < n; off += maxTx - 1 {
		m := min(maxTx-1, n-off)
		w := make([]byte, m+1)
		w[0] = 0x3C
		ops = append(ops, conntest.IO{W: w, R: append([]byte{0}, fifo[off:off+m]...)})
	}
	return append(ops, arduWrite(0x04, 0x01))
}

func solidJPEG(t *testing.T, w, h int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func connect(t *testing.T, p *spitest.Playback, mode spi.Mode) spi.Conn {
	c, err := p.Connect(8*physic.MegaHertz, mode, 8)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestArduCAM(t *testing.T) {
	const maxTx = 64
	img := solidJPEG(t, 32, 24, color.RGBA{200, 30, 40, 255})
	fifo := append(append([]byte{0x00}, img...), 0, 0, 0) // dummy first byte, padding
	spiOps, i2cOps := arduInitOps(0x42, 32, 24)
	spiOps = append(spiOps, arduCaptureOps(fifo, 2, maxTx)...)
	spiOps = append(spiOps, arduCaptureOps(fifo, 0, maxTx)...)
	sp := &spitest.Playback{Playback: conntest.Playback{Ops: spiOps}}
	bus := &i2ctest.Playback{Ops: i2cOps}
	a, err := NewArduCAM(connect(t, sp, spi.Mode0), bus, ArduCAMConfig{Width: 32, Height: 24, Sleep: noSleep, MaxTx: maxTx})
	if err != nil {
		t.Fatal(err)
	}
	if fm := a.Format(); fm.Pixel != JPEG || fm.Width != 32 || fm.Height != 24 {
		t.Errorf("format %v", fm)
	}
	var f Frame
	for i := 0; i < 2; i++ {
		if err := a.Next(context.Background(), &f); err != nil {
			t.Fatal(err)
		}
		if f.Seq != uint64(i) || !bytes.Equal(f.Planes[0], img) {
			t.Fatalf("frame %d: seq %d, %d bytes, want the %d-byte JPEG", i, f.Seq, len(f.Planes[0]), len(img))
		}
	}
	got := convert(t, &f, &Target{Width: 4, Height: 4})
	if absDiff(int(got[0]), 200) > 6 || absDiff(int(got[1]), 30) > 6 || absDiff(int(got[2]), 40) > 6 {
		t.Errorf("decoded colour %v, want about (200,30,40)", got[:3])
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Errorf("SPI playback: %v", err)
	}
	if err := bus.Close(); err != nil {
		t.Errorf("I²C playback: %v", err)
	}
	if err := a.Next(context.Background(), &f); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
}

func TestArduCAMFaults(t *testing.T) {
	// Wiring fault: the test register does not read back.
	sp := &spitest.Playback{Playback: conntest.Playback{Ops: []conntest.IO{arduWrite(0, 0x55), arduRead(0, 0xFF)}}}
	_, err := NewArduCAM(connect(t, sp, spi.Mode0), &i2ctest.Playback{}, ArduCAMConfig{Sleep: noSleep})
	if err == nil || !strings.Contains(err.Error(), "test register reads 0xff") {
		t.Errorf("bad SPI link: %v", err)
	}
	// Wrong sensor.
	spiOps, i2cOps := arduInitOps(0x99, 0, 0)
	sp = &spitest.Playback{Playback: conntest.Playback{Ops: spiOps}}
	_, err = NewArduCAM(connect(t, sp, spi.Mode0), &i2ctest.Playback{Ops: i2cOps}, ArduCAMConfig{Sleep: noSleep})
	if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "0x2699") {
		t.Errorf("wrong sensor: %v", err)
	}
	// FIFO without a JPEG end marker: a short frame, not a panic.
	spiOps, i2cOps = arduInitOps(0x42, 320, 240)
	spiOps = append(spiOps, arduCaptureOps([]byte{0xFF, 0xD8, 1, 2, 3}, 0, 4096)...)
	sp = &spitest.Playback{Playback: conntest.Playback{Ops: spiOps}}
	a, err := NewArduCAM(connect(t, sp, spi.Mode0), &i2ctest.Playback{Ops: i2cOps}, ArduCAMConfig{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := a.Next(context.Background(), &f); !errors.Is(err, ErrShortFrame) {
		t.Errorf("truncated JPEG: %v", err)
	}
	if err := sp.Close(); err != nil {
		t.Error(err)
	}
	// A bus error mid-capture is returned, wrapped.
	spiOps, i2cOps = arduInitOps(0x42, 320, 240)
	sp = &spitest.Playback{Playback: conntest.Playback{Ops: spiOps, DontPanic: true}}
	a, err = NewArduCAM(connect(t, sp, spi.Mode0), &i2ctest.Playback{Ops: i2cOps}, ArduCAMConfig{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Next(context.Background(), &f); err == nil || !strings.Contains(err.Error(), "arducam: SPI write reg 0x04") {
		t.Errorf("bus error: %v", err)
	}
	// A capture that never completes honours the context deadline.
	stuck := &statusConn{}
	a = &ArduCAM{spi: stuck, cfg: ArduCAMConfig{Sleep: time.Sleep, MaxTx: 64, Timeout: time.Hour}, wbuf: make([]byte, 64), rbuf: make([]byte, 64)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := a.Next(ctx, &f); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("stuck capture: %v after %v", err, time.Since(start))
	}
}

// statusConn answers every register read with 0 (capture never done).
type statusConn struct{}

func (statusConn) String() string { return "stuck" }
func (statusConn) Tx(w, r []byte) error {
	clear(r)
	return nil
}
func (statusConn) Duplex() conn.Duplex { return conn.Full }

// leptonPacketBytes builds one VoSPI packet with a valid CRC.
func leptonPacketBytes(id uint16, px func(x int) uint16) []byte {
	p := make([]byte, leptonPacket)
	binary.BigEndian.PutUint16(p, id)
	for x := 0; x < leptonW; x++ {
		binary.BigEndian.PutUint16(p[4+2*x:], px(x))
	}
	binary.BigEndian.PutUint16(p[2:], leptonCRC(p))
	return p
}

func TestLeptonCRC(t *testing.T) {
	var crc uint16
	for _, b := range []byte("123456789") {
		crc = crc16CCITT(crc, b)
	}
	if crc != 0x31C3 { // CRC-16/XMODEM check value
		t.Errorf("CRC-16/CCITT check = %#04x, want 0x31c3", crc)
	}
	// The ID's top nibble and the CRC field do not enter the CRC.
	p := leptonPacketBytes(5, func(x int) uint16 { return uint16(x) })
	q := append([]byte{}, p...)
	q[0] |= 0xA0
	q[2], q[3] = 0x12, 0x34
	if leptonCRC(p) != leptonCRC(q) {
		t.Error("CRC depends on masked bits")
	}
}

func TestLepton(t *testing.T) {
	pixel := func(row int) func(int) uint16 {
		return func(x int) uint16 { return uint16(8000 + row*80 + x) }
	}
	zero := make([]byte, leptonPacket)
	var ops []conntest.IO
	add := func(p []byte) { ops = append(ops, conntest.IO{W: zero, R: p}) }
	// Two discard packets, rows 0..9, a corrupted row 10 (restart),
	// then a complete frame.
	add(leptonPacketBytes(0x0F00, func(int) uint16 { return 0xDEAD }))
	add(leptonPacketBytes(0x0FFF, func(int) uint16 { return 0xBEEF }))
	for r := 0; r < 10; r++ {
		add(leptonPacketBytes(uint16(r), pixel(r)))
	}
	bad := leptonPacketBytes(10, pixel(10))
	bad[50] ^= 1
	add(bad)
	for r := 0; r < 60; r++ {
		add(leptonPacketBytes(uint16(r), pixel(r)))
	}
	sp := &spitest.Playback{Playback: conntest.Playback{Ops: ops}}
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x2A, W: []byte{0x00, 0x02}, R: []byte{0x00, 0x01}}, // busy
		{Addr: 0x2A, W: []byte{0x00, 0x02}, R: []byte{0x00, 0x04}}, // booted
	}}
	l, err := NewLepton(connect(t, sp, spi.Mode3), bus, LeptonConfig{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := l.Next(context.Background(), &f); err != nil {
		t.Fatal(err)
	}
	if fm := f.Format; fm.Pixel != Y14 || fm.Width != 80 || fm.Height != 60 || f.Seq != 0 {
		t.Errorf("frame %v seq %d", fm, f.Seq)
	}
	for _, xy := range [][2]int{{0, 0}, {79, 0}, {5, 9}, {40, 30}, {79, 59}} {
		x, y := xy[0], xy[1]
		got := binary.LittleEndian.Uint16(f.Planes[0][y*160+2*x:])
		if want := (8000 + uint16(y*80+x)) & 0x3FFF; got != want {
			t.Errorf("pixel (%d,%d) = %d, want %d", x, y, got, want)
		}
	}
	if err := sp.Close(); err != nil {
		t.Errorf("SPI playback: %v", err)
	}
	if err := bus.Close(); err != nil {
		t.Errorf("I²C playback: %v", err)
	}
	// Only discard packets: bounded, returns an error.
	d := leptonPacketBytes(0x0F00, func(int) uint16 { return 0 })
	l = &Lepton{spi: constConn(d), cfg: LeptonConfig{Timeout: time.Hour}, fm: Format{Width: 80, Height: 60, Pixel: Y14}.WithDefaults()}
	if err := l.Next(context.Background(), &f); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "resync") {
		t.Errorf("no sync: %v", err)
	}
	// Camera that never boots.
	ops2 := make([]i2ctest.IO, 51)
	for i := range ops2 {
		ops2[i] = i2ctest.IO{Addr: 0x2A, W: []byte{0x00, 0x02}, R: []byte{0x00, 0x01}}
	}
	sp = &spitest.Playback{}
	if _, err := NewLepton(connect(t, sp, spi.Mode3), &i2ctest.Playback{Ops: ops2}, LeptonConfig{Sleep: noSleep}); err == nil || !strings.Contains(err.Error(), "not booted") {
		t.Errorf("never booted: %v", err)
	}
}

// constConn answers every read with the same bytes.
type constConn []byte

func (c constConn) String() string { return "const" }
func (c constConn) Tx(w, r []byte) error {
	copy(r, c)
	return nil
}
func (c constConn) Duplex() conn.Duplex { return conn.Full }
