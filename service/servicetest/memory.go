package servicetest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/porter"
)

// Memory is a small in-memory engine: jobs finish at once, with a few
// events, so tests exercise the whole client path quickly. Engine falls
// back to it for the calls a test does not script.
type Memory struct {
	mu      sync.Mutex
	sources []engine.CatalogSource
	insts   map[string]*engine.Installation
	jobs    map[string]*engine.Job
	events  map[string][]engine.JobEvent
	order   []string
	port    int
	// nodes is the swarm cluster: a manager and a worker.
	nodes   []engine.Node
	domains map[string]*engine.Domain
	backups map[string][]engine.Backup
	// schedules are the installations' own backup schedules.
	schedules map[string]engine.BackupScheduleSpec
}

// NewMemory returns an empty in-memory engine whose catalog is hello and
// broken (which fails to install).
func NewMemory() *Memory {
	return &Memory{insts: map[string]*engine.Installation{}, jobs: map[string]*engine.Job{}, events: map[string][]engine.JobEvent{}, port: 9001,
		nodes: []engine.Node{
			{ID: "n1manager00000000000000000", Hostname: "box", Role: "manager", Leader: true, Availability: "active", State: "ready",
				Addr: "192.0.2.10", NanoCPUs: 4e9, MemoryBytes: 8 << 30, Architecture: "x86_64", OS: "linux", EngineVersion: "28.0.0", Tasks: 2},
			{ID: "n2worker000000000000000000", Hostname: "worker-1", Role: "worker", Availability: "active", State: "ready",
				Addr: "192.0.2.11", Labels: map[string]string{"ssd": "true"}, NanoCPUs: 2e9, MemoryBytes: 4 << 30, Architecture: "aarch64", OS: "linux", EngineVersion: "28.0.0"},
		}}
}

var memoryApps = []engine.App{
	{Name: "hello", Title: "Hello", Version: "0.2.0", Description: "A tiny web page", Category: "demo",
		Ports: []engine.PortSpec{{Name: "port", Service: "web", Target: 8080, Protocol: "tcp"}}},
	{Name: "broken", Title: "Broken", Version: "0.1.0", Description: "Fails to install", Category: "demo"},
}

func (m *Memory) job(inst, action string, fail string) *engine.Job {
	now := time.Now().UTC()
	j := &engine.Job{ID: engine.NewID(), Installation: inst, Action: action, Status: engine.JobSucceeded, Created: now, Finished: &now}
	evs := []engine.JobEvent{
		{Type: engine.JobEventStatus, Status: engine.JobQueued},
		{Type: engine.JobEventStatus, Status: engine.JobRunning, Progress: 5},
		{Type: engine.JobEventStep, Step: "run " + action, Progress: 20},
		{Type: engine.JobEventLog, Step: "run " + action, Line: action + " " + inst + ": working", Progress: 50},
	}
	if fail != "" {
		j.Status, j.Message = engine.JobFailed, fail
		evs = append(evs, engine.JobEvent{Type: engine.JobEventLog, Line: "error: " + fail, Progress: 50})
		// As the engine does when the failure has a hint.
		evs = append(evs, engine.JobEvent{Type: engine.JobEventLog, Line: "hint: load it on this host first (docker load -i image.tar)", Progress: 50})
	}
	evs = append(evs, engine.JobEvent{Type: engine.JobEventStatus, Status: j.Status, Progress: 100})
	for i := range evs {
		evs[i].Job, evs[i].Seq, evs[i].Time = j.ID, i+1, now
	}
	m.jobs[j.ID] = j
	m.events[j.ID] = evs
	m.order = append(m.order, j.ID)
	return j
}

