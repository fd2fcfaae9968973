//go:build integration

package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakSample is the service's footprint after some cycles.
type soakSample struct {
	cycles, goroutines, files int
	rss, db, wal              int64
}

func (s *server) rss() int64 {
	s.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	require.NoError(s.t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(s.t, err)
			return kb << 10
		}
	}
	s.t.Fatal("no VmRSS")
	return 0
}

// fileSize is the size of a file in the data folder (0 if absent).
func (s *server) fileSize(name string) int64 {
	if fi, err := os.Stat(filepath.Join(s.data, name)); err == nil {
		return fi.Size()
	}
	return 0
}

func (s *server) sample(cycles int) soakSample {
	http.DefaultClient.CloseIdleConnections()
	return soakSample{cycles: cycles, goroutines: s.goroutines(), files: s.openFiles(), rss: s.rss(),
		db: s.fileSize("stackhub.db"), wal: s.fileSize("stackhub.db-wal")}
}

// soakCycle installs the hello fixture as name, waits until it runs and
// uninstalls it with its data.
func (s *server) soakCycle(name string) error {
	body, _ := json.Marshal(map[string]string{"app": "hello", "name": name})
	req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/installations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("install %s: HTTP %d", name, resp.StatusCode)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, out := s.rest(http.MethodGet, "/api/v1/installations/"+name)
		if code == http.StatusOK && out["status"] == "running" {
			break
		}
		if code != http.StatusOK || out["status"] == "failed" || time.Now().After(deadline) {
			return fmt.Errorf("install %s: HTTP %d, %v", name, code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, out := s.rest(http.MethodDelete, "/api/v1/installations/"+name+"?purge=true")
	if code >= 300 {
		return fmt.Errorf("uninstall %s: HTTP %d, %v", name, code, out)
	}
	return nil
}

// TestSoak runs install/uninstall cycles of the hello fixture, four at a
// time, and samples the service's goroutines, open files, resident memory
// and database size as it goes: none may keep growing with the cycles.
// make test runs a short form; `make soak` runs 500 cycles
// (STACKHUB_SOAK_CYCLES) and prints the table.
func TestSoak(t *testing.T) {
	cycles := 24
	if v := os.Getenv("STACKHUB_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "STACKHUB_SOAK_CYCLES")
		cycles = n
	}
	const workers = 4
	every := max(workers, cycles/10/workers*workers)
	// A short history, so that its bound is reached within the short form.
	// Ports of its own: other e2e tests may run on the same machine.
	s := startServer(t, "--jobs", strconv.Itoa(workers), "--history", "3", "--port-min", "26001", "--port-max", "26999")
	s.get("/getAllAppInfo", nil)
	samples := []soakSample{s.sample(0)}

	for done := 0; done < cycles; done += every {
		n := min(every, cycles-done)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					if err := s.soakCycle(fmt.Sprintf("soak-%d", w)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, s.logs.String())
		}
		time.Sleep(time.Second)
		samples = append(samples, s.sample(done+n))
	}

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "%8s %11s %11s %9s %10s %10s\n", "cycles", "goroutines", "open files", "RSS MB", "SQLite KB", "WAL KB")
	for _, sm := range samples {
		fmt.Fprintf(&tbl, "%8d %11d %11d %9.1f %10.1f %10.1f\n", sm.cycles, sm.goroutines, sm.files,
			float64(sm.rss)/(1<<20), float64(sm.db)/1024, float64(sm.wal)/1024)
	}
	t.Logf("soak, %d cycles with %d jobs:\n%s", cycles, workers, tbl.String())

	// Compare the end with the first sample after warm-up (the first
	// cycles start the pools that stay): a leak grows with every cycle.
	first, last := samples[1], samples[len(samples)-1]
	assert.LessOrEqual(t, last.goroutines, first.goroutines+6, "goroutines grow with the cycles")
	assert.LessOrEqual(t, last.files, first.files+6, "open files grow with the cycles")
	assert.LessOrEqual(t, last.rss, first.rss+48<<20, "memory grows with the cycles")
	// The database keeps a bounded history per installation: past the
	// first half it stops growing (deleted rows' pages are reused); the
	// write-ahead log is checkpointed at about 4 MB.
	mid := samples[len(samples)/2]
	assert.LessOrEqual(t, last.db, mid.db+256<<10, "the database grows with the cycles")
	assert.LessOrEqual(t, last.wal, int64(8<<20), "the write-ahead log grows with the cycles")
}
