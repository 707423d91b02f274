package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// ArduCAM OV2640 SPI module: an OV2640 sensor configured over SCCB (I²C
// compatible, 7-bit address 0x30) whose JPEG output is captured into a
// frame FIFO behind an SPI register interface (ArduCAM "Mini 2MP").
//
// SPI protocol (mode 0, at most 8 MHz): a register write is the two bytes
// {0x80|reg, value}; a register read sends {reg, 0x00} and the value comes
// back in the second byte. A FIFO burst read sends 0x3C and then clocks
// out the FIFO bytes.
const (
	arduRegTest     = 0x00 // scratch register for the link test
	arduRegCapCtrl  = 0x01 // frames per capture - 1
	arduRegFIFO     = 0x04 // FIFO control
	arduRegVersion  = 0x40 // CPLD version
	arduRegStatus   = 0x41 // trigger/status
	arduRegSize0    = 0x42 // FIFO length bits 0..7
	arduRegSize1    = 0x43 // bits 8..15
	arduRegSize2    = 0x44 // bits 16..22
	arduBurstRead   = 0x3C
	arduFIFOClear   = 0x01 // clear the capture-done flag
	arduFIFOStart   = 0x02 // start a capture
	arduFIFOResetWr = 0x10 // reset the FIFO write pointer
	arduFIFOResetRd = 0x20 // reset the FIFO read pointer
	arduCapDone     = 0x08 // status: capture done
	arduFIFOMax     = 0x5FFFF
	ov2640Addr      = 0x30
)

// SensorReg is one SCCB register write. Reg 0xFF selects the register bank
// (0x00 DSP, 0x01 sensor) as on the OV2640.
type SensorReg struct{ Reg, Val uint8 }

// sccbDelay is a pseudo register: sleep Val milliseconds.
const sccbDelay = 0xFFFF

// ArduCAMConfig configures an ArduCAM OV2640 module.
type ArduCAMConfig struct {
	// Width and Height select the JPEG output size, a multiple of 4 up to
	// 1600×1200 (default 320×240).
	Width, Height int
	// Quality is the OV2640 JPEG quantization scale (register Qs, lower
	// is better; default 12).
	Quality uint8
	// Init, when set, replaces the built-in sensor sequence (for example
	// with a vendor tuning table).
	Init []SensorReg
	// Timeout bounds one capture when the context has no deadline
	// (default 2 s).
	Timeout time.Duration
	// Sleep waits between status polls; nil means time.Sleep with 2 ms
	// steps. Tests pass a no-op.
	Sleep func(time.Duration)
	// MaxTx is the largest SPI transfer; 0 asks the connection
	// (conn.Limits) and falls back to 4096 (spidev's default).
	MaxTx int
}

// ArduCAM is a Source of JPEG frames from an ArduCAM OV2640 SPI module.
// Each Next runs one capture: clear the FIFO flag, start, poll for
// capture-done, read the FIFO length, burst-read the FIFO and cut out the
// JPEG image (SOI to EOI).
type ArduCAM struct {
	spi    conn.Conn
	sccb   *i2c.Dev
	cfg    ArduCAMConfig
	fm     Format
	seq    uint64
	start  time.Time
	wbuf   []byte
	rbuf   []byte
	fifo   []byte
	closed bool
	closer func() error
}

// OV2640SequenceJPEG returns the built-in register sequence for JPEG output
// at w×h. It is derived from the OV2640 datasheet's register map: sensor
// soft reset (COM7 bit 7), SVGA readout, DSP in JPEG mode (IMAGE_MODE
// 0xDA bit 4), DVP reset and release (RESET 0xE0), output zoom size
// (ZMOW/ZMOH/ZMHH 0x5A..0x5C, in units of 4 pixels) and the JPEG
// quantization scale (Qs 0x44). It does not contain the vendor's
// exposure, white-balance and lens tuning values; for image quality pass
// the vendor table as ArduCAMConfig.Init.
func OV2640SequenceJPEG(w, h int, quality uint8) []SensorReg {
	zw, zh := w/4, h/4
	return []SensorReg{
		{0xFF, 0x01}, {0x12, 0x80}, // sensor bank, COM7 soft reset
		{0xFF, 0x01}, {0x12, 0x40}, // SVGA readout
		{0x11, 0x00},               // CLKRC: no prescaler
		{0xFF, 0x00}, {0xE0, 0x14}, // DSP bank; reset JPEG and DVP
		{0xDA, 0x10},                        // IMAGE_MODE: JPEG output
		{0x05, 0x00},                        // R_BYPASS: DSP on
		{0x5A, uint8(zw)},                   // ZMOW
		{0x5B, uint8(zh)},                   // ZMOH
		{0x5C, uint8(zw>>8&3 | zh>>8&1<<2)}, // ZMHH
		{0x44, quality},                     // Qs
		{0xE0, 0x00},                        // release resets
	}
}