func (m *Memory) Install(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	// A published bundle or an archive is the hello bundle; the archive
	// must be an absolute path on the server.
	if o.Reference != "" || o.Archive != "" {
		if o.Archive != "" && !filepath.IsAbs(o.Archive) {
			return nil, engine.NewUserError(engine.ErrInvalid, "archive path "+o.Archive+" is not absolute", "")
		}
		o.App = "hello"
		if o.Name == "" {
			o.Name = o.App
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var app *engine.App
	for i := range memoryApps {
		if memoryApps[i].Name == o.App {
			app = &memoryApps[i]
		}
	}
	if app == nil {
		return nil, engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("app %q is not in the catalog", o.App), "list the catalog with `stackhub list --apps`")
	}
	if old, ok := m.insts[o.Name]; ok && old.Status != engine.StatusFailed {
		return nil, engine.NewUserError(engine.ErrConflict, fmt.Sprintf("%s is already installed (status %s)", o.Name, old.Status),
			fmt.Sprintf("uninstall it first, or install under another name (stackhub install %s --name %s-2)", o.App, o.Name))
	}
	now := time.Now().UTC()
	inst := &engine.Installation{Name: o.Name, App: o.App, BundleVersion: "0.1.0", Status: engine.StatusRunning,
		ContainerName: "stackhub-" + o.Name, Ports: map[string]int{}, Parameters: o.Parameters, Created: now, Modified: now, Installed: &now}
	for _, p := range app.Ports {
		inst.Ports[p.Name] = m.port
		m.port++
	}
	fail := ""
	if o.App == "broken" {
		fail = "install failed: container web exited with code 1"
		inst.Status, inst.Reason, inst.Installed = engine.StatusFailed, fail, nil
	}
	inst.JobID = m.job(o.Name, "install", fail).ID
	m.insts[o.Name] = inst
	cp := *inst
	return &cp, nil
}

func (m *Memory) get(name string) (*engine.Installation, error) {
	inst, ok := m.insts[name]
	if !ok {
		return nil, engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("%s is not installed", name), "list installations with `stackhub list`")
	}
	return inst, nil
}

func (m *Memory) Uninstall(_ context.Context, o engine.UninstallOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.get(o.Name); err != nil {
		return err
	}
	delete(m.insts, o.Name)
	return nil
}

func (m *Memory) UninstallJob(ctx context.Context, o engine.UninstallOptions) (*engine.Job, error) {
	if err := m.Uninstall(ctx, o); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.job(o.Name, "uninstall", ""), nil
}

func (m *Memory) UninstallAll(ctx context.Context) ([]engine.UninstallOutcome, error) {
	return nil, nil
}

func (m *Memory) Get(_ context.Context, name string) (*engine.Installation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, err := m.get(name)
	if err != nil {
		return nil, err
	}
	cp := *inst
	return &cp, nil
}

func (m *Memory) List(context.Context) ([]*engine.Installation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*engine.Installation
	for _, inst := range m.insts {
		cp := *inst
		out = append(out, &cp)
	}
	sortInsts(out)
	return out, nil
}

func sortInsts(l []*engine.Installation) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].Name < l[j-1].Name; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func (m *Memory) Server(context.Context) (*engine.ServerStatus, error) {
	return &engine.ServerStatus{CPUPercent: 10, MemoryPercent: 54, MemoryTotal: 8 << 30, Hostname: "box", OS: "linux",
		Disks:         []engine.DiskUsage{{Mount: "/", Total: 100 << 30, Percent: 40}},
		Risks:         []engine.Risk{{ID: "docker-socket", Severity: "high", What: "a container mounts the Docker socket", Fix: "remove the mount"}},
		UptimeSeconds: 3600, Sampled: time.Now()}, nil
}

func (m *Memory) Apps(context.Context) ([]engine.App, error) { return memoryApps, nil }

func memIndex() *catalog.Index {
	es := make([]catalog.Entry, 0, len(memoryApps))
	for _, a := range memoryApps {
		es = append(es, engine.EntryOf(a))
	}
	return catalog.NewIndex(es)
}

func (m *Memory) SearchApps(_ context.Context, q catalog.Query) (*catalog.Result, error) {
	q, err := q.Normalize()
	if err != nil {
		return nil, engine.NewUserError(engine.ErrInvalid, err.Error(), "")
	}
	res := memIndex().Search(q)
	return &res, nil
}

