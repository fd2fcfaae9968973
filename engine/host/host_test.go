package host

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	"github.com/shirou/gopsutil/v3/load"
	"github.com/shirou/gopsutil/v3/mem"
	"github.com/shirou/gopsutil/v3/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestFindingsHost(t *testing.T) {
	tests := []struct {
		name    string
		status  *engine.ServerStatus
		listen  string
		wantIDs []string
	}{
		{name: "healthy", status: &engine.ServerStatus{MemoryPercent: 50, Disks: []engine.DiskUsage{{Mount: "/", Total: 100, Used: 50, Percent: 50}}}},
		{name: "nil status"},
		{name: "exactly 90 is fine", status: &engine.ServerStatus{MemoryPercent: 90, Disks: []engine.DiskUsage{{Mount: "/", Percent: 90}}}},
		{
			name: "full disks and memory",
			status: &engine.ServerStatus{MemoryPercent: 95.5, Disks: []engine.DiskUsage{
				{Mount: "/", Total: 100 << 30, Used: 99 << 30, Percent: 99},
				{Mount: "/data", Total: 100 << 30, Used: 91 << 30, Percent: 91},
				{Mount: "/srv", Total: 100, Used: 10, Percent: 10},
			}},
			wantIDs: []string{"disk-full:/", "disk-full:/data", "memory-high"},
		},
		{
			name:    "root disk without a disk list",
			status:  &engine.ServerStatus{DiskTotal: 100, DiskUsed: 95, DiskPercent: 95},
			wantIDs: []string{"disk-full:/"},
		},
		{name: "all interfaces", listen: "0.0.0.0:8080", wantIDs: []string{"listen-no-tls"}},
		{name: "no host", listen: ":8080", wantIDs: []string{"listen-no-tls"}},
		{name: "ipv6 any", listen: "[::]:8080", wantIDs: []string{"listen-no-tls"}},
		{name: "lan address", listen: "http://192.168.1.5:8080", wantIDs: []string{"listen-no-tls"}},
		{name: "hostname", listen: "box.example.com:8080", wantIDs: []string{"listen-no-tls"}},
		{name: "loopback", listen: "127.0.0.1:8080"},
		{name: "ipv6 loopback", listen: "[::1]:8080"},
		{name: "localhost", listen: "localhost:8080"},
		{name: "tls", listen: "https://0.0.0.0:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			risks := Findings(tt.status, nil, tt.listen)
			assert.Equal(t, tt.wantIDs, ids(risks))
			for _, r := range risks {
				assert.NotEmpty(t, r.Severity)
				assert.NotEmpty(t, r.What)
				assert.NotEmpty(t, r.Fix)
			}
		})
	}
}

func TestFindingsContainers(t *testing.T) {
	tests := []struct {
		name      string
		container engine.ContainerState
		wantIDs   []string
	}{
		{name: "plain web app", container: engine.ContainerState{Name: "stackhub-redmine", Service: "web", State: "running",
			Ports: []engine.PublishedPort{{Port: 9001, Protocol: "tcp"}}}},
		{name: "privileged", container: engine.ContainerState{Name: "/stackhub-x", Privileged: true},
			wantIDs: []string{"privileged-container:stackhub-x"}},
		{name: "docker socket", container: engine.ContainerState{Name: "stackhub-x", Mounts: []string{"/var/run/docker.sock:/var/run/docker.sock"}},
			wantIDs: []string{"docker-socket-mount:stackhub-x"}},
		{name: "host root", container: engine.ContainerState{Name: "stackhub-x", Mounts: []string{"/:/host:ro", "/srv/data:/data"}},
			wantIDs: []string{"host-root-mount:stackhub-x"}},
		{name: "restarting", container: engine.ContainerState{Name: "stackhub-x", State: "restarting"},
			wantIDs: []string{"container-restarting:stackhub-x"}},
		{name: "unhealthy", container: engine.ContainerState{Name: "stackhub-x", State: "running", Health: "unhealthy"},
			wantIDs: []string{"container-unhealthy:stackhub-x"}},
		{name: "db service published", container: engine.ContainerState{Name: "stackhub-redmine-db-1", Service: "db",
			Ports: []engine.PublishedPort{{Port: 9002, Protocol: "tcp"}}},
			wantIDs: []string{"db-port-published:stackhub-redmine-db-1:9002"}},
		{name: "db port published on IPv4 and IPv6 is one risk", container: engine.ContainerState{Name: "stackhub-redmine-db-1", Service: "db",
			Ports: []engine.PublishedPort{{Port: 9002, Protocol: "tcp", Container: "0.0.0.0"}, {Port: 9002, Protocol: "tcp", Container: "::"}}},
			wantIDs: []string{"db-port-published:stackhub-redmine-db-1:9002"}},
		{name: "mysql by name", container: engine.ContainerState{Name: "stackhub-wp-mysql",
			Ports: []engine.PublishedPort{{Port: 3307}}},
			wantIDs: []string{"db-port-published:stackhub-wp-mysql:3307"}},
		{name: "well-known db port", container: engine.ContainerState{Name: "stackhub-x", Service: "app",
			Ports: []engine.PublishedPort{{Port: 5432, Protocol: "tcp"}, {Port: 9005, Protocol: "tcp"}}},
			wantIDs: []string{"db-port-published:stackhub-x:5432"}},
		{name: "db not published", container: engine.ContainerState{Name: "stackhub-redmine-db-1", Service: "db"}},
		{name: "admin tool", container: engine.ContainerState{Name: "stackhub-pma", Service: "phpmyadmin",
			Ports: []engine.PublishedPort{{Port: 9010, Protocol: "tcp"}}},
			wantIDs: []string{"admin-port-published:stackhub-pma:9010"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			risks := Findings(nil, []engine.ContainerState{tt.container}, "")
			assert.Equal(t, tt.wantIDs, ids(risks))
		})
	}
}

