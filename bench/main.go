// Command bench measures StackHub against references run on the same
// machine in the same run: install time against docker-compose and against
// the Engine API floor, API latency and throughput with 100 installed apps,
// concurrent installs, and footprint. It prints a table and writes the same
// as JSON. It talks to StackHub over HTTP on 127.0.0.1 only, to Docker
// through the CLI and the Engine API socket, and imports no StackHub
// package.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Row is one measured line of the report.
type Row struct {
	Section string  `json:"section"`
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Target  string  `json:"target,omitempty"`
	Note    string  `json:"note,omitempty"`
}

type report struct {
	Started time.Time `json:"started"`
	Host    string    `json:"host"`
	Rows    []Row     `json:"rows"`
}

func (r *report) add(section, metric string, v float64, unit, target, note string) {
	r.Rows = append(r.Rows, Row{section, metric, v, unit, target, note})
	fmt.Fprintf(os.Stderr, "  %-10s %-44s %10.2f %-6s %s\n", section, metric, v, unit, note)
}

func main() {
	bin := flag.String("bin", "bin/stackhub", "the stackhub binary")
	out := flag.String("out", "out/bench", "folder for the JSON report")
	catalog := flag.String("catalog", "testdata/bundles", "fixture catalog")
	apps := flag.Int("apps", 100, "installed apps for the API and footprint measurements")
	reps := flag.Int("reps", 3, "install repetitions per contender")
	clients := flag.Int("clients", 50, "concurrent clients of the load generator")
	loadFor := flag.Duration("load", 5*time.Second, "duration of each load run")
	samples := flag.Int("samples", 1000, "sequential requests per latency measurement")
	only := flag.String("only", "", "measure one section alone: console (the web console, no installs), proxy (the reverse proxy against direct requests), backup")
	backupSize := flag.Int64("backup-size", 1<<30, "bytes in the volume the backup section backs up")
	flag.Parse()
	if *only == "backup" {
		if err := runBackupOnly(*bin, *out, *catalog, *backupSize); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "console" {
		if err := runConsole(*bin, *out, *catalog); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "proxy" {
		if err := runProxy(*bin, *out, *catalog, *clients, *loadFor, *samples); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *out, *catalog, *apps, *reps, *clients, *loadFor, *samples, *backupSize); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(bin, outDir, catalog string, apps, reps, clients int, loadFor time.Duration, samples int, backupSize int64) error {
	bin, _ = filepath.Abs(bin)
	catalog, _ = filepath.Abs(catalog)
	host, _ := os.Hostname()
	rep := &report{Started: time.Now().UTC(), Host: host}
	fmt.Fprintln(os.Stderr, "bench: measuring (absolute times on a shared machine are noisy; compare the ratios)")

	s, err := startServer(bin, catalog, "")
	if err != nil {
		return err
	}
	defer func() { s.cleanup() }() // s is replaced below
	// Idle: past start-up and the service's release of unused memory after
	// 10 s without requests, as the reading with the apps below.
	time.Sleep(idleWait)
	rss0, _ := s.rss()
	goroutines0, _ := s.goroutines()

	// install: StackHub, docker-compose and the Engine API floor, interleaved.
	if err := benchInstall(rep, s, catalog, reps); err != nil {
		return err
	}
	rep.add("footprint", "idle RSS, 0 apps", float64(rss0)/1e6, "MB", "<= 30", "")

	// scale: 20 and 50 concurrent installs, then fill up to apps.
	installed := 0
	for _, n := range []int{20, 50} {
		if installed+n > apps {
			break
		}
		if err := benchScale(rep, s, n, installed); err != nil {
			return err
		}
		installed += n
	}
	// idle after the scale runs: every action of the runs above has ended;
	// the service must be as quiet as it was before them.
	s.client.CloseIdleConnections()
	time.Sleep(idleWait)
	if cpu, err := s.idleCPU(10 * time.Second); err == nil {
		rep.add("idle", "CPU share over 10 s after the scale runs", cpu, "%", "<= 1", "of one core")
	}
	if g, err := s.goroutines(); err == nil {
		rep.add("idle", "goroutines before any install", float64(goroutines0), "", "", "")
		rep.add("idle", "goroutines after the scale runs", float64(g), "", fmt.Sprintf("<= %d", goroutines0+4), "the baseline, give or take pooled workers")
	}

	// The apps of the api and footprint sections check their health every
	// 30 s, as real apps do: a hundred fixtures checked every second (what
	// makes installs quick to measure) keep two cores busy with runc execs,
	// and the latencies measured the machine's load instead of StackHub.
	// The first check waits a whole interval, so they install with up to
	// 50 jobs at once.
	// A fresh server and data folder: the scale apps are removed directly.
	fmt.Fprintln(os.Stderr, "bench: reinstalling the apps with a 30 s health interval")
	s.cleanup()
	if s, err = startServer(bin, catalog, ""); err != nil {
		return err
	}
	if err := s.stop(); err != nil {
		return err
	}
	s.extra = []string{"--jobs", "50"}
	if err := s.start(); err != nil {
		return err
	}
	if _, _, err := installMany(s, apps, 0, map[string]string{"healthInterval": "30s"}); err != nil {
		fmt.Fprintln(os.Stderr, "bench: warning:", err)
	}
	if err := s.stop(); err != nil {
		return err
	}
	s.extra = nil
	if err := s.start(); err != nil {
		return err
	}

	// api: latency and throughput with apps installed.
	benchAPI(rep, s, apps, clients, loadFor, samples)
	if err := benchConsole(rep, s, apps); err != nil {
		fmt.Fprintln(os.Stderr, "bench: web console:", err)
	}
	time.Sleep(idleWait)
	rss100, _ := s.rss()
	rep.add("footprint", fmt.Sprintf("idle RSS, %d apps", apps), float64(rss100)/1e6, "MB", "<= 30", "")

	// start-up to the first answer with the apps installed.
	if err := s.stop(); err != nil {
		return err
	}
	start := time.Now()
	if err := s.start(); err != nil {
		return err
	}
	for {
		if e, err := s.call("GET", "/getAllAppInfo", nil); err == nil && e.Code == "1" {
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("no answer after restart:\n%s", s.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	rep.add("footprint", fmt.Sprintf("start-up to first getAllAppInfo, %d apps", apps), ms(time.Since(start)), "ms", "", "")
	benchImages(rep)
	if err := benchCatalog(rep, bin, catalog, samples); err != nil {
		fmt.Fprintln(os.Stderr, "bench: catalog:", err)
	}
	if err := benchProxy(rep, bin, catalog, clients, loadFor, samples); err != nil {
		fmt.Fprintln(os.Stderr, "bench: proxy:", err)
	}
	if err := benchBackupFresh(rep, bin, catalog, backupSize); err != nil {
		fmt.Fprintln(os.Stderr, "bench: backup:", err)
	}

	fmt.Fprintln(os.Stderr, "bench: removing the apps") // by cleanup, directly: uninstalling 100 apps takes minutes
	printTable(os.Stdout, rep)
	return writeJSON(outDir, rep)
}

// idleWait is how long the bench leaves the service alone before reading
// its idle memory: longer than the service's 10 s idle release.
const idleWait = 14 * time.Second

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// --- the service under test

type server struct {
	bin, catalog, data, addr, token, prefix string
	cmd                                     *exec.Cmd
	logs                                    *bytes.Buffer
	client                                  *http.Client
	// extra are further serve flags for the next start.
	extra []string
	// password is the admin's, for the web console's login.
	password string
}

func startServer(bin, catalog, data string) (*server, error) {
	if data == "" {
		d, err := os.MkdirTemp("", "stackhub-bench")
		if err != nil {
			return nil, err
		}
		data = d
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{bin: bin, catalog: catalog, data: data, addr: addr, token: "shk_" + randomHex(16), prefix: "bench" + randomHex(3),
		password: "bench-" + randomHex(8),
		client:   &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	return s, s.start()
}

func (s *server) start() error {
	s.logs = &bytes.Buffer{}
	s.cmd = exec.Command(s.bin, "serve", "--addr", s.addr, "--data", s.data, "--catalog", s.catalog, "--prefix", s.prefix,
		"--port-min", "24001", "--port-max", "24999", "--log-level", "warn")
	s.cmd.Args = append(s.cmd.Args, s.extra...)
	s.cmd.Env = append(os.Environ(), "STACKHUB_API_TOKEN="+s.token, "STACKHUB_ADMIN_PASSWORD="+s.password)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + s.addr + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("stackhub serve did not answer:\n%s", s.logs.String())
}

func (s *server) stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	// The exit status of an interrupted server says nothing useful.
	select {
	case err := <-done:
		_ = err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		err := <-done
		_ = err
	}
	return nil
}

func (s *server) cleanup() {
	_ = s.stop()
	removeByName("^" + s.prefix + "-")
	_ = os.RemoveAll(s.data)
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU
// times: 100 on every Linux architecture StackHub runs on.
const clockTicks = 100

// cpuTicks is the serve process's user plus system CPU time in ticks.
func (s *server) cpuTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", b)
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, err
}

// idleCPU is the share of one core the service uses over d without
// requests, in percent.
func (s *server) idleCPU(d time.Duration) (float64, error) {
	t0, err := s.cpuTicks()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	time.Sleep(d)
	t1, err := s.cpuTicks()
	if err != nil {
		return 0, err
	}
	return float64(t1-t0) / clockTicks / time.Since(start).Seconds() * 100, nil
}

// goroutines is the service's goroutine count, from its pprof endpoint.
func (s *server) goroutines() (int, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, ok := strings.CutPrefix(line, "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("no goroutine count in %q", line)
	}
	s.client.CloseIdleConnections()
	return strconv.Atoi(strings.TrimSpace(n))
}

// rss is the resident memory of the serve process in bytes.
func (s *server) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

type envelope struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error"`
}

func (s *server) call(method, path string, body any) (envelope, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+s.addr+path, r)
	if err != nil {
		return envelope{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept-Language", "en")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return envelope{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return envelope{}, err
	}
	var e envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	if resp.StatusCode >= 300 && e.Error != "" {
		return e, fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error)
	}
	return e, nil
}

type appInfo struct {
	AppName string `json:"appName"`
	Status  string `json:"status"`
	Port    string `json:"port"`
	DBPort  string `json:"db_port"`
	Info    string `json:"info"`
}

// waitRunning polls getAppInfo every 20 ms until status leaves "0".
func (s *server) waitRunning(name string, timeout time.Duration) (appInfo, error) {
	deadline := time.Now().Add(timeout)
	for {
		e, err := s.call("GET", "/getAppInfo?appName="+url.QueryEscape(name), nil)
		var a appInfo
		if err == nil && e.Code == "1" {
			_ = json.Unmarshal(e.Data, &a)
			if a.Status != "0" {
				if a.Status != "1" {
					return a, fmt.Errorf("%s failed: %s", name, a.Info)
				}
				return a, nil
			}
		}
		if time.Now().After(deadline) {
			return a, fmt.Errorf("%s not running after %s", name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- install

func benchInstall(rep *report, s *server, catalog string, reps int) error {
	dir := filepath.Join(catalog, "hello-db")
	// Warm-up: the first install builds the bundle image (measured as the
	// cold install); the next ones find it. Images of hello-db that an
	// earlier run or test of the same binary built are removed first, so
	// that the build is really cold (the shared base stays: it is built
	// once per StackHub binary).
	removeImages("localhost:5000/hello-db")
	cold, err := stackhubInstall(s)
	if err != nil {
		return err
	}
	var sh, dc, fl []float64
	for range reps {
		d, err := stackhubInstall(s)
		if err != nil {
			return err
		}
		sh = append(sh, ms(d))
		if d, err = composeInstall(dir); err != nil {
			return fmt.Errorf("docker-compose: %w", err)
		}
		dc = append(dc, ms(d))
		if d, err = floorInstall(); err != nil {
			return fmt.Errorf("engine API floor: %w", err)
		}
		fl = append(fl, ms(d))
	}
	m, c, f := median(sh), median(dc), median(fl)
	rep.add("install", "hello-db StackHub (request -> status 1)", m, "ms", "", fmt.Sprintf("median of %d", reps))
	rep.add("install", "hello-db docker-compose up -d + healthy", c, "ms", "", fmt.Sprintf("median of %d", reps))
	rep.add("install", "hello-db Engine API floor + healthy", f, "ms", "", fmt.Sprintf("median of %d", reps))
	rep.add("install", "StackHub / floor", m/f, "x", "<= 1.15", "")
	rep.add("install", "StackHub / docker-compose", m/c, "x", "", "")
	rep.add("footprint", "bundle build, cold (first install - warm install)", ms(cold)-m, "ms", "", "")
	return nil
}

func stackhubInstall(s *server) (time.Duration, error) {
	start := time.Now()
	e, err := s.call("POST", "/installApp", map[string]string{"appName": "hello-db"})
	if err != nil || e.Code != "1" {
		return 0, fmt.Errorf("installApp: %w %s\n%s", err, e.Message, s.logs.String())
	}
	if _, err := s.waitRunning("hello-db", 5*time.Minute); err != nil {
		return 0, err
	}
	d := time.Since(start)
	// The install job records status "1" a moment before it lets go of the
	// installation: retry while it is busy.
	for i := 0; ; i++ {
		e, err := s.call("POST", "/uninstallApp", map[string]string{"appName": "hello-db"})
		if err == nil && e.Code == "1" {
			break
		}
		if i == 50 {
			return 0, fmt.Errorf("uninstallApp: %w %s", err, e.Message)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return d, nil
}

func freePorts(n int) []int {
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			continue
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func composeInstall(dir string) (time.Duration, error) {
	project := "benchdc" + randomHex(3)
	ports := freePorts(2)
	override := filepath.Join(os.TempDir(), project+".yml")
	_ = os.WriteFile(override, fmt.Appendf(nil, "services:\n  web:\n    ports: [\"%d:8080\"]\n  db:\n    ports: [\"%d:5432\"]\n", ports[0], ports[1]), 0o600)
	defer os.Remove(override)
	env := append(os.Environ(), "DB_PASSWORD="+randomHex(12), "APP_TITLE=Hello DB")
	start := time.Now()
	cmd := exec.Command("docker-compose", "-p", project, "-f", filepath.Join(dir, "docker-compose.yml"), "-f", override, "up", "-d")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	err = waitHealthy(project+"_web_1", project+"_db_1")
	d := time.Since(start)
	down := exec.Command("docker-compose", "-p", project, "-f", filepath.Join(dir, "docker-compose.yml"), "-f", override, "down", "-v")
	down.Env = env
	_ = down.Run()
	return d, err
}

// waitHealthy polls the containers' health every 20 ms.
func waitHealthy(names ...string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := exec.Command("docker", append([]string{"inspect", "--format", "{{.State.Health.Status}}"}, names...)...).Output()
		if err == nil && strings.Count(string(out), "healthy") == len(names) && !strings.Contains(string(out), "unhealthy") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v not healthy: %s", names, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// engineAPI is a minimal Engine API client on the local socket.
var engineAPI = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, "unix", "/var/run/docker.sock")
}}, Timeout: 2 * time.Minute}

func dockerAPI(method, path string, body any, into any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://docker"+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := engineAPI.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	if into != nil {
		return json.Unmarshal(raw, into)
	}
	return nil
}

func healthcheck(test ...string) map[string]any {
	return map[string]any{"Test": append([]string{"CMD"}, test...), "Interval": int64(time.Second), "Timeout": int64(3 * time.Second), "Retries": 10}
}

// floorInstall creates and starts the compose file's containers directly
// through the Engine API, in the order compose does (network, volume, db,
// wait healthy, web), and waits until both are healthy.
func floorInstall() (time.Duration, error) {
	p := "benchfl" + randomHex(3)
	ports := freePorts(2)
	pw := randomHex(12)
	start := time.Now()
	cleanup := func() {
		_ = dockerAPI("DELETE", "/containers/"+p+"-web?force=1&v=1", nil, nil)
		_ = dockerAPI("DELETE", "/containers/"+p+"-db?force=1&v=1", nil, nil)
		_ = dockerAPI("DELETE", "/networks/"+p+"_default", nil, nil)
		_ = dockerAPI("DELETE", "/volumes/"+p+"_data", nil, nil)
	}
	defer cleanup()
	if err := dockerAPI("POST", "/networks/create", map[string]any{"Name": p + "_default"}, nil); err != nil {
		return 0, err
	}
	if err := dockerAPI("POST", "/volumes/create", map[string]any{"Name": p + "_data"}, nil); err != nil {
		return 0, err
	}
	create := func(name, image string, env []string, port, target int, binds []string, test []string) error {
		cfg := map[string]any{
			"Image": image, "Env": env, "Healthcheck": healthcheck(test...),
			"ExposedPorts": map[string]any{fmt.Sprintf("%d/tcp", target): map[string]any{}},
			"HostConfig": map[string]any{
				"PortBindings": map[string]any{fmt.Sprintf("%d/tcp", target): []map[string]string{{"HostPort": strconv.Itoa(port)}}},
				"Binds":        binds, "NetworkMode": p + "_default",
			},
			"NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{p + "_default": map[string]any{"Aliases": []string{strings.TrimPrefix(name, p+"-")}}}},
		}
		if err := dockerAPI("POST", "/containers/create?name="+name, cfg, nil); err != nil {
			return err
		}
		return dockerAPI("POST", "/containers/"+name+"/start", nil, nil)
	}
	if err := create(p+"-db", "stackhub-test/db:1", []string{"DB_PORT=5432", "DB_PASSWORD=" + pw, "DATA_DIR=/data"}, ports[1], 5432,
		[]string{p + "_data:/data"}, []string{"/app", "healthcheck", "tcp", "127.0.0.1:5432"}); err != nil {
		return 0, err
	}
	if err := waitHealthy(p + "-db"); err != nil {
		return 0, err
	}
	if err := create(p+"-web", "stackhub-test/hello:1", []string{"APP_TITLE=Hello DB", "PORT=8080", "DB_ADDR=db:5432", "DB_PASSWORD=" + pw}, ports[0], 8080,
		nil, []string{"/app", "healthcheck", "http", "http://127.0.0.1:8080/healthz"}); err != nil {
		return 0, err
	}
	err := waitHealthy(p+"-web", p+"-db")
	return time.Since(start), err
}

// --- scale

// installMany installs n hello apps concurrently (names a<first>...) and
// waits for all; it returns the total time and the ports handed out.
func installMany(s *server, n, first int, params map[string]string) (time.Duration, map[string]string, error) {
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ports := map[string]string{}
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("a%03d", first+i)
			e, err := s.call("POST", "/api/v1/installations", map[string]any{"app": "hello", "name": name, "parameters": params})
			if err != nil {
				errs[i] = fmt.Errorf("install %s: %w (%s)", name, err, e.Message)
				return
			}
			a, err := s.waitRunning(name, 10*time.Minute)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			ports[name] = a.Port
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	var failed []string
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return time.Since(start), ports, fmt.Errorf("%d of %d installs failed: %s", len(failed), n, strings.Join(failed, "; "))
	}
	return time.Since(start), ports, nil
}

func benchScale(rep *report, s *server, n, first int) error {
	d, ports, err := installMany(s, n, first, nil)
	conflicts := 0
	seen := map[string]bool{}
	for _, p := range ports {
		if seen[p] {
			conflicts++
		}
		seen[p] = true
	}
	if err != nil && strings.Contains(err.Error(), "port") {
		conflicts++
	}
	rep.add("scale", fmt.Sprintf("%d concurrent installs, total", n), ms(d), "ms", "", "")
	rep.add("scale", fmt.Sprintf("%d concurrent installs, per install", n), ms(d)/float64(n), "ms", "", "")
	rep.add("scale", fmt.Sprintf("%d concurrent installs, port conflicts", n), float64(conflicts), "", "0", "")
	if err != nil {
		// Keep measuring: a failed install is a finding, not the end.
		failed := strings.Count(err.Error(), "; ") + 1
		rep.add("scale", fmt.Sprintf("%d concurrent installs, failed", n), float64(failed), "", "0", err.Error())
	}
	return nil
}

// --- api

func benchAPI(rep *report, s *server, apps, clients int, loadFor time.Duration, samples int) {
	paths := []struct{ name, path string }{
		{"getAllAppInfo", "/getAllAppInfo"},
		{"getAppInfo", "/getAppInfo?appName=a000"},
		{"searchServer", "/searchServer"},
	}
	for _, p := range paths {
		lat := make([]float64, 0, samples)
		for range samples {
			start := time.Now()
			if _, err := s.call("GET", p.path, nil); err != nil {
				continue
			}
			lat = append(lat, ms(time.Since(start)))
		}
		target := ""
		if p.name == "getAllAppInfo" {
			target = "<= 2"
		}
		rep.add("api", fmt.Sprintf("%s p50, %d apps", p.name, apps), percentile(lat, 50), "ms", "", "")
		rep.add("api", fmt.Sprintf("%s p99, %d apps", p.name, apps), percentile(lat, 99), "ms", target, "")
	}
	for _, p := range paths[:2] {
		n, errs := load(s, p.path, clients, loadFor, 200000)
		rep.add("api", fmt.Sprintf("%s req/s, %d clients", p.name, clients), float64(n)/loadFor.Seconds(), "req/s", "", fmt.Sprintf("%d errors", errs))
	}
}

// load runs clients loops against 127.0.0.1 for d, at most max requests.
func load(s *server, path string, clients int, d time.Duration, max int64) (int64, int64) {
	var n, errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && n.Load() < max {
				if _, err := s.call("GET", path, nil); err != nil {
					errs.Add(1)
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), errs.Load()
}

// --- images

// benchImages reports the size of the hello-db invocation image and what a
// further bundle adds on top of the layers it shares with another.
func benchImages(rep *report) {
	newest := func(repo string) string {
		// StackHub tags the bundles it builds sh-<digest>.
		out, _ := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
		for _, ref := range strings.Fields(string(out)) {
			if strings.Contains(ref, ":sh-") {
				return ref
			}
		}
		return ""
	}
	a, b := newest("localhost:5000/hello-db"), newest("localhost:5000/hello")
	if a == "" || b == "" {
		return
	}
	size := func(ref string) int64 {
		out, _ := exec.Command("docker", "image", "inspect", "--format", "{{.Size}}", ref).Output()
		n, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		return n
	}
	layers := func(ref string) map[string]int64 {
		out, _ := exec.Command("docker", "history", "--no-trunc", "--human=false", "--format", "{{.CreatedBy}}\t{{.Size}}", ref).Output()
		m := map[string]int64{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			k, v, _ := strings.Cut(l, "\t")
			n, _ := strconv.ParseInt(v, 10, 64)
			m[k+"\t"+v] = n
		}
		return m
	}
	la, lb := layers(a), layers(b)
	var extra int64
	for k, n := range la {
		if _, shared := lb[k]; !shared {
			extra += n
		}
	}
	rep.add("footprint", "invocation image size (hello-db)", float64(size(a))/1e6, "MB", "", a)
	rep.add("footprint", "extra bytes of a further bundle (hello-db over hello)", float64(extra)/1e3, "kB", "", "layers not shared")
}

// --- output

func median(v []float64) float64 { return percentile(v, 50) }

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func printTable(w io.Writer, rep *report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tMETRIC\tVALUE\tUNIT\tTARGET\tNOTE")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\t%s\n", r.Section, r.Metric, r.Value, r.Unit, r.Target, r.Note)
	}
	tw.Flush()
}

func writeJSON(dir string, rep *report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(dir, "bench-"+rep.Started.Format("20060102-150405")+".json")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: wrote", name)
	return os.WriteFile(filepath.Join(dir, "latest.json"), b, 0o644)
}

// removeImages removes every tag of a repository.
func removeImages(repo string) {
	out, _ := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
	if tags := strings.Fields(string(out)); len(tags) > 0 {
		_ = exec.Command("docker", append([]string{"rmi"}, tags...)...).Run()
	}
}

func removeByName(re string) {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+re).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
	}
	out, _ = exec.Command("docker", "network", "ls", "-q", "--filter", "name="+re).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"network", "rm"}, ids...)...).Run()
	}
	// Uninstall keeps an app's named volumes (its data) unless purged: the
	// bench's apps hold nothing worth keeping.
	out, _ = exec.Command("docker", "volume", "ls", "-q", "--filter", "name="+re).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, ids...)...).Run()
	}
}