func (m *Memory) AppDetail(_ context.Context, name, _ string) (*engine.AppDetail, error) {
	es := memIndex().Get(name)
	if len(es) == 0 {
		return nil, engine.NewUserError(engine.ErrNotFound, "app "+name+" is not in the catalog", "")
	}
	perms := &engine.Permissions{DockerSocket: true}
	for _, p := range memoryApps[0].Ports {
		perms.Ports = append(perms.Ports, engine.PublishedPortSpec{Service: p.Service, Target: p.Target, Protocol: p.Protocol})
	}
	if name == "broken" {
		perms.Privileged = []string{"web"}
		perms.HostPaths = []engine.HostPathMount{{Service: "web", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock", ReadOnly: true}}
	}
	return &engine.AppDetail{Entry: es[0], Sources: []string{es[0].Source}, Permissions: perms}, nil
}

func (m *Memory) Preflight(_ context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &engine.PreflightReport{App: opts.App, Name: opts.Name, OK: opts.App != "broken", Ports: map[string]int{"port": 9001}}
	r.Checks = []engine.PreflightCheck{{Check: "memory", Status: engine.PreflightOK, Message: "8192 MB of memory"}}
	if !r.OK {
		r.Checks = append(r.Checks, engine.PreflightCheck{Check: "disk", Status: engine.PreflightFail,
			Message: "the app needs 999999 MB of disk", Hint: "grow the disk"})
	}
	return r, nil
}

func (m *Memory) CatalogSources(context.Context) ([]engine.CatalogSource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]engine.CatalogSource{{Name: engine.SourceBuiltin, Kind: engine.SourceKindBuiltin, Apps: len(memoryApps)}}, m.sources...), nil
}

func (m *Memory) RefreshCatalog(ctx context.Context) ([]engine.CatalogSource, error) {
	return m.CatalogSources(ctx)
}

func (m *Memory) AddCatalogSource(_ context.Context, name, path string) (*engine.CatalogSource, error) {
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		return nil, engine.NewUserError(engine.ErrInvalid, path+" is not a folder the server can read", "give a folder of bundle folders")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	src := engine.CatalogSource{Name: name, Kind: engine.SourceKindDir, Path: path, Apps: 1, Added: true}
	m.sources = append(m.sources, src)
	return &src, nil
}

func (m *Memory) RemoveCatalogSource(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range m.sources {
		if s.Name == name {
			m.sources = append(m.sources[:i], m.sources[i+1:]...)
			return nil
		}
	}
	return engine.NewUserError(engine.ErrNotFound, "there is no catalog source \""+name+"\"", "list the sources with stackhub catalog list")
}

func (m *Memory) AppIcon(_ context.Context, name string) (*engine.AppIcon, error) {
	return nil, engine.NewUserError(engine.ErrNotFound, "app "+name+" has no icon", "")
}

func (m *Memory) Job(_ context.Context, id string) (*engine.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return nil, engine.NewUserError(engine.ErrNotFound, "job "+id+" not found", "")
	}
	cp := *j
	return &cp, nil
}

func (m *Memory) Upgrade(_ context.Context, o engine.UpgradeOptions) (*engine.Installation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, err := m.get(o.Name)
	if err != nil {
		return nil, err
	}
	inst.BundleVersion = "0.2.0"
	inst.JobID = m.job(o.Name, "upgrade", "").ID
	cp := *inst
	return &cp, nil
}

func (m *Memory) Action(_ context.Context, o engine.ActionOptions) (*engine.Job, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, err := m.get(o.Name)
	if err != nil {
		return nil, err
	}
	switch o.Action {
	case "stop":
		inst.Status = engine.StatusStopped
	case "start", "restart":
		inst.Status = engine.StatusRunning
	default:
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("bundle %s has no action %q", inst.App, o.Action), "its actions are: restart, start, stop")
	}
	return m.job(o.Name, o.Action, ""), nil
}

func (m *Memory) Logs(_ context.Context, o engine.LogsOptions) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.get(o.Name); err != nil {
		return nil, err
	}
	lines := []string{"line 1", "line 2", "line 3"}
	if o.Tail > 0 && o.Tail < len(lines) {
		lines = lines[len(lines)-o.Tail:]
	}
	return io.NopCloser(strings.NewReader(strings.Join(lines, "\n") + "\n")), nil
}

func (m *Memory) Jobs(_ context.Context, limit int) ([]*engine.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*engine.Job
	for i := len(m.order) - 1; i >= 0 && (limit == 0 || len(out) < limit); i-- {
		out = append(out, m.jobs[m.order[i]])
	}
	return out, nil
}

func (m *Memory) JobEvents(_ context.Context, id string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs, ok := m.events[id]
	if !ok {
		return nil, nil, nil, engine.NewUserError(engine.ErrNotFound, "job "+id+" not found", "")
	}
	return evs, nil, func() {}, nil
}

func (m *Memory) JobProgress(j *engine.Job) (int, string) {
	if j.Status == engine.JobSucceeded {
		return 100, ""
	}
	return 0, ""
}

func (m *Memory) Unmanaged(context.Context) ([]string, error) { return nil, nil }

