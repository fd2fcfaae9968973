package ports

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func busyProbe(busy ...int) func(int, string) error {
	return func(p int, _ string) error {
		if slices.Contains(busy, p) {
			return errors.New("address already in use")
		}
		return nil
	}
}

func TestFind(t *testing.T) {
	holder := func(p int, _ string) string { return fmt.Sprintf("process %d", p) }
	tests := []struct {
		name    string
		finder  Finder
		reqs    []Request
		used    Used
		want    map[string]int
		wantErr string
	}{
		{
			name:   "first free ports in order",
			finder: Finder{Min: 9001, Max: 9010, Probe: busyProbe()},
			reqs:   []Request{{Name: "web"}, {Name: "db"}},
			want:   map[string]int{"web": 9001, "db": 9002},
		},
		{
			name:   "skips used and busy ports",
			finder: Finder{Min: 9001, Max: 9010, Probe: busyProbe(9002)},
			reqs:   []Request{{Name: "web"}, {Name: "db"}},
			used:   Used{9001: "container x"},
			want:   map[string]int{"web": 9003, "db": 9004},
		},
		{
			name:   "pinned ports first, autos avoid them",
			finder: Finder{Min: 9001, Max: 9010, Probe: busyProbe()},
			reqs:   []Request{{Name: "web"}, {Name: "db", Pin: 9001}},
			want:   map[string]int{"web": 9002, "db": 9001},
		},
		{
			name:   "preferred when free",
			finder: Finder{Min: 9001, Max: 9010, Probe: busyProbe()},
			reqs:   []Request{{Name: "web", Preferred: 8080}},
			want:   map[string]int{"web": 8080},
		},
		{
			name:   "preferred busy falls back to the range",
			finder: Finder{Min: 9001, Max: 9010, Probe: busyProbe(8080)},
			reqs:   []Request{{Name: "web", Preferred: 8080}},
			want:   map[string]int{"web": 9001},
		},
		{
			name:    "pinned port held by a container",
			finder:  Finder{Probe: busyProbe(), Holder: holder},
			reqs:    []Request{{Name: "web", Pin: 9050}},
			used:    Used{9050: "container wiki"},
			wantErr: `port "web": host port 9050/tcp is already in use by container wiki`,
		},
		{
			name:    "pinned port held by a host process",
			finder:  Finder{Probe: busyProbe(9050), Holder: holder},
			reqs:    []Request{{Name: "dns", Pin: 9050, Protocol: "udp"}},
			wantErr: `port "dns": host port 9050/udp is already in use by process 9050`,
		},
		{
			name:    "range exhausted",
			finder:  Finder{Min: 9001, Max: 9002, Probe: busyProbe(9001)},
			reqs:    []Request{{Name: "a"}, {Name: "b"}},
			wantErr: `find a host port for "b" in 9001-9002: no free port left in range`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.finder.Find(t.Context(), tt.reqs, tt.used)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTakenErrorHint(t *testing.T) {
	var err error = &TakenError{Name: "port", Port: 9050, Proto: TCP}
	var h interface{ Hint() string }
	require.ErrorAs(t, err, &h)
	assert.Contains(t, h.Hint(), "9050")
}

func TestProbeSeesHostListeners(t *testing.T) {
	tests := []struct {
		name  string
		proto string
		hold  func(t *testing.T) int
	}{
		{"tcp on all IPv4 addresses", TCP, func(t *testing.T) int {
			l, err := net.Listen("tcp4", "0.0.0.0:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close() })
			return l.Addr().(*net.TCPAddr).Port
		}},
		{"tcp on loopback only", TCP, func(t *testing.T) int {
			l, err := net.Listen("tcp4", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close() })
			return l.Addr().(*net.TCPAddr).Port
		}},
		{"udp", UDP, func(t *testing.T) int {
			c, err := net.ListenPacket("udp4", "0.0.0.0:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			return c.LocalAddr().(*net.UDPAddr).Port
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := tt.hold(t)
			require.Error(t, Probe(port, tt.proto))
			if tt.proto == TCP {
				assert.Contains(t, HostHolder(port, tt.proto), fmt.Sprintf("process %d (", os.Getpid()))
			}
		})
	}
}

func TestProbeFreePort(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	assert.NoError(t, Probe(port, TCP))
	assert.Equal(t, "a process on the host", HostHolder(port, TCP))
}
