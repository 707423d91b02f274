module github.com/edgeinfer/edgeinfer

go 1.26.0

require (
	github.com/google/flatbuffers v2.0.8+incompatible
	github.com/klauspost/cpuid/v2 v2.4.2
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
	google.golang.org/protobuf v1.36.12
	periph.io/x/conn/v3 v3.7.3
	periph.io/x/host/v3 v3.8.5
)