func TestFindingsOrder(t *testing.T) {
	risks := Findings(&engine.ServerStatus{MemoryPercent: 99},
		[]engine.ContainerState{
			{Name: "b", State: "restarting"},
			{Name: "a", Mounts: []string{"/:/host"}},
		}, "0.0.0.0:80")
	assert.Equal(t, []string{"host-root-mount:a", "listen-no-tls", "memory-high", "container-restarting:b"}, ids(risks))
	assert.Equal(t, SeverityCritical, risks[0].Severity)
}

func ids(risks []engine.Risk) []string {
	var out []string
	for _, r := range risks {
		out = append(out, r.ID)
	}
	return out
}

// fakeSource is a host whose CPU counters the test moves.
func fakeSource(times *cpu.TimesStat) source {
	return source{
		cpuTimes: func(context.Context) (cpu.TimesStat, error) { return *times, nil },
		memory: func(context.Context) (*mem.VirtualMemoryStat, error) {
			return &mem.VirtualMemoryStat{Total: 1000, Used: 950, UsedPercent: 95}, nil
		},
		partitions: func(context.Context) ([]disk.PartitionStat, error) {
			return []disk.PartitionStat{
				{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"},
				{Device: "/dev/sda1", Mountpoint: "/etc/hosts", Fstype: "ext4"}, // a bind mount
				{Device: "/dev/sdb1", Mountpoint: "/srv", Fstype: "xfs"},
				{Device: "/dev/loop3", Mountpoint: "/snap/core/1", Fstype: "squashfs"},
				{Device: "/dev/sda1", Mountpoint: "/var/lib/docker/overlay2/x/merged", Fstype: "ext4"},
				{Device: "/dev/sdc1", Mountpoint: "/mnt/broken", Fstype: "ext4"},
			}, nil
		},
		usage: func(_ context.Context, path string) (*disk.UsageStat, error) {
			switch path {
			case "/", "/var/lib/stackhub":
				return &disk.UsageStat{Path: path, Total: 100, Used: 40, UsedPercent: 40}, nil
			case "/srv":
				return &disk.UsageStat{Path: path, Total: 200, Used: 190, UsedPercent: 95}, nil
			}
			return nil, errors.New("no such disk")
		},
		load:     func(context.Context) (*load.AvgStat, error) { return &load.AvgStat{Load1: 1, Load5: 2, Load15: 3}, nil },
		uptime:   func(context.Context) (uint64, error) { return 3600, nil },
		hostname: func() (string, error) { return "box", nil },
		platform: func(context.Context) (string, string, error) { return "ubuntu", "22.04", nil },
		kernel:   func(context.Context) (string, error) { return "5.15.0", nil },
		network: func(context.Context) ([]net.IOCountersStat, error) {
			return []net.IOCountersStat{{Name: "lo", BytesSent: 1}, {Name: "eth0", BytesSent: 10, BytesRecv: 20, PacketsSent: 1, PacketsRecv: 2}}, nil
		},
	}
}

func TestProbeSample(t *testing.T) {
	times := &cpu.TimesStat{User: 10, System: 10, Idle: 80}
	p := New(nil, Options{DataDir: "/var/lib/stackhub", ListenAddr: "0.0.0.0:8080",
		DockerInfo: func(context.Context) (engine.EngineInfo, error) {
			return engine.EngineInfo{Version: "20.10.24", APIVersion: "1.41", Running: 3}, nil
		}})
	p.src = fakeSource(times)

	st, err := p.Sample(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []engine.NetStat{{Interface: "eth0", BytesSent: 10, BytesRecv: 20, PacketsSent: 1, PacketsRecv: 2}}, st.Network,
		"every interface but loopback")
	require.NotNil(t, st.Docker)
	assert.Equal(t, "20.10.24", st.Docker.Version)
	assert.InDelta(t, 20, st.CPUPercent, 0.01, "before any tick: the average since boot")
	assert.InDelta(t, 95, st.MemoryPercent, 0.01)
	assert.Equal(t, uint64(1000), st.MemoryTotal)
	assert.Equal(t, []engine.DiskUsage{
		{Mount: "/", Total: 100, Used: 40, Percent: 40},
		{Mount: "/srv", Total: 200, Used: 190, Percent: 95},
	}, st.Disks, "one mount per device, no images, no container layers, no broken disks")
	assert.InDelta(t, 40, st.DiskPercent, 0.01, "the data directory's disk")
	assert.InDelta(t, 1.0, st.Load1, 0.01)
	assert.InDelta(t, 3.0, st.Load15, 0.01)
	assert.Equal(t, uint64(3600), st.UptimeSeconds)
	assert.Equal(t, "box", st.Hostname)
	assert.Equal(t, "ubuntu 22.04", st.OS)
	assert.Equal(t, "5.15.0", st.Kernel)
	assert.Equal(t, []string{"disk-full:/srv", "listen-no-tls", "memory-high"}, ids(st.Risks))

	// The next sample measures the window since the last one.
	*times = cpu.TimesStat{User: 10 + 30, System: 10 + 30, Idle: 80 + 40}
	p.refresh(t.Context())
	st2, err := p.Sample(t.Context())
	require.NoError(t, err)
	assert.InDelta(t, 60, st2.CPUPercent, 0.01)

	st2.Risks[0].ID = "changed"
	st3, err := p.Sample(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "disk-full:/srv", st3.Risks[0].ID, "Sample returns a copy")
}

func TestProbeAuditsContainers(t *testing.T) {
	tests := []struct {
		name    string
		list    func(context.Context) ([]engine.ContainerState, error)
		wantIDs []string
	}{
		{"privileged", func(context.Context) ([]engine.ContainerState, error) {
			return []engine.ContainerState{{Name: "stackhub-x", Privileged: true, State: "running"}}, nil
		}, []string{"disk-full:/srv", "memory-high", "privileged-container:stackhub-x"}},
		{"docker down", func(context.Context) ([]engine.ContainerState, error) {
			return nil, errors.New("cannot connect to the Docker daemon")
		}, []string{"disk-full:/srv", "memory-high"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(nil, Options{Containers: tt.list})
			p.src = fakeSource(&cpu.TimesStat{Idle: 1})
			st, err := p.Sample(t.Context())
			require.NoError(t, err)
			assert.Equal(t, tt.wantIDs, ids(st.Risks))
		})
	}
}

func TestProbeSurvivesFailures(t *testing.T) {
	fail := errors.New("boom")
	p := New(nil, Options{})
	p.src = source{
		cpuTimes:   func(context.Context) (cpu.TimesStat, error) { return cpu.TimesStat{}, fail },
		memory:     func(context.Context) (*mem.VirtualMemoryStat, error) { return nil, fail },
		partitions: func(context.Context) ([]disk.PartitionStat, error) { return nil, fail },
		usage:      func(context.Context, string) (*disk.UsageStat, error) { return nil, fail },
		load:       func(context.Context) (*load.AvgStat, error) { return nil, fail },
		uptime:     func(context.Context) (uint64, error) { return 0, fail },
		hostname:   func() (string, error) { return "", fail },
		platform:   func(context.Context) (string, string, error) { return "", "", fail },
		kernel:     func(context.Context) (string, error) { return "", fail },
	}
	st, err := p.Sample(t.Context())
	require.NoError(t, err, "a host that cannot be read is reported as zeros")
	assert.Zero(t, st.MemoryTotal)
	assert.Empty(t, st.Risks)
}

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name string
		prev *cpu.TimesStat
		cur  cpu.TimesStat
		want float64
	}{
		{"since boot", nil, cpu.TimesStat{User: 25, Idle: 75}, 25},
		{"iowait is idle", nil, cpu.TimesStat{User: 25, Idle: 50, Iowait: 25}, 25},
		{"window", &cpu.TimesStat{User: 10, Idle: 10}, cpu.TimesStat{User: 20, Idle: 20}, 50},
		{"no time passed", &cpu.TimesStat{User: 10, Idle: 10}, cpu.TimesStat{User: 10, Idle: 10}, 0},
		{"counter reset", &cpu.TimesStat{User: 100, Idle: 100}, cpu.TimesStat{User: 1, Idle: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, cpuPercent(tt.prev, tt.cur), 0.01)
		})
	}
}

// TestProbeRealHost samples this machine through gopsutil.
func TestProbeRealHost(t *testing.T) {
	p := New(nil, Options{DataDir: t.TempDir(), Interval: 50 * time.Millisecond})

	start := time.Now()
	st, err := p.Sample(t.Context())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second, "the first sample does not wait for a CPU window")
	assert.NotZero(t, st.MemoryTotal)
	assert.NotEmpty(t, st.Hostname)
	assert.NotEmpty(t, st.Disks)
	assert.NotZero(t, st.DiskTotal)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p.Start(ctx)
	require.Eventually(t, func() bool {
		s, err := p.Sample(t.Context())
		return err == nil && s.Sampled.After(st.Sampled)
	}, 5*time.Second, 20*time.Millisecond, "the background loop refreshes the sample")
}
