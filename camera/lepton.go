package camera

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// FLIR Lepton 2.x thermal camera (80×60) over VoSPI, with the optional
// CCI (I²C, address 0x2A, 16-bit big-endian registers) used to wait for
// boot.
//
// VoSPI (SPI mode 3, at most 20 MHz): the camera streams 164-byte packets.
// Bytes 0..1 are the ID: bits 11..0 the packet (row) number, and a value
// with bits 11..8 all set (xFxx) marks a discard packet sent while no row
// is ready. Bytes 2..3 are a CRC-16-CCITT (polynomial 0x1021, initial 0)
// over the whole packet computed with the ID's top four bits and the CRC
// field set to zero. Bytes 4..163 are 80 big-endian 16-bit pixels (14-bit
// raw values in the default RAW14 mode). A frame is packets 0..59 in order.
const (
	leptonW          = 80
	leptonH          = 60
	leptonPacket     = 164
	leptonCCIAddr    = 0x2A
	leptonRegStatus  = 0x0002
	leptonBusy       = 0x0001
	leptonBooted     = 0x0004
	leptonMaxPackets = 4 * 60 * 30 // packets read before giving up on sync (~4 frames of discards)
)

// LeptonConfig configures a Lepton source.
type LeptonConfig struct {
	// Timeout bounds one frame when the context has no deadline
	// (default 2 s).
	Timeout time.Duration
	// Sleep is used while waiting for boot; nil means time.Sleep.
	Sleep func(time.Duration)
}

// Lepton is a Source of 80×60 Y14 frames from a FLIR Lepton 2.x. Frame.Seq
// counts frames delivered; pixels are stored little endian.
type Lepton struct {
	spi    conn.Conn
	cfg    LeptonConfig
	fm     Format
	pkt    [leptonPacket]byte
	zero   [leptonPacket]byte
	seq    uint64
	start  time.Time
	closed bool
	closer func() error
}

// NewLepton returns a Lepton source. spiConn is the VoSPI connection
// (mode 3). bus, when not nil, is used to wait until the camera reports
// that it has booted (CCI status register).
func NewLepton(spiConn conn.Conn, bus i2c.Bus, cfg LeptonConfig) (*Lepton, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	if bus != nil {
		d := &i2c.Dev{Bus: bus, Addr: leptonCCIAddr}
		var st [2]byte
		for i := 0; ; i++ {
			if err := d.Tx([]byte{leptonRegStatus >> 8, leptonRegStatus & 0xFF}, st[:]); err != nil {
				return nil, fmt.Errorf("lepton: CCI status: %w", err)
			}
			s := binary.BigEndian.Uint16(st[:])
			if s&leptonBusy == 0 && s&leptonBooted != 0 {
				break
			}
			if i >= 50 {
				return nil, fmt.Errorf("lepton: CCI status %#04x: camera not booted after %d polls", s, i+1)
			}
			cfg.Sleep(20 * time.Millisecond)
		}
	}
	return &Lepton{spi: spiConn, cfg: cfg, fm: Format{Width: leptonW, Height: leptonH, Pixel: Y14}.WithDefaults(), start: time.Now()}, nil
}

// crc16CCITT folds b into crc (polynomial 0x1021, MSB first, no
// reflection: CRC-16/XMODEM when started from 0).
func crc16CCITT(crc uint16, b byte) uint16 {
	crc ^= uint16(b) << 8
	for k := 0; k < 8; k++ {
		if crc&0x8000 != 0 {
			crc = crc<<1 ^ 0x1021
		} else {
			crc <<= 1
		}
	}
	return crc
}

// leptonCRC computes the VoSPI packet CRC.
func leptonCRC(p []byte) uint16 {
	var crc uint16
	for i, b := range p {
		switch {
		case i == 0:
			b &= 0x0F
		case i == 2 || i == 3:
			b = 0
		}
		crc = crc16CCITT(crc, b)
	}
	return crc
}

// Format implements Source.
func (l *Lepton) Format() Format { return l.fm }

// Next implements Source. It reads packets until a whole frame (rows 0..59
// in order, each with a valid CRC) has arrived; a row out of order or a bad
// CRC restarts the frame.
func (l *Lepton) Next(ctx context.Context, f *Frame) error {
	if l.closed {
		return fmt.Errorf("lepton: %w", ErrClosed)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(l.cfg.Timeout)
	}
	f.setupFormat(l.fm)
	row := 0
	crcErrs := 0
	for n := 0; row < leptonH; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lepton: waiting for frame: %w", err)
		}
		if n >= leptonMaxPackets || time.Now().After(deadline) {
			return fmt.Errorf("lepton: no complete frame after %d packets (%d CRC errors); the camera may need resync (CS high for 185 ms): %w", n, crcErrs, context.DeadlineExceeded)
		}
		if err := l.spi.Tx(l.zero[:], l.pkt[:]); err != nil {
			return fmt.Errorf("lepton: VoSPI read: %w", err)
		}
		id := binary.BigEndian.Uint16(l.pkt[0:])
		if id&0x0F00 == 0x0F00 {
			continue // discard packet
		}
		if leptonCRC(l.pkt[:]) != binary.BigEndian.Uint16(l.pkt[2:]) {
			crcErrs++
			row = 0
			continue
		}
		num := int(id & 0x0FFF)
		if num != row {
			row = 0
			if num != 0 {
				continue
			}
		}
		out := f.Planes[0][row*2*leptonW:]
		for x := 0; x < leptonW; x++ {
			v := binary.BigEndian.Uint16(l.pkt[4+2*x:])
			binary.LittleEndian.PutUint16(out[2*x:], v&0x3FFF)
		}
		row++
	}
	f.Seq = l.seq
	f.Timestamp = time.Since(l.start)
	l.seq++
	return nil
}

// Close implements Source.
func (l *Lepton) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	if l.closer != nil {
		return l.closer()
	}
	return nil
}
