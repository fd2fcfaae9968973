package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Backups: the throughput of a backup and of a restore of one volume of
// hello-db holding -backup-size bytes of incompressible data, against tar
// of the same folder in the same run; what a second backup adds after 1%
// of the data changed; and the app's downtime during a backup, for hello-db
// (no backup action: StackHub stops it for the copy) and for hello-dump (a
// backup action dumps the database while the app runs).

// backupFileSize is the size of each data file written into the volume.
const backupFileSize = 64 << 20

// runBackupOnly measures backups alone (bench -only backup).
func runBackupOnly(bin, outDir, catalog string, size int64) error {
	bin, _ = filepath.Abs(bin)
	catalog, _ = filepath.Abs(catalog)
	host, _ := os.Hostname()
	rep := &report{Started: time.Now().UTC(), Host: host}
	if err := benchBackupFresh(rep, bin, catalog, size); err != nil {
		return err
	}
	printTable(os.Stdout, rep)
	return writeJSON(outDir, rep)
}

// benchBackupFresh measures backups on a server of their own, whose
// catalog also holds hello-dump: hello-db with a backup action that dumps
// the database while it runs.
func benchBackupFresh(rep *report, bin, catalog string, size int64) error {
	dir, err := os.MkdirTemp("", "stackhub-bench-catalog")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, os.DirFS(catalog)); err != nil {
		return fmt.Errorf("copy the catalog: %w", err)
	}
	if err := writeDumpBundle(filepath.Join(dir, "hello-db"), filepath.Join(dir, "hello-dump")); err != nil {
		return err
	}
	s, err := startServer(bin, dir, "")
	if err != nil {
		return err
	}
	defer s.cleanup()
	if err := benchBackup(rep, s, size); err != nil {
		return err
	}
	return benchDumpDowntime(rep, s, min(size, 256<<20))
}

// writeDumpBundle copies hello-db as hello-dump with a backup action: the
// stackhub mixin's exec operation runs the fixture's dump command in the
// db container, so StackHub need not stop the app for the copy.
func writeDumpBundle(from, to string) error {
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		return fmt.Errorf("copy hello-db: %w", err)
	}
	file := filepath.Join(to, "porter.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	m := strings.Replace(string(b), "name: hello-db\n", "name: hello-dump\n", 1)
	m = strings.Replace(m, "customActions:\n", "customActions:\n  backup: {description: \"Dump the database while it runs\", modifies: false}\n", 1)
	m += "backup:\n  - stackhub:\n      description: \"Dump the database\"\n      compose: docker-compose.yml\n" +
		"      operation: exec\n      service: db\n      command: [/app, dump, /data, /data/dump.db]\n"
	if !strings.Contains(m, "name: hello-dump") || !strings.Contains(m, "backup: {") {
		return fmt.Errorf("hello-db's porter.yaml changed shape: update writeDumpBundle")
	}
	return os.WriteFile(file, []byte(m), 0o644)
}

// benchDumpDowntime measures the downtime of a backup of an app that
// declares a dump action (hello-dump), with size bytes in its volume.
func benchDumpDowntime(rep *report, s *server, size int64) error {
	fmt.Fprintf(os.Stderr, "bench: backup of an app with a dump action (%d MiB)\n", size>>20)
	if _, err := s.call("POST", "/installApp", map[string]string{"appName": "hello-dump"}); err != nil {
		return fmt.Errorf("installApp hello-dump: %w", err)
	}
	app, err := s.waitRunning("hello-dump", 3*time.Minute)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = s.call("POST", "/uninstallApp", map[string]string{"appName": "hello-dump"})
		_ = exec.Command("docker", "volume", "rm", "-f", s.prefix+"-hello-dump_data").Run()
	}()
	out, err := exec.Command("docker", "volume", "inspect", "--format", "{{.Mountpoint}}", s.prefix+"-hello-dump_data").Output()
	if err != nil {
		return fmt.Errorf("find the volume: %w", err)
	}
	if err := fillVolume(strings.TrimSpace(string(out)), size); err != nil {
		return err
	}
	stop := make(chan struct{})
	longest := downtime(app.Port, stop)
	took, err := s.job("POST", "/api/v1/installations/hello-dump/backups", nil)
	close(stop)
	down := longest()
	if err != nil {
		return err
	}
	var list struct {
		Backups []struct {
			Quiesce string `json:"quiesce"`
		} `json:"backups"`
	}
	if err := s.rest("GET", "/api/v1/installations/hello-dump/backups", nil, &list); err != nil {
		return err
	}
	if len(list.Backups) != 1 || list.Backups[0].Quiesce != "backup" {
		return fmt.Errorf("hello-dump's backup did not run its dump action: %+v", list.Backups)
	}
	rep.add("backup", "downtime during a backup (dump action)", down.Seconds(), "s", "<= 2 s",
		fmt.Sprintf("the app kept running; whole job %.1f s for %d MiB", took.Seconds(), size>>20))
	return nil
}

