package camera

import (
	"errors"
	"fmt"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"
)

// openSPIURI opens spi:arducam or spi:lepton on the board's real buses
// through periph.io/x/host. Unit tests never come here: they build the
// drivers on spitest/i2ctest playbacks.
//
//	spi:arducam?spi=/dev/spidev0.0&i2c=/dev/i2c-1&w=320&h=240&hz=8000000&quality=12
//	spi:lepton?spi=/dev/spidev0.0&i2c=/dev/i2c-1&hz=16000000  (i2c=none skips the boot check)
//
// Empty spi and i2c names pick periph's default bus.
func openSPIURI(rest string) (Source, error) {
	name, p, err := splitQuery(rest)
	if err != nil {
		return nil, err
	}
	spiName := p.str("spi", "")
	i2cName := p.str("i2c", "")
	var (
		hz   int
		mode spi.Mode
		acfg ArduCAMConfig
	)
	switch name {
	case "arducam":
		hz = p.int("hz", 8_000_000, 100_000, 8_000_000)
		mode = spi.Mode0
		acfg = ArduCAMConfig{Width: p.int("w", 320, 4, 1600), Height: p.int("h", 240, 4, 1200), Quality: uint8(p.int("quality", 12, 1, 255))}
	case "lepton":
		hz = p.int("hz", 16_000_000, 2_000_000, 20_000_000)
		mode = spi.Mode3
	default:
		return nil, fmt.Errorf("spi camera %q unknown (arducam, lepton): %w", name, ErrBadURI)
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("spi:%s: initialising periph host drivers: %w", name, err)
	}
	port, err := spireg.Open(spiName)
	if err != nil {
		return nil, fmt.Errorf("spi:%s: opening SPI port %q: %w (%w)", name, spiName, err, errNoBoard)
	}
	sc, err := port.Connect(physic.Frequency(hz)*physic.Hertz, mode, 8)
	if err != nil {
		port.Close()
		return nil, fmt.Errorf("spi:%s: configuring %s: %w", name, port, err)
	}
	var bus i2c.BusCloser
	if !(name == "lepton" && i2cName == "none") {
		bus, err = i2creg.Open(i2cName)
		if err != nil {
			port.Close()
			return nil, fmt.Errorf("spi:%s: opening I²C bus %q: %w (%w)", name, i2cName, err, errNoBoard)
		}
	}
	closer := func() error {
		var errs []error
		if bus != nil {
			errs = append(errs, bus.Close())
		}
		errs = append(errs, port.Close())
		return errors.Join(errs...)
	}
	if name == "arducam" {
		a, err := NewArduCAM(sc, bus, acfg)
		if err != nil {
			closer()
			return nil, err
		}
		a.closer = closer
		return a, nil
	}
	var b i2c.Bus
	if bus != nil {
		b = bus
	}
	l, err := NewLepton(sc, b, LeptonConfig{})
	if err != nil {
		closer()
		return nil, err
	}
	l.closer = closer
	return l, nil
}
