package engine

import (
	"context"
	"io"
	"time"

	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/manifest"
)

// Status is an installation's lifecycle state.
type Status string

// Installation states. PRDStatus maps them onto the product document's codes.
const (
	StatusInstalling   Status = "installing"
	StatusRunning      Status = "running"
	StatusStopped      Status = "stopped"
	StatusFailed       Status = "failed"
	StatusUpgrading    Status = "upgrading"
	StatusUninstalling Status = "uninstalling"
	StatusUninstalled  Status = "uninstalled"
)

// PRDStatus returns the product document's status code: "0" not started,
// "1" running, "2" failed.
func (s Status) PRDStatus() string {
	switch s {
	case StatusRunning:
		return "1"
	case StatusFailed:
		return "2"
	default:
		return "0"
	}
}

// App is one catalog entry: a bundle that can be installed.
type App struct {
	Name        string            `json:"name"`
	Title       string            `json:"title,omitempty"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Category    string            `json:"category,omitempty"`
	Custom      map[string]any    `json:"custom,omitempty"`
	Ports       []PortSpec        `json:"ports,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Meta is the app's catalog metadata (docs/catalog.md); Title,
	// Description and Category above repeat its English text.
	Meta catalog.Meta `json:"meta"`
	// Source names the catalog source offering the app.
	Source string `json:"source,omitempty"`
}

// PortSpec is a named port a bundle asks for.
type PortSpec struct {
	Name     string `json:"name"`
	Service  string `json:"service"`
	Target   int    `json:"target"`
	Protocol string `json:"protocol"`
	// Host is a preferred (pinned) host port; 0 lets StackHub choose.
	Host int `json:"host,omitempty"`
	// HostIP is the address the port is published on; empty: all.
	HostIP string `json:"hostIP,omitempty"`
}

// Installation is an installed (or installing, or failed) app.
type Installation struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Namespace     string `json:"namespace"`
	App           string `json:"app"`
	BundleVersion string `json:"bundleVersion"`
	BundleDigest  string `json:"bundleDigest,omitempty"`
	// Reference is the OCI reference (or "archive:<file>") the bundle was
	// installed from; empty for bundles from the catalog.
	Reference string `json:"reference,omitempty"`
	Status    Status `json:"status"`
	// Reason says why the installation failed, or what it is doing.
	Reason        string            `json:"reason,omitempty"`
	ContainerName string            `json:"containerName"`
	Ports         map[string]int    `json:"ports,omitempty"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	// Labels are the installation's labels; a dependency installation
	// carries LabelParentInstallation.
	Labels map[string]string `json:"labels,omitempty"`
	// ParameterSets and CredentialSets name the sets the last command used
	// (omitted on a later command, they are used again).
	ParameterSets  []string `json:"parameterSets,omitempty"`
	CredentialSets []string `json:"credentialSets,omitempty"`
	// Containerless marks an installation whose bundle ran no container
	// (an exec-only bundle): having none is then no failure.
	Containerless bool       `json:"containerless,omitempty"`
	LastAction    string     `json:"lastAction,omitempty"`
	LastRunID     string     `json:"lastRunId,omitempty"`
	JobID         string     `json:"jobId,omitempty"`
	Created       time.Time  `json:"created"`
	Modified      time.Time  `json:"modified"`
	Installed     *time.Time `json:"installed,omitempty"`
	Uninstalled   *time.Time `json:"uninstalled,omitempty"`
}

// Run is one execution of a bundle action against an installation.
type Run struct {
	ID           string         `json:"id"`
	Installation string         `json:"installation"`
	Namespace    string         `json:"namespace"`
	Revision     string         `json:"revision"`
	Action       string         `json:"action"`
	BundleRef    string         `json:"bundleReference,omitempty"`
	BundleDigest string         `json:"bundleDigest,omitempty"`
	Bundle       []byte         `json:"bundle,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	Created      time.Time      `json:"created"`
}

// Result statuses, as CNAB names them.
const (
	ResultPending   = "pending"
	ResultRunning   = "running"
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
	ResultCanceled  = "canceled"
	ResultUnknown   = "unknown"
)

// Result is one status change of a run.
type Result struct {
	ID      string    `json:"id"`
	RunID   string    `json:"runId"`
	Status  string    `json:"status"`
	Message string    `json:"message,omitempty"`
	Created time.Time `json:"created"`
}

// Output is one value a run produced.
type Output struct {
	Name         string    `json:"name"`
	Installation string    `json:"installation"`
	Namespace    string    `json:"namespace"`
	RunID        string    `json:"runId"`
	ResultID     string    `json:"resultId"`
	Sensitive    bool      `json:"sensitive"`
	Value        []byte    `json:"value"`
	Created      time.Time `json:"created"`
}

