package format

import (
	"runtime"
	"testing"
)

func BenchmarkZZRead(b *testing.B) {
	data, _ := Marshal(floatMisc())
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		Read(data)
	}
}

func BenchmarkZZMemStats(b *testing.B) {
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.ReadMemStats(&ms)
	}
}
