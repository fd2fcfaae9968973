// Package host reads the server's health with gopsutil (CPU, memory, disks,
// load, uptime, OS) for engine.HostProbe, and audits it for risks
// (Findings). Sampling runs in the background so a request never waits for
// a CPU window. It must not import Docker, cnab-go or database/sql: the
// engine passes container facts in as engine.ContainerState.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	gohost "github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/load"
	"github.com/shirou/gopsutil/v3/mem"
	"github.com/shirou/gopsutil/v3/net"

	"github.com/stackhub/stackhub/engine"
)

var _ engine.HostProbe = (*Probe)(nil)

// Options configure a Probe.
type Options struct {
	// DataDir is StackHub's data directory; the disk holding it is the one
	// reported as DiskPercent (default "/").
	DataDir string
	// Interval between background samples (default 5 seconds).
	Interval time.Duration
	// ListenAddr is where StackHub serves, for the listen-no-tls finding:
	// "host:port" is plain HTTP, "https://host:port" is TLS.
	ListenAddr string
	// Containers, if set, lists the containers to audit with every sample
	// (engine.Docker's ManagedContainers fits). The engine cannot call
	// Findings itself (engine/host imports engine), so the probe does.
	Containers func(ctx context.Context) ([]engine.ContainerState, error)
	// DockerInfo, if set, reports the Docker engine's facts with every
	// sample (engine.Docker's Info fits).
	DockerInfo func(ctx context.Context) (engine.EngineInfo, error)
}

// containersTimeout bounds the container listing of one sample.
const containersTimeout = 3 * time.Second

// source is where samples come from; tests replace it.
type source struct {
	cpuTimes   func(ctx context.Context) (cpu.TimesStat, error)
	memory     func(ctx context.Context) (*mem.VirtualMemoryStat, error)
	partitions func(ctx context.Context) ([]disk.PartitionStat, error)
	usage      func(ctx context.Context, path string) (*disk.UsageStat, error)
	load       func(ctx context.Context) (*load.AvgStat, error)
	uptime     func(ctx context.Context) (uint64, error)
	hostname   func() (string, error)
	platform   func(ctx context.Context) (platform, version string, err error)
	kernel     func(ctx context.Context) (string, error)
	network    func(ctx context.Context) ([]net.IOCountersStat, error)
}

func gopsutilSource() source {
	return source{
		cpuTimes: func(ctx context.Context) (cpu.TimesStat, error) {
			ts, err := cpu.TimesWithContext(ctx, false)
			if err != nil {
				return cpu.TimesStat{}, err
			}
			if len(ts) == 0 {
				return cpu.TimesStat{}, errors.New("no cpu times")
			}
			return ts[0], nil
		},
		memory:  mem.VirtualMemoryWithContext,
		network: func(ctx context.Context) ([]net.IOCountersStat, error) { return net.IOCountersWithContext(ctx, true) },
		// all=false keeps filesystems backed by a device (not nodev ones
		// such as proc, tmpfs, overlay, cgroup).
		partitions: func(ctx context.Context) ([]disk.PartitionStat, error) { return disk.PartitionsWithContext(ctx, false) },
		usage:      disk.UsageWithContext,
		load:       load.AvgWithContext,
		uptime:     gohost.UptimeWithContext,
		hostname:   os.Hostname,
		platform: func(ctx context.Context) (string, string, error) {
			p, _, v, err := gohost.PlatformInformationWithContext(ctx)
			return p, v, err
		},
		kernel: gohost.KernelVersionWithContext,
	}
}

// Probe samples the host. Start runs the background loop; Sample returns
// the latest sample.
type Probe struct {
	log  *slog.Logger
	opts Options
	src  source

	mu      sync.Mutex
	latest  *engine.ServerStatus
	prevCPU *cpu.TimesStat
	// os and kernel do not change while we run: read them once.
	osName, kernel string
	failing        map[string]bool
	// history holds one point per historyStep over the last historySpan,
	// oldest first.
	history []engine.ServerPoint
}

// The history the console draws: one point per 30 seconds for an hour.
const (
	historyStep = 30 * time.Second
	historySpan = time.Hour
)

var _ engine.HostHistory = (*Probe)(nil)

// History returns the kept samples of the last hour, oldest first.
func (p *Probe) History() []engine.ServerPoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]engine.ServerPoint(nil), p.history...)
}