// SetRecord is a stored credential or parameter set: its document, with
// the sources of the values, not the values.
type SetRecord struct {
	Kind      string    `json:"kind"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Doc       []byte    `json:"doc"`
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
}

// PortLease reserves a host port for an installation.
type PortLease struct {
	Port         int    `json:"port"`
	Protocol     string `json:"protocol"`
	Installation string `json:"installation"`
	Name         string `json:"name"`
}

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Job is a long-running piece of work (install, upgrade, uninstall, action).
type Job struct {
	ID           string     `json:"id"`
	Installation string     `json:"installation"`
	Action       string     `json:"action"`
	RunID        string     `json:"runId,omitempty"`
	Status       string     `json:"status"`
	Message      string     `json:"message,omitempty"`
	Created      time.Time  `json:"created"`
	Finished     *time.Time `json:"finished,omitempty"`
}

// ServerStatus is the host's health at a glance.
type ServerStatus struct {
	CPUPercent    float64     `json:"cpuPercent"`
	MemoryPercent float64     `json:"memoryPercent"`
	MemoryTotal   uint64      `json:"memoryTotal"`
	MemoryUsed    uint64      `json:"memoryUsed"`
	DiskPercent   float64     `json:"diskPercent"`
	DiskTotal     uint64      `json:"diskTotal"`
	DiskUsed      uint64      `json:"diskUsed"`
	Disks         []DiskUsage `json:"disks,omitempty"`
	Load1         float64     `json:"load1"`
	Load5         float64     `json:"load5"`
	Load15        float64     `json:"load15"`
	UptimeSeconds uint64      `json:"uptimeSeconds"`
	Hostname      string      `json:"hostname"`
	OS            string      `json:"os"`
	Kernel        string      `json:"kernel"`
	Risks         []Risk      `json:"risks"`
	// Network holds the byte and packet counters of each interface.
	Network []NetStat `json:"network,omitempty"`
	// Docker holds the engine's facts; nil when Docker did not answer.
	Docker  *EngineInfo `json:"docker,omitempty"`
	Sampled time.Time   `json:"sampled"`
}

// NetStat is one network interface's counters since boot.
type NetStat struct {
	Interface   string `json:"interface"`
	BytesSent   uint64 `json:"bytesSent"`
	BytesRecv   uint64 `json:"bytesRecv"`
	PacketsSent uint64 `json:"packetsSent"`
	PacketsRecv uint64 `json:"packetsRecv"`
}

// DiskUsage is one mounted filesystem.
type DiskUsage struct {
	Mount   string  `json:"mount"`
	Total   uint64  `json:"total"`
	Used    uint64  `json:"used"`
	Percent float64 `json:"percent"`
}

// Risk is one finding of the security and health audit.
type Risk struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	What     string `json:"what"`
	Fix      string `json:"fix"`
}

// Store persists installations, runs, results, outputs, port leases and jobs.
// engine/sqlite implements it; enginetest.StoreContract tests every implementation.
type Store interface {
	// CreateInstallation inserts inst; ErrConflict if the name is taken in its namespace.
	CreateInstallation(ctx context.Context, inst *Installation) error
	// UpdateInstallation replaces the stored record; ErrNotFound if absent.
	UpdateInstallation(ctx context.Context, inst *Installation) error
	// GetInstallation returns ErrNotFound if absent.
	GetInstallation(ctx context.Context, namespace, name string) (*Installation, error)
	// ListInstallations returns every installation of the namespace, sorted
	// by name. The records are the caller's, but their maps and slices may
	// be shared with the store's cache: replace them, never change them in
	// place.
	ListInstallations(ctx context.Context, namespace string) ([]*Installation, error)
	// DeleteInstallation removes the installation, its runs, results, outputs and leases.
	DeleteInstallation(ctx context.Context, namespace, name string) error

	InsertRun(ctx context.Context, run *Run) error
	GetRun(ctx context.Context, id string) (*Run, error)
	// ListRuns returns the installation's runs, newest first.
	ListRuns(ctx context.Context, namespace, installation string) ([]*Run, error)
	InsertResult(ctx context.Context, res *Result) error
	// ListResults returns a run's results, oldest first.
	ListResults(ctx context.Context, runID string) ([]*Result, error)
	InsertOutput(ctx context.Context, out *Output) error
	// ListOutputs returns the latest value of every output of the installation.
	ListOutputs(ctx context.Context, namespace, installation string) ([]*Output, error)
	// ListRunOutputs returns the outputs of one run.
	ListRunOutputs(ctx context.Context, runID string) ([]*Output, error)

	// PutSet stores a credential or parameter set, replacing one of the
	// same kind, namespace and name (its Created is kept).
	PutSet(ctx context.Context, set *SetRecord) error
	// GetSet returns ErrNotFound if absent.
	GetSet(ctx context.Context, kind, namespace, name string) (*SetRecord, error)
	// ListSets returns the sets of a kind in a namespace, sorted by name.
	ListSets(ctx context.Context, kind, namespace string) ([]*SetRecord, error)
	// DeleteSet returns ErrNotFound if absent.
	DeleteSet(ctx context.Context, kind, namespace, name string) error

	// LeasePorts atomically reserves every lease; ErrConflict (naming the port)
	// if any port is already leased to another installation.
	LeasePorts(ctx context.Context, leases []PortLease) error
	// ReleasePorts frees every lease of the installation.
	ReleasePorts(ctx context.Context, installation string) error
	// ListPortLeases returns every lease.
	ListPortLeases(ctx context.Context) ([]PortLease, error)

	CreateJob(ctx context.Context, job *Job) error
	UpdateJob(ctx context.Context, job *Job) error
	GetJob(ctx context.Context, id string) (*Job, error)
	// ListJobs returns jobs in the given states (all when empty), newest first.
	ListJobs(ctx context.Context, states ...string) ([]*Job, error)
	// AppendJobEvent records one event of a job (status, step, log line).
	AppendJobEvent(ctx context.Context, ev *JobEvent) error
	// ListJobEvents returns a job's events in Seq order.
	ListJobEvents(ctx context.Context, jobID string) ([]*JobEvent, error)

	// CreateDomain records a domain route; ErrConflict if the name is
	// already routed (to any installation of any namespace).
	CreateDomain(ctx context.Context, d *Domain) error
	// ListDomains returns every domain of every namespace, sorted by name.
	ListDomains(ctx context.Context) ([]*Domain, error)
	// DeleteDomain returns ErrNotFound if absent. DeleteInstallation
	// removes the installation's domains too.
	DeleteDomain(ctx context.Context, name string) error

	// PruneHistory keeps the newest keep runs and finished jobs of an
	// installation and deletes older ones, except the runs that hold its
	// last run and the latest value of each output.
	PruneHistory(ctx context.Context, namespace, installation string, keep int) (PruneStats, error)

	Close() error
}

// PruneStats counts what PruneHistory deleted.
type PruneStats struct {
	Runs int
	Jobs int
}

// Docker is the narrow view of the Docker Engine that the orchestrator needs.
// engine/docker implements it over the real Engine API.
type Docker interface {
	// Ping checks the daemon answers.
	Ping(ctx context.Context) error
	// ImageExists reports whether the image ref is present locally.
	ImageExists(ctx context.Context, ref string) (bool, error)
	// BuildImage builds an image from a tar build context holding a
	// Dockerfile at its root and tags it with every tag.
	BuildImage(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string) error
	// PublishedPorts lists every host port published by any container,
	// running or stopped.
	PublishedPorts(ctx context.Context) ([]PublishedPort, error)
	// ProjectContainers lists the containers of a compose project.
	ProjectContainers(ctx context.Context, project string) ([]ContainerState, error)
	// ManagedContainers lists every container carrying StackHub's labels.
	ManagedContainers(ctx context.Context) ([]ContainerState, error)
	// RemoveProject removes every container and network of a compose project,
	// and its volumes when purge is set.
	RemoveProject(ctx context.Context, project string, purge bool) error
	// RemoveInvocations force-removes the invocation containers (label
	// sh.stackhub.invocation=true) of the given runs, running or not: after
	// a crash they would otherwise go on deploying.
	RemoveInvocations(ctx context.Context, runIDs []string) error
	// Events streams container events until ctx ends.
	Events(ctx context.Context) (<-chan ContainerEvent, <-chan error)
	// Info returns engine facts.
	Info(ctx context.Context) (EngineInfo, error)
	// SocketPath is the daemon socket the invocation containers get, if any.
	SocketPath() string
	// ContainerLogs returns a container's log lines.
	ContainerLogs(ctx context.Context, container string, tail int, follow bool) (io.ReadCloser, error)
	// ImagesWithLabel lists the local images that carry the label.
	ImagesWithLabel(ctx context.Context, label string) ([]ImageInfo, error)
	// RemoveImageTag removes one tag; the image goes with its last tag. An
	// image a container uses is refused (ErrConflict).
	RemoveImageTag(ctx context.Context, tag string) error
}

// ImageInfo is a local image.
type ImageInfo struct {
	ID      string
	Tags    []string
	Labels  map[string]string
	Created time.Time
}

// PublishedPort is a host port a container publishes.
type PublishedPort struct {
	Port     int
	Protocol string
	// Container names the container that publishes the port
	// (PublishedPorts); in a ContainerState's Ports, where the container is
	// known, it is the host address the port is bound to (0.0.0.0, ::).
	Container string
	// Private is the container's own port the host port maps to (0 when
	// unknown).
	Private int
}

// ContainerState is what the engine needs to know of one container.
type ContainerState struct {
	ID         string
	Name       string
	Project    string
	Service    string
	State      string // created, running, exited, restarting, paused, dead
	Health     string // "", starting, healthy, unhealthy
	ExitCode   int
	Labels     map[string]string
	Ports      []PublishedPort
	Privileged bool
	Mounts     []string
	// Addrs are the container's IPv4 addresses on its networks, as the
	// container list reports them (the reverse proxy connects to them
	// directly, without Docker's port forwarder in between).
	Addrs []string
}

// ContainerEvent is one container lifecycle event.
type ContainerEvent struct {
	ContainerID string
	Name        string
	Project     string
	Action      string // start, die, stop, destroy, health_status: healthy ...
}

// EngineInfo is a few facts about the Docker Engine.
type EngineInfo struct {
	Version       string `json:"version"`
	APIVersion    string `json:"apiVersion"`
	Containers    int    `json:"containers"`
	Running       int    `json:"running"`
	Images        int    `json:"images"`
	StorageDriver string `json:"storageDriver"`
	// SwarmManager: the engine is a manager of a swarm cluster, so its
	// nodes can be listed and apps installed with the swarm target.
	SwarmManager bool `json:"swarmManager,omitempty"`
	// NCPU, MemTotal (bytes), Architecture (uname -m, e.g. x86_64) and
	// RootDir (where images and volumes live) are the engine's view of the
	// host, which preflight checks apps against; zero when unknown.
	NCPU         int    `json:"ncpu,omitempty"`
	MemTotal     int64  `json:"memTotal,omitempty"`
	Architecture string `json:"architecture,omitempty"`
	RootDir      string `json:"rootDir,omitempty"`
}

// Operation is one bundle action to run in an invocation container.
type Operation struct {
	Action         string
	Installation   string
	Namespace      string
	InstallationID string
	RunID          string
	Revision       string
	// BundleJSON is the CNAB bundle.json.
	BundleJSON []byte
	// Image is the invocation image reference to run.
	Image string
	// Parameters are typed parameter values (CNAB names).
	Parameters map[string]any
	// Credentials are credential values by name.
	Credentials map[string]string
	// AllowDockerHost mounts the Docker socket into the container;
	// Privileged also runs it privileged (docker: {privileged: true}).
	AllowDockerHost bool
	Privileged      bool
	// HostNetwork runs the container in the host's network namespace.
	HostNetwork bool
	// Files are extra files written into the container before it starts,
	// by absolute path (dependency bundle.json files).
	Files map[string]string
	Out   io.Writer
	Err   io.Writer
}

// OperationResult is what an action produced.
type OperationResult struct {
	// Outputs are the bundle outputs collected from /cnab/app/outputs.
	Outputs map[string][]byte
}

// BundleRuntime runs bundle actions; engine/cnab implements it with
// cnab-go's action pipeline on its own invocation-image driver.
type BundleRuntime interface {
	Run(ctx context.Context, op *Operation) (*OperationResult, error)
}

// ConvertRequest carries what a bundle.json needs beyond the manifest.
type ConvertRequest struct {
	// InvocationImage is the image reference recorded in bundle.json.
	InvocationImage string
	// ManifestDigest is the bundle's content digest (the up-to-date stamp).
	ManifestDigest string
	// Version is StackHub's version, recorded in the stamp.
	Version string
}

// BundleConverter turns a manifest into a CNAB bundle.json; engine/cnab
// implements it on cnab-go.
type BundleConverter interface {
	Convert(m *manifest.Manifest, req ConvertRequest) ([]byte, error)
}

// HostProbe samples the host's health; engine/host implements it.
type HostProbe interface {
	Sample(ctx context.Context) (*ServerStatus, error)
}

// PortProber tells whether a host port is free of listeners on the host.
type PortProber interface {
	// Free reports whether nothing listens on port/protocol (IPv4 and IPv6).
	Free(port int, protocol string) bool
}
