package cli

import (
	"runtime"
	"testing"
)

func TestSampleHeap(t *testing.T) {
	rate := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })
	tests := []struct {
		name    string
		godebug string
		want    int
	}{
		{name: "off by default", want: 0},
		{name: "other GODEBUG settings keep it off", godebug: "http2client=0", want: 0},
		{name: "GODEBUG asks for samples", godebug: "memprofilerate=524288", want: 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GODEBUG", tt.godebug)
			runtime.MemProfileRate = 4096
			sampleHeap()
			if runtime.MemProfileRate != tt.want {
				t.Errorf("MemProfileRate = %d, want %d", runtime.MemProfileRate, tt.want)
			}
		})
	}
}