// remember adds st to the history when historyStep has passed since the
// last point, dropping points older than historySpan; the caller holds mu.
func (p *Probe) remember(st *engine.ServerStatus) {
	if n := len(p.history); n > 0 && st.Sampled.Sub(p.history[n-1].Time) < historyStep {
		return
	}
	p.history = append(p.history, engine.ServerPoint{Time: st.Sampled, CPUPercent: st.CPUPercent,
		MemoryPercent: st.MemoryPercent, DiskPercent: st.DiskPercent, Load1: st.Load1})
	cut := 0
	for cut < len(p.history) && st.Sampled.Sub(p.history[cut].Time) > historySpan {
		cut++
	}
	p.history = p.history[cut:]
}

// New returns a probe; call Start to sample in the background.
func New(log *slog.Logger, opts Options) *Probe {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.DataDir == "" {
		opts.DataDir = "/"
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	return &Probe{log: log, opts: opts, src: gopsutilSource(), failing: map[string]bool{}}
}

// Start samples now and then every Interval until ctx ends, in a goroutine
// of its own; it returns at once.
func (p *Probe) Start(ctx context.Context) {
	go func() {
		t := time.NewTicker(p.opts.Interval)
		defer t.Stop()
		for {
			p.refresh(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Sample returns a copy of the latest sample. Before the first background
// tick it reads the host once without waiting: CPU use is then the average
// since boot.
func (p *Probe) Sample(ctx context.Context) (*engine.ServerStatus, error) {
	p.mu.Lock()
	latest := p.latest
	p.mu.Unlock()
	if latest == nil {
		latest = p.refresh(ctx)
	}
	if latest == nil {
		return nil, fmt.Errorf("sample host: %w", engine.ErrUnavailable)
	}
	return clone(latest), nil
}

// refresh takes a sample and keeps it as the latest.
func (p *Probe) refresh(ctx context.Context) *engine.ServerStatus {
	st := p.sample(ctx)
	if ctx.Err() != nil {
		return nil
	}
	p.mu.Lock()
	p.latest = st
	p.remember(st)
	p.mu.Unlock()
	return st
}

func (p *Probe) sample(ctx context.Context) *engine.ServerStatus {
	st := &engine.ServerStatus{Sampled: time.Now().UTC()}

	if t, err := p.src.cpuTimes(ctx); p.check("cpu", err) {
		p.mu.Lock()
		st.CPUPercent = cpuPercent(p.prevCPU, t)
		p.prevCPU = &t
		p.mu.Unlock()
	}
	if m, err := p.src.memory(ctx); p.check("memory", err) {
		st.MemoryTotal, st.MemoryUsed, st.MemoryPercent = m.Total, m.Used, round1(m.UsedPercent)
	}
	st.Disks = p.disks(ctx)
	if u, err := p.src.usage(ctx, p.opts.DataDir); p.check("data disk", err) {
		st.DiskTotal, st.DiskUsed, st.DiskPercent = u.Total, u.Used, round1(u.UsedPercent)
		// The data directory's filesystem may be one the partition list
		// skipped or could not see (in a container, say): list it anyway.
		if mountOf(st.Disks, p.opts.DataDir) == "" && u.Total > 0 {
			st.Disks = append(st.Disks, engine.DiskUsage{Mount: filepath.Clean(p.opts.DataDir), Total: u.Total, Used: u.Used,
				Percent: round1(u.UsedPercent)})
			sort.Slice(st.Disks, func(i, j int) bool { return st.Disks[i].Mount < st.Disks[j].Mount })
		}
	}
	if l, err := p.src.load(ctx); p.check("load", err) {
		st.Load1, st.Load5, st.Load15 = l.Load1, l.Load5, l.Load15
	}
	if up, err := p.src.uptime(ctx); p.check("uptime", err) {
		st.UptimeSeconds = up
	}
	if h, err := p.src.hostname(); p.check("hostname", err) {
		st.Hostname = h
	}
	st.OS, st.Kernel = p.system(ctx)
	var containers []engine.ContainerState
	if p.opts.Containers != nil {
		cctx, cancel := context.WithTimeout(ctx, containersTimeout)
		list, err := p.opts.Containers(cctx)
		cancel()
		if p.check("containers", err) {
			containers = list
		}
	}
	if p.src.network != nil {
		if counters, err := p.src.network(ctx); p.check("network", err) {
			for _, c := range counters {
				if c.Name == "lo" {
					continue
				}
				st.Network = append(st.Network, engine.NetStat{Interface: c.Name, BytesSent: c.BytesSent, BytesRecv: c.BytesRecv,
					PacketsSent: c.PacketsSent, PacketsRecv: c.PacketsRecv})
			}
		}
	}
	if p.opts.DockerInfo != nil {
		dctx, cancel := context.WithTimeout(ctx, containersTimeout)
		info, err := p.opts.DockerInfo(dctx)
		cancel()
		if p.check("docker", err) {
			st.Docker = &info
		}
	}
	st.Risks = Findings(st, containers, p.opts.ListenAddr)
	return st
}

// system returns the OS and kernel, read once.
func (p *Probe) system(ctx context.Context) (osName, kernel string) {
	p.mu.Lock()
	osName, kernel = p.osName, p.kernel
	p.mu.Unlock()
	if osName != "" && kernel != "" {
		return osName, kernel
	}
	if plat, ver, err := p.src.platform(ctx); p.check("platform", err) {
		osName = strings.TrimSpace(plat + " " + ver)
	}
	if k, err := p.src.kernel(ctx); p.check("kernel", err) {
		kernel = k
	}
	p.mu.Lock()
	p.osName, p.kernel = osName, kernel
	p.mu.Unlock()
	return osName, kernel
}

// check logs a sampling failure (a warning the first time, then debug) and
// reports whether err is nil.
func (p *Probe) check(what string, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		delete(p.failing, what)
		return true
	}
	if p.failing[what] {
		p.log.Debug("host sample failed", "what", what, "err", err)
	} else {
		p.failing[what] = true
		p.log.Warn("host sample failed", "what", what, "err", err)
	}
	return false
}

// skipMounts are mount points (and what is below them) that hold no data of
// the user's: container layers, snaps, boot firmware.
var skipMounts = []string{"/var/lib/docker", "/var/lib/containerd", "/snap", "/boot/efi", "/proc", "/sys", "/dev", "/run"}

// skipFS are device-backed filesystems that are read-only images.
var skipFS = map[string]bool{"squashfs": true, "iso9660": true, "udf": true, "erofs": true}

// disks returns one usage per real filesystem: device-backed, not a
// read-only image, not under skipMounts, one mount per device (bind mounts
// repeat the device; the shortest mount point wins).
func (p *Probe) disks(ctx context.Context) []engine.DiskUsage {
	parts, err := p.src.partitions(ctx)
	if !p.check("partitions", err) {
		return nil
	}
	byDevice := map[string]disk.PartitionStat{}
	for _, pt := range parts {
		if skipFS[pt.Fstype] || skipped(pt.Mountpoint) {
			continue
		}
		if prev, ok := byDevice[pt.Device]; ok && len(prev.Mountpoint) <= len(pt.Mountpoint) {
			continue
		}
		byDevice[pt.Device] = pt
	}
	out := make([]engine.DiskUsage, 0, len(byDevice))
	for _, pt := range byDevice {
		u, err := p.src.usage(ctx, pt.Mountpoint)
		if err != nil || u.Total == 0 {
			continue
		}
		out = append(out, engine.DiskUsage{Mount: pt.Mountpoint, Total: u.Total, Used: u.Used, Percent: round1(u.UsedPercent)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mount < out[j].Mount })
	return out
}

func skipped(mount string) bool {
	for _, s := range skipMounts {
		if mount == s || strings.HasPrefix(mount, s+"/") {
			return true
		}
	}
	return false
}

// mountOf returns the mount point among disks that holds path, or "".
func mountOf(disks []engine.DiskUsage, path string) string {
	path = filepath.Clean(path)
	best := ""
	for _, d := range disks {
		m := d.Mount
		if (path == m || m == "/" || strings.HasPrefix(path, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best
}

// cpuPercent is the busy share of CPU time between prev and cur; without
// prev, since boot.
func cpuPercent(prev *cpu.TimesStat, cur cpu.TimesStat) float64 {
	busy, total := busyTotal(cur)
	if prev != nil {
		pb, pt := busyTotal(*prev)
		busy, total = busy-pb, total-pt
	}
	if total <= 0 || busy < 0 {
		return 0
	}
	return round1(min(100, busy/total*100))
}

// busyTotal sums CPU times; guest time is already counted in user on Linux.
func busyTotal(t cpu.TimesStat) (busy, total float64) {
	total = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return total - t.Idle - t.Iowait, total
}

func round1(v float64) float64 {
	return float64(int64(v*10+0.5)) / 10
}

func clone(st *engine.ServerStatus) *engine.ServerStatus {
	c := *st
	c.Disks = append([]engine.DiskUsage(nil), st.Disks...)
	c.Risks = append([]engine.Risk(nil), st.Risks...)
	c.Network = append([]engine.NetStat(nil), st.Network...)
	if st.Docker != nil {
		d := *st.Docker
		c.Docker = &d
	}
	return &c
}