// rest sends a REST request and decodes the answer into out (if not nil).
func (s *server) rest(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+s.addr+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// job runs a REST call that answers a job and waits for the job's end.
func (s *server) job(method, path string, body any) (time.Duration, error) {
	start := time.Now()
	var j struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := s.rest(method, path, body, &j); err != nil {
		return 0, err
	}
	for j.Status != "succeeded" {
		if j.Status == "failed" {
			return 0, fmt.Errorf("%s %s: job failed: %s", method, path, j.Message)
		}
		time.Sleep(20 * time.Millisecond)
		if err := s.rest("GET", "/api/v1/jobs/"+j.ID, nil, &j); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// fillVolume writes size bytes of random data in files of backupFileSize.
func fillVolume(dir string, size int64) error {
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for i := 0; int64(i)*backupFileSize < size; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("blob%03d", i)))
		if err != nil {
			return err
		}
		for n := 0; n < backupFileSize; n += len(buf) {
			_, _ = rng.Read(buf)
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// changeOnePercent overwrites 1% of each data file, in one run in its
// middle.
func changeOnePercent(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "blob*"))
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{2})
	buf := make([]byte, backupFileSize/100)
	for _, p := range files {
		_, _ = rng.Read(buf)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, werr := f.WriteAt(buf, backupFileSize/2)
		if err := f.Close(); err != nil || werr != nil {
			return fmt.Errorf("change %s: %w", p, err)
		}
	}
	return nil
}

// downtime probes the app's page every 10 ms and reports the longest run
// of failed probes, until stop is closed.
func downtime(port string, stop <-chan struct{}) func() time.Duration {
	var longest atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &http.Client{Timeout: time.Second}
		var downSince time.Time
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := c.Get("http://127.0.0.1:" + port + "/healthz")
			ok := err == nil && resp.StatusCode == 200
			if resp != nil {
				resp.Body.Close()
			}
			now := time.Now()
			switch {
			case !ok && downSince.IsZero():
				downSince = now
			case ok && !downSince.IsZero():
				if d := now.Sub(downSince); int64(d) > longest.Load() {
					longest.Store(int64(d))
				}
				downSince = time.Time{}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() time.Duration {
		wg.Wait()
		return time.Duration(longest.Load())
	}
}

type benchBackupEntry struct {
	ID    string `json:"id"`
	Size  int64  `json:"size"`
	Added int64  `json:"added"`
}

func benchBackup(rep *report, s *server, size int64) error {
	fmt.Fprintf(os.Stderr, "bench: backup of a %d MiB volume\n", size>>20)
	if _, err := s.call("POST", "/installApp", map[string]string{"appName": "hello-db"}); err != nil {
		return fmt.Errorf("installApp: %w", err)
	}
	app, err := s.waitRunning("hello-db", 3*time.Minute)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = s.call("POST", "/uninstallApp", map[string]string{"appName": "hello-db"})
		_ = exec.Command("docker", "volume", "rm", "-f", s.prefix+"-hello-db_data").Run()
	}()
	out, err := exec.Command("docker", "volume", "inspect", "--format", "{{.Mountpoint}}", s.prefix+"-hello-db_data").Output()
	if err != nil {
		return fmt.Errorf("find the volume: %w", err)
	}
	mount := strings.TrimSpace(string(out))
	if err := fillVolume(mount, size); err != nil {
		return err
	}
	mib := float64(size) / (1 << 20)

	// tar of the same folder, into a file and back out, on the same disk.
	work, err := os.MkdirTemp("", "stackhub-bench-tar")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tarFile := filepath.Join(work, "data.tar")
	start := time.Now()
	if b, err := exec.Command("tar", "-cf", tarFile, "-C", mount, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %w: %s", err, b)
	}
	tarCreate := time.Since(start)
	_ = os.MkdirAll(filepath.Join(work, "x"), 0o755)
	start = time.Now()
	if b, err := exec.Command("tar", "-xf", tarFile, "-C", filepath.Join(work, "x")).CombinedOutput(); err != nil {
		return fmt.Errorf("untar: %w: %s", err, b)
	}
	tarExtract := time.Since(start)
	_ = os.RemoveAll(work)

	stop := make(chan struct{})
	longest := downtime(app.Port, stop)
	first, err := s.job("POST", "/api/v1/installations/hello-db/backups", nil)
	close(stop)
	down := longest()
	if err != nil {
		return err
	}
	if err := changeOnePercent(mount); err != nil {
		return err
	}
	if _, err := s.job("POST", "/api/v1/installations/hello-db/backups", nil); err != nil {
		return err
	}
	var list struct {
		Backups []benchBackupEntry `json:"backups"`
	}
	if err := s.rest("GET", "/api/v1/installations/hello-db/backups", nil, &list); err != nil {
		return err
	}
	if len(list.Backups) != 2 {
		return fmt.Errorf("%d backups listed, want 2", len(list.Backups))
	}
	second, firstB := list.Backups[0], list.Backups[1]
	restore, err := s.job("POST", "/api/v1/installations/hello-db/backups/"+firstB.ID+"/restore", nil)
	if err != nil {
		return err
	}

	rep.add("backup", "tar create", mib/tarCreate.Seconds(), "MiB/s", "", fmt.Sprintf("%.0f MiB into a file on the same disk", mib))
	rep.add("backup", "backup (restic, app stopped and started)", mib/first.Seconds(), "MiB/s", ">= 0.8x tar",
		fmt.Sprintf("%.2fx tar; whole job %.1f s", tarCreate.Seconds()/first.Seconds(), first.Seconds()))
	rep.add("backup", "tar extract", mib/tarExtract.Seconds(), "MiB/s", "", "")
	rep.add("backup", "restore in place (stop, swap, start, healthy)", mib/restore.Seconds(), "MiB/s", "",
		fmt.Sprintf("%.2fx tar extract; whole job %.1f s", tarExtract.Seconds()/restore.Seconds(), restore.Seconds()))
	rep.add("backup", "second backup after 1% changed", 100*float64(second.Added)/float64(firstB.Added), "%", "<= 3%",
		fmt.Sprintf("%d of %d bytes added to the repository", second.Added, firstB.Added))
	rep.add("backup", "downtime during a backup (no dump action)", down.Seconds(), "s", "<= 2 s with a dump action",
		"longest run of failed probes, every 10 ms")
	return nil
}