// NewArduCAM checks the SPI link and the sensor ID, loads the sensor
// sequence and returns the source. spiConn is the module's SPI connection
// (mode 0); bus is the I²C bus the sensor's SCCB port is on.
func NewArduCAM(spiConn conn.Conn, bus i2c.Bus, cfg ArduCAMConfig) (*ArduCAM, error) {
	if cfg.Width == 0 && cfg.Height == 0 {
		cfg.Width, cfg.Height = 320, 240
	}
	if cfg.Width < 4 || cfg.Height < 4 || cfg.Width > 1600 || cfg.Height > 1200 || cfg.Width%4 != 0 || cfg.Height%4 != 0 {
		return nil, fmt.Errorf("arducam: size %dx%d: want multiples of 4 up to 1600x1200: %w", cfg.Width, cfg.Height, ErrUnsupportedFormat)
	}
	if cfg.Quality == 0 {
		cfg.Quality = 12
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	if cfg.MaxTx <= 0 {
		cfg.MaxTx = 4096
		if l, ok := spiConn.(conn.Limits); ok && l.MaxTxSize() > 1 {
			cfg.MaxTx = l.MaxTxSize()
		}
	}
	if cfg.MaxTx < 2 {
		return nil, fmt.Errorf("arducam: SPI transfer limit %d too small: %w", cfg.MaxTx, ErrUnsupportedFormat)
	}
	a := &ArduCAM{
		spi: spiConn, sccb: &i2c.Dev{Bus: bus, Addr: ov2640Addr}, cfg: cfg,
		fm:   Format{Width: cfg.Width, Height: cfg.Height, Pixel: JPEG},
		wbuf: make([]byte, cfg.MaxTx), rbuf: make([]byte, cfg.MaxTx),
	}
	// SPI link test through the scratch register.
	if err := a.write(arduRegTest, 0x55); err != nil {
		return nil, err
	}
	if v, err := a.read(arduRegTest); err != nil {
		return nil, err
	} else if v != 0x55 {
		return nil, fmt.Errorf("arducam: SPI test register reads %#02x after writing 0x55: check wiring and SPI mode 0", v)
	}
	// Sensor identification: bank 1, PIDH/PIDL.
	if err := a.sccbWrite(0xFF, 0x01); err != nil {
		return nil, err
	}
	pidh, err := a.sccbRead(0x0A)
	if err != nil {
		return nil, err
	}
	pidl, err := a.sccbRead(0x0B)
	if err != nil {
		return nil, err
	}
	if pidh != 0x26 || (pidl != 0x41 && pidl != 0x42) {
		return nil, fmt.Errorf("arducam: sensor ID %#02x%02x, want OV2640 (0x2641 or 0x2642): %w", pidh, pidl, ErrUnsupportedFormat)
	}
	seq := cfg.Init
	if seq == nil {
		seq = OV2640SequenceJPEG(cfg.Width, cfg.Height, cfg.Quality)
	}
	for i, r := range seq {
		if err := a.sccbWrite(r.Reg, r.Val); err != nil {
			return nil, fmt.Errorf("arducam: sensor sequence step %d (reg %#02x): %w", i, r.Reg, err)
		}
		if r.Reg == 0x12 && r.Val&0x80 != 0 {
			cfg.Sleep(10 * time.Millisecond) // reset settles
		}
	}
	if err := a.write(arduRegCapCtrl, 0); err != nil { // one frame per capture
		return nil, err
	}
	a.start = time.Now()
	return a, nil
}

func (a *ArduCAM) write(reg, val uint8) error {
	w := a.wbuf[:2]
	w[0], w[1] = 0x80|reg, val
	if err := a.spi.Tx(w, a.rbuf[:2]); err != nil {
		return fmt.Errorf("arducam: SPI write reg %#02x: %w", reg, err)
	}
	return nil
}

func (a *ArduCAM) read(reg uint8) (uint8, error) {
	w := a.wbuf[:2]
	w[0], w[1] = reg&0x7F, 0
	r := a.rbuf[:2]
	if err := a.spi.Tx(w, r); err != nil {
		return 0, fmt.Errorf("arducam: SPI read reg %#02x: %w", reg, err)
	}
	return r[1], nil
}

func (a *ArduCAM) sccbWrite(reg, val uint8) error {
	if err := a.sccb.Tx([]byte{reg, val}, nil); err != nil {
		return fmt.Errorf("arducam: SCCB write %#02x=%#02x: %w", reg, val, err)
	}
	return nil
}

// sccbRead writes the register address and reads in a second transaction:
// SCCB has no repeated start.
func (a *ArduCAM) sccbRead(reg uint8) (uint8, error) {
	if err := a.sccb.Tx([]byte{reg}, nil); err != nil {
		return 0, fmt.Errorf("arducam: SCCB select %#02x: %w", reg, err)
	}
	var b [1]byte
	if err := a.sccb.Tx(nil, b[:]); err != nil {
		return 0, fmt.Errorf("arducam: SCCB read %#02x: %w", reg, err)
	}
	return b[0], nil
}

// Format implements Source: JPEG at the configured size.
func (a *ArduCAM) Format() Format { return a.fm }

// Next implements Source.
func (a *ArduCAM) Next(ctx context.Context, f *Frame) error {
	if a.closed {
		return fmt.Errorf("arducam: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("arducam: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(a.cfg.Timeout)
	}
	for _, v := range []uint8{arduFIFOClear, arduFIFOResetWr | arduFIFOResetRd, arduFIFOStart} {
		if err := a.write(arduRegFIFO, v); err != nil {
			return err
		}
	}
	for {
		st, err := a.read(arduRegStatus)
		if err != nil {
			return err
		}
		if st&arduCapDone != 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("arducam: waiting for capture: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("arducam: capture not done after %v: %w", a.cfg.Timeout, context.DeadlineExceeded)
		}
		a.cfg.Sleep(2 * time.Millisecond)
	}
	var n int
	for i, reg := range []uint8{arduRegSize0, arduRegSize1, arduRegSize2} {
		v, err := a.read(reg)
		if err != nil {
			return err
		}
		if i == 2 {
			v &= 0x7F
		}
		n |= int(v) << (8 * i)
	}
	if n == 0 || n > arduFIFOMax {
		return fmt.Errorf("arducam: FIFO length %d out of range 1..%d: %w", n, arduFIFOMax, ErrShortFrame)
	}
	if cap(a.fifo) < n {
		a.fifo = make([]byte, n)
	}
	a.fifo = a.fifo[:n]
	chunk := a.cfg.MaxTx - 1
	for off := 0; off < n; off += chunk {
		m := min(chunk, n-off)
		w, r := a.wbuf[:m+1], a.rbuf[:m+1]
		clear(w)
		w[0] = arduBurstRead
		if err := a.spi.Tx(w, r); err != nil {
			return fmt.Errorf("arducam: FIFO burst read at %d of %d: %w", off, n, err)
		}
		copy(a.fifo[off:], r[1:])
	}
	if err := a.write(arduRegFIFO, arduFIFOClear); err != nil {
		return err
	}
	// The image is SOI (FF D8) to EOI (FF D9); a module may clock out a
	// dummy byte first and pad the end.
	soi := bytes.Index(a.fifo[:min(n, 8)], []byte{0xFF, 0xD8})
	eoi := bytes.LastIndex(a.fifo, []byte{0xFF, 0xD9})
	if soi < 0 || eoi < soi {
		return fmt.Errorf("arducam: %d FIFO bytes hold no complete JPEG (SOI at %d, EOI at %d): %w", n, soi, eoi, ErrShortFrame)
	}
	img := a.fifo[soi : eoi+2]
	f.setup(a.fm, [3]int{len(img)})
	copy(f.Planes[0], img)
	f.Seq = a.seq
	f.Timestamp = time.Since(a.start)
	a.seq++
	return nil
}

// Close implements Source. It closes the buses when the source opened them
// (through Open); otherwise the caller owns them.
func (a *ArduCAM) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	if a.closer != nil {
		return a.closer()
	}
	return nil
}

var errNoBoard = errors.New("no SPI/I²C bus")