// PorterDocument builds the document from the installation alone: the
// Memory records no runs.
func (m *Memory) PorterDocument(_ context.Context, inst *engine.Installation, opts porter.DocOptions) (*porter.Installation, error) {
	return porter.NewInstallation(inst, nil, nil, opts), nil
}

func (m *Memory) Outputs(ctx context.Context, name string) ([]engine.OutputValue, error) {
	if _, err := m.Get(ctx, name); err != nil {
		return nil, err
	}
	return []engine.OutputValue{}, nil
}

func (m *Memory) ServerHistory(context.Context) ([]engine.ServerPoint, error) {
	return []engine.ServerPoint{}, nil
}

func (m *Memory) PortRange() (int, int) { return 9001, 9999 }

// Nodes lists the fake cluster.
func (m *Memory) Nodes(context.Context) ([]engine.Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nodes), nil
}

func (m *Memory) nodeIndex(ref string) (int, error) {
	for i, n := range m.nodes {
		if n.ID == ref || n.Hostname == ref {
			return i, nil
		}
	}
	return 0, engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("no node %q in the cluster", ref), "list nodes with `stackhub node list`")
}

// NodeJoin answers a fixed join command.
func (m *Memory) NodeJoin(_ context.Context, manager bool) (*engine.JoinInfo, error) {
	role, token := "worker", "SWMTKN-1-fake-worker"
	if manager {
		role, token = "manager", "SWMTKN-1-fake-manager"
	}
	return &engine.JoinInfo{Role: role, Token: token, Manager: "192.0.2.10:2377",
		Command: "docker swarm join --token " + token + " 192.0.2.10:2377"}, nil
}

// SetNodeAvailability changes a fake node's availability.
func (m *Memory) SetNodeAvailability(_ context.Context, ref, availability string) (*engine.Node, error) {
	switch availability {
	case engine.AvailabilityActive, engine.AvailabilityPause, engine.AvailabilityDrain:
	default:
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("availability %q is not one of active, pause, drain", availability), "")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.nodeIndex(ref)
	if err != nil {
		return nil, err
	}
	m.nodes[i].Availability = availability
	n := m.nodes[i]
	return &n, nil
}

// RemoveNode removes a fake node (not the leader).
func (m *Memory) RemoveNode(_ context.Context, ref string, _ bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.nodeIndex(ref)
	if err != nil {
		return err
	}
	if m.nodes[i].Leader {
		return engine.NewUserError(engine.ErrConflict, fmt.Sprintf("node %s is the leading manager, where StackHub runs", m.nodes[i].Hostname), "")
	}
	m.nodes = slices.Delete(m.nodes, i, i+1)
	return nil
}

// Domains lists the routed domains, sorted by name.
func (m *Memory) Domains(context.Context) ([]*engine.Domain, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*engine.Domain, 0, len(m.domains))
	for _, d := range m.domains {
		c := *d
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddDomain routes a domain as the engine does: a valid name, an installed
// app, one of its ports (its only one when none is named), no other app's
// name.
func (m *Memory) AddDomain(_ context.Context, opts engine.DomainOptions) (*engine.Domain, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, ok := m.insts[opts.App]
	if !ok {
		return nil, engine.NewUserError(engine.ErrNotFound, opts.App+" is not installed", "")
	}
	port := opts.Port
	if port == "" && len(inst.Ports) == 1 {
		for name := range inst.Ports {
			port = name
		}
	}
	if _, ok := inst.Ports[port]; !ok {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("app %s has no port %q", opts.App, port), "")
	}
	if d, ok := m.domains[opts.Domain]; ok {
		return nil, engine.NewUserError(engine.ErrConflict, fmt.Sprintf("domain %s is already used by app %s", d.Name, d.Installation), "")
	}
	if m.domains == nil {
		m.domains = map[string]*engine.Domain{}
	}
	d := &engine.Domain{Name: opts.Domain, Installation: opts.App, Service: opts.Service, Port: port, TLS: opts.TLS, Login: opts.Login, Created: time.Now().UTC()}
	m.domains[d.Name] = d
	c := *d
	return &c, nil
}

// RemoveDomain stops routing a domain.
func (m *Memory) RemoveDomain(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.domains[name]; !ok {
		return engine.NewUserError(engine.ErrNotFound, "domain "+name+" is not routed", "")
	}
	delete(m.domains, name)
	return nil
}
