package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// cpuParts is the CPU time, in seconds, of the processes a request goes
// through on this machine: the load generator (this process), the relay
// in front of the app (serve for the proxy, docker-proxy for the app's
// own port) and the app.
type cpuParts struct{ client, relay, app float64 }

func (c cpuParts) sub(o cpuParts) cpuParts {
	return cpuParts{c.client - o.client, c.relay - o.relay, c.app - o.app}
}

// perRequest divides by the requests served, in microseconds.
func (c cpuParts) perRequest(n float64) cpuParts {
	return cpuParts{c.client / n * 1e6, c.relay / n * 1e6, c.app / n * 1e6}
}

func (c cpuParts) total() float64 { return c.client + c.relay + c.app }

// cpuMeter reads cpuParts for a fixed set of processes.
type cpuMeter struct{ relay, app []int }

func (m cpuMeter) read() (cpuParts, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuParts{}, fmt.Errorf("getrusage: %w", err)
	}
	p := cpuParts{client: tv(ru.Utime) + tv(ru.Stime)}
	for _, pid := range m.relay {
		s, err := cpuSeconds(pid)
		if err != nil {
			return cpuParts{}, err
		}
		p.relay += s
	}
	for _, pid := range m.app {
		s, err := cpuSeconds(pid)
		if err != nil {
			return cpuParts{}, err
		}
		p.app += s
	}
	return p, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// dockerProxyPIDs finds the docker-proxy processes that relay a published
// host port (one per address family). None when Docker's userland proxy
// is off: the kernel then forwards the port and its work is nobody's.
func dockerProxyPIDs(port string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "docker-proxy" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-host-port" && args[i+1] == port {
				if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

// containerPIDs returns the main process of each running container of a
// compose project.
func containerPIDs(project string) ([]int, error) {
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=com.docker.compose.project="+project).Output()
	if err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	var pids []int
	for _, id := range strings.Fields(string(out)) {
		b, err := exec.Command("docker", "inspect", "--format", "{{.State.Pid}}", id).Output()
		if err != nil {
			return nil, fmt.Errorf("docker inspect %s: %w", id, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == 0 {
			return nil, fmt.Errorf("container %s has no process", id)
		}
		pids = append(pids, pid)
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("no running container of project %s", project)
	}
	return pids, nil
}
