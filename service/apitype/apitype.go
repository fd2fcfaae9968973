// Package apitype holds the payloads of StackHub's REST API: what the
// handlers answer with, what the Go client reads, what the OpenAPI document
// (service/openapi.json) describes field for field (a test checks it) and
// what the web console reads. It imports only the standard library, so that
// any client can use it without the service.
package apitype

import "time"

// Installation is an installed (or installing, or failed) app.
type Installation struct {
	Name          string         `json:"name"`
	App           string         `json:"app"`
	Version       string         `json:"version"`
	Status        string         `json:"status"`
	Reason        string         `json:"reason,omitempty"`
	ContainerName string         `json:"containerName"`
	Ports         map[string]int `json:"ports"`
	JobID         string         `json:"jobId,omitempty"`
	Created       time.Time      `json:"created"`
	Modified      time.Time      `json:"modified"`
	Installed     *time.Time     `json:"installed,omitempty"`
	// Target is "swarm" for an app that runs as swarm services; omitted
	// for one on the server's Docker host (compose).
	Target string `json:"target,omitempty"`
	// Swarm lists a swarm installation's services with their replicas and
	// nodes (GET /api/v1/installations/{name} only: it asks the manager).
	Swarm []SwarmService `json:"swarm,omitempty"`
}

// SwarmService is one swarm service of an installation.
type SwarmService struct {
	Name     string   `json:"name"`
	Service  string   `json:"service"`
	Replicas uint64   `json:"replicas"`
	Running  uint64   `json:"running"`
	Nodes    []string `json:"nodes"`
	Update   string   `json:"update,omitempty"`
	// DataNode is the node holding the service's volumes, where it is
	// pinned; Problem why it cannot run, when known (that node is down).
	DataNode string `json:"dataNode,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// Job is a queued, running or finished install, upgrade, uninstall or action.
type Job struct {
	ID           string     `json:"id"`
	Installation string     `json:"installation"`
	Action       string     `json:"action"`
	Status       string     `json:"status"`
	Message      string     `json:"message,omitempty"`
	Progress     int        `json:"progress"`
	Step         string     `json:"step,omitempty"`
	Created      time.Time  `json:"created"`
	Finished     *time.Time `json:"finished,omitempty"`
	// Events is the path of the job's Server-Sent Events stream.
	Events string `json:"events"`
}

// Disk is one mounted filesystem's use.
type Disk struct {
	Mount   string  `json:"mount"`
	Total   uint64  `json:"total"`
	Used    uint64  `json:"used"`
	Percent float64 `json:"percent"`
}

// Risk is one security risk found on the host, with how to fix it.
type Risk struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	What     string `json:"what"`
	Fix      string `json:"fix"`
}

// Server is the host's health at a glance.
type Server struct {
	CPUPercent    float64   `json:"cpuPercent"`
	MemoryPercent float64   `json:"memoryPercent"`
	MemoryTotal   uint64    `json:"memoryTotal"`
	MemoryUsed    uint64    `json:"memoryUsed"`
	DiskPercent   float64   `json:"diskPercent"`
	DiskTotal     uint64    `json:"diskTotal"`
	DiskUsed      uint64    `json:"diskUsed"`
	Disks         []Disk    `json:"disks"`
	Load          []float64 `json:"load"`
	UptimeSeconds uint64    `json:"uptimeSeconds"`
	Hostname      string    `json:"hostname"`
	OS            string    `json:"os"`
	Kernel        string    `json:"kernel"`
	Risks         []Risk    `json:"risks"`
	// Docker holds the engine's facts; absent when Docker did not answer.
	Docker  *Docker   `json:"docker,omitempty"`
	Sampled time.Time `json:"sampled"`
}

// Docker is a few facts about the Docker Engine.
type Docker struct {
	Version       string `json:"version"`
	APIVersion    string `json:"apiVersion"`
	Containers    int    `json:"containers"`
	Running       int    `json:"running"`
	Images        int    `json:"images"`
	StorageDriver string `json:"storageDriver"`
	// SwarmManager: the engine manages a swarm cluster (GET /api/v1/nodes
	// lists its nodes; otherwise it answers 409).
	SwarmManager bool `json:"swarmManager,omitempty"`
}

// Port is a named port an app publishes.
type Port struct {
	Name     string `json:"name"`
	Service  string `json:"service,omitempty"`
	Target   int    `json:"target,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	HostIP   string `json:"hostIP,omitempty"`
}

// Text is a text in English and Chinese.
type Text struct {
	En string `json:"en"`
	Zh string `json:"zh"`
}

// Requirements is what an app needs of the host.
type Requirements struct {
	CPU      float64 `json:"cpu"`
	MemoryMB int     `json:"memoryMB"`
	DiskMB   int     `json:"diskMB"`
}

// App is one catalog app.
type App struct {
	Name         string       `json:"name"`
	Title        string       `json:"title"`
	Version      string       `json:"version"`
	Description  string       `json:"description,omitempty"`
	Category     string       `json:"category,omitempty"`
	Ports        []Port       `json:"ports"`
	Titles       Text         `json:"titles"`
	Descriptions Text         `json:"descriptions"`
	Keywords     []string     `json:"keywords"`
	AppVersion   string       `json:"appVersion,omitempty"`
	Homepage     string       `json:"homepage,omitempty"`
	Icon         string       `json:"icon,omitempty"`
	Requirements Requirements `json:"requirements"`
	// Architectures of the app's images; empty when the bundle says none.
	Architectures []string `json:"architectures"`
	Source        string   `json:"source"`
}

// CategoryCount is a category with its number of apps.
type CategoryCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// AppList is one page of the catalog.
type AppList struct {
	Apps       []App           `json:"apps"`
	Total      int             `json:"total"`
	Page       int             `json:"page"`
	PerPage    int             `json:"per_page"`
	Categories []CategoryCount `json:"categories"`
}

// AppParameter is a bundle parameter, with what a form needs.
type AppParameter struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Description  string   `json:"description,omitempty"`
	Descriptions Text     `json:"descriptions"`
	Default      any      `json:"default"`
	Enum         []any    `json:"enum,omitempty"`
	Minimum      *float64 `json:"minimum,omitempty"`
	Maximum      *float64 `json:"maximum,omitempty"`
	MinLength    *int     `json:"minLength,omitempty"`
	MaxLength    *int     `json:"maxLength,omitempty"`
	Pattern      string   `json:"pattern,omitempty"`
	Sensitive    bool     `json:"sensitive"`
	Generated    bool     `json:"generated"`
	Required     bool     `json:"required"`
	ApplyTo      []string `json:"applyTo,omitempty"`
}

// AppOutput is a bundle output.
type AppOutput struct {
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	Descriptions Text   `json:"descriptions"`
	Sensitive    bool   `json:"sensitive"`
}

// AppDetail is one catalog app with its parameters, outputs, README and permissions.
type AppDetail struct {
	App
	Parameters []AppParameter `json:"parameters"`
	Outputs    []AppOutput    `json:"outputs"`
	Readme     string         `json:"readme"`
	// Sources names every source offering an app of this name.
	Sources []string `json:"sources"`
	// Permissions is what the bundle asks of the host.
	Permissions *Permissions `json:"permissions,omitempty"`
}

// PreflightCheck is one check of a preflight report.
type PreflightCheck struct {
	Check   string `json:"check"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// PreflightReport is whether an app can be installed here, and why not.
type PreflightReport struct {
	App    string           `json:"app"`
	Name   string           `json:"name"`
	OK     bool             `json:"ok"`
	Checks []PreflightCheck `json:"checks"`
	Ports  map[string]int   `json:"ports"`
}

// CatalogSource is one place catalog apps come from.
type CatalogSource struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Path  string `json:"path,omitempty"`
	Apps  int    `json:"apps"`
	Added bool   `json:"added"`
	Error string `json:"error,omitempty"`
}

// CatalogSourceList is every catalog source.
type CatalogSourceList struct {
	Sources []CatalogSource `json:"sources"`
}

// Upload is an uploaded bundle archive.
type Upload struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
	// Name is the file name the client sent, for display only.
	Name string `json:"name,omitempty"`
}

// Output is one output value of an installation.
type Output struct {
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"`
	Sensitive bool   `json:"sensitive"`
	// Value is "" for a sensitive output unless ?reveal=true asked for it.
	Value    string `json:"value"`
	Revealed bool   `json:"revealed,omitempty"`
}

// Me is the caller.
type Me struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	// Language is the caller's chosen language, else the server's default
	// one, else "" (follow the browser).
	Language string `json:"language"`
}

// JobEvent is one event of a job (status, step, log line).
type JobEvent struct {
	Job      string    `json:"job"`
	Seq      int       `json:"seq"`
	Type     string    `json:"type"`
	Status   string    `json:"status,omitempty"`
	Step     string    `json:"step,omitempty"`
	Progress int       `json:"progress"`
	Line     string    `json:"line,omitempty"`
	Time     time.Time `json:"time"`
}

// User is a user of the service, without secrets.
type User struct {
	Username string    `json:"username"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created,omitzero"`
}

// Settings is the service's settings.
type Settings struct {
	Registration string `json:"registration"`
	// DefaultLanguage is the console's language for users who chose none
	// ("" follows the browser).
	DefaultLanguage string `json:"defaultLanguage"`
	// PortMin and PortMax are the host ports apps get; they come from
	// serve's --port-min and --port-max and are read-only here.
	PortMin int `json:"portMin,omitempty"`
	PortMax int `json:"portMax,omitempty"`
}

// Permissions is what a bundle asks of the host (engine.Permissions),
// shown in an app's details before it is installed. PrivilegedRequests
// lists what needs an admin's "allow": ["privileged"]; when it is empty an
// operator may install the app.
type Permissions struct {
	DockerSocket       bool            `json:"dockerSocket"`
	Privileged         []string        `json:"privileged"`
	HostNamespaces     []string        `json:"hostNamespaces"`
	HostPaths          []HostPath      `json:"hostPaths"`
	Ports              []PublishedPort `json:"ports"`
	Devices            []string        `json:"devices"`
	Capabilities       []string        `json:"capabilities"`
	PrivilegedRequests []string        `json:"privilegedRequests"`
	Incomplete         string          `json:"incomplete,omitempty"`
}

// HostPath is a host folder a service mounts.
type HostPath struct {
	Service  string `json:"service"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// PublishedPort is a container port a service publishes.
type PublishedPort struct {
	Service  string `json:"service"`
	Target   int    `json:"target"`
	Protocol string `json:"protocol"`
	// Host is the pinned host port; 0: StackHub leases a free one.
	Host   int    `json:"host"`
	HostIP string `json:"hostIP,omitempty"`
}

// Final reports whether the event ends its job.
func (ev JobEvent) Final() bool {
	return ev.Type == "status" && (ev.Status == "succeeded" || ev.Status == "failed")
}

// Node is one node of the swarm cluster StackHub manages.
type Node struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// Role is manager or worker; Leader marks the leading manager.
	Role   string `json:"role"`
	Leader bool   `json:"leader"`
	// Availability is active, pause or drain; State is ready, down,
	// disconnected or unknown.
	Availability string            `json:"availability"`
	State        string            `json:"state"`
	Message      string            `json:"message,omitempty"`
	Addr         string            `json:"addr,omitempty"`
	Labels       map[string]string `json:"labels"`
	// CPUs and MemoryBytes are what the node offers the scheduler.
	CPUs          float64 `json:"cpus"`
	MemoryBytes   int64   `json:"memoryBytes"`
	Architecture  string  `json:"architecture,omitempty"`
	OS            string  `json:"os,omitempty"`
	EngineVersion string  `json:"engineVersion,omitempty"`
	// Tasks is how many swarm tasks run on the node.
	Tasks int `json:"tasks"`
}

// NodeList is the answer of GET /api/v1/nodes.
type NodeList struct {
	Nodes []Node `json:"nodes"`
}

// JoinCommand is what a new node runs to join the cluster. Token is a
// secret (whoever holds it can join a node); only admins get it.
type JoinCommand struct {
	Role    string `json:"role"`
	Token   string `json:"token"`
	Manager string `json:"manager"`
	Command string `json:"command"`
}

// Domain is a host name the reverse proxy routes to an app's port.
type Domain struct {
	Name         string    `json:"name"`
	Installation string    `json:"installation"`
	Service      string    `json:"service,omitempty"`
	Port         string    `json:"port"`
	TLS          string    `json:"tls"`
	URL          string    `json:"url"`
	Created      time.Time `json:"created"`
	// Login: only StackHub users (viewer or above) get through the
	// proxy to the app (the login gate).
	Login bool `json:"login,omitempty"`
	// Certificate says where its certificate stands: "valid until DATE",
	// "pending", "self-signed (local CA)", "custom", or why the proxy is
	// not serving.
	Certificate string `json:"certificate,omitempty"`
	// Warnings are what the DNS preflight found when the domain was added.
	Warnings []string `json:"warnings,omitempty"`
}

// DomainList is every routed domain.
type DomainList struct {
	Domains []Domain `json:"domains"`
}

// DomainRequest routes a domain to an app: service and port are optional
// when the bundle declares its web entry point or has one TCP port; tls is
// "acme", "self-signed" or "custom" (default: by the name).
type DomainRequest struct {
	App     string `json:"app"`
	Domain  string `json:"domain"`
	Service string `json:"service,omitempty"`
	Port    string `json:"port,omitempty"`
	TLS     string `json:"tls,omitempty"`
	// Login puts StackHub's login in front of the app.
	Login bool `json:"login,omitempty"`
}

// Backup is one backup of an installation: its data and its record.
type Backup struct {
	ID           string    `json:"id"`
	Installation string    `json:"installation"`
	App          string    `json:"app"`
	Version      string    `json:"version"`
	Created      time.Time `json:"created"`
	// Size is the bytes the backup holds; Added what it added to the
	// repository after deduplication and compression.
	Size  int64 `json:"size"`
	Added int64 `json:"added"`
	Files int64 `json:"files"`
	// Quiesce says how the app was kept consistent: "stop" (its
	// containers were stopped for the copy) or "backup" (the bundle's
	// backup action ran).
	Quiesce string `json:"quiesce,omitempty"`
	Target  string `json:"target"`
	// Verified is the backup's last verification (absent: never
	// verified).
	Verified *BackupVerification `json:"verified,omitempty"`
}

// BackupVerification is the outcome of restoring a backup into a scratch
// installation (removed again), waiting for it to be healthy.
type BackupVerification struct {
	Verified time.Time `json:"verified"`
	OK       bool      `json:"ok"`
	// Reason says why it failed.
	Reason  string  `json:"reason,omitempty"`
	Scratch string  `json:"scratch"`
	Seconds float64 `json:"seconds"`
}

// BackupList is an installation's backups, newest first.
type BackupList struct {
	Backups []Backup `json:"backups"`
}

// BackupMount is one volume or bind-mounted folder a backup holds.
type BackupMount struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
	Path string `json:"path"`
	Bind bool   `json:"bind,omitempty"`
}

// BackupDetail is a backup and what its record holds; values of
// parameters and outputs are left out (they may be secrets), their names
// are given.
type BackupDetail struct {
	Backup
	Reference  string         `json:"reference,omitempty"`
	Ports      map[string]int `json:"ports,omitempty"`
	Parameters []string       `json:"parameters"`
	Outputs    []string       `json:"outputs"`
	Mounts     []BackupMount  `json:"mounts"`
}

// ServerExport is every installation of a server with its newest backup,
// and the repository the backups are in; no secret (they are in the
// backups, encrypted with the repository key, which is moved by hand).
type ServerExport struct {
	Format        string                 `json:"format"`
	Exported      time.Time              `json:"exported"`
	StackHub      string                 `json:"stackhub"`
	Repository    string                 `json:"repository"`
	Installations []ExportedInstallation `json:"installations"`
}

// ExportedInstallation is one installation in a server export.
type ExportedInstallation struct {
	Name          string         `json:"name"`
	App           string         `json:"app"`
	Version       string         `json:"version"`
	Reference     string         `json:"reference,omitempty"`
	Status        string         `json:"status"`
	Ports         map[string]int `json:"ports,omitempty"`
	Backup        string         `json:"backup,omitempty"`
	BackupCreated *time.Time     `json:"backupCreated,omitempty"`
}

// ServerImportResult says what an import did with each installation: a
// restore job, or why it was skipped.
type ServerImportResult struct {
	Installations []ImportOutcome `json:"installations"`
}

// ImportOutcome is one installation of an import.
type ImportOutcome struct {
	Name    string `json:"name"`
	Job     *Job   `json:"job,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// UpgradeRequest asks for an upgrade to the catalog's version of the
// installation's app.
type UpgradeRequest struct {
	// Parameters change parameter values; the others keep theirs.
	Parameters map[string]string `json:"parameters,omitempty"`
	// Allow: "privileged" (admins only), as for an install.
	Allow []string `json:"allow,omitempty"`
	// RestoreOnFailure backs the app up first and, if the upgrade fails
	// and its containers were rolled back, restores that backup's data
	// and starts the app again.
	RestoreOnFailure bool `json:"restoreOnFailure,omitempty"`
	// NoBackup skips the backup the server takes before each upgrade
	// (its --backup-before-upgrade); not with RestoreOnFailure.
	NoBackup bool `json:"noBackup,omitempty"`
}

// RestoreRequest asks for a backup to be restored: in place, or as a new
// installation named As.
type RestoreRequest struct {
	As string `json:"as,omitempty"`
}

// PruneRequest says which backups of an installation to keep; the others
// are deleted. At least one count must be above 0.
type PruneRequest struct {
	KeepLast    int `json:"keepLast,omitempty"`
	KeepDaily   int `json:"keepDaily,omitempty"`
	KeepWeekly  int `json:"keepWeekly,omitempty"`
	KeepMonthly int `json:"keepMonthly,omitempty"`
}

// BackupSchedule is an installation's effective backup schedule, its next
// slot and how its last scheduled run went.
type BackupSchedule struct {
	Installation string `json:"installation"`
	// Source is where the schedule comes from: "installation" (its own),
	// "server" (the server's default), "off" (its own schedule is off) or
	// "none".
	Source      string `json:"source"`
	Cron        string `json:"cron,omitempty"`
	KeepLast    int    `json:"keepLast,omitempty"`
	KeepDaily   int    `json:"keepDaily,omitempty"`
	KeepWeekly  int    `json:"keepWeekly,omitempty"`
	KeepMonthly int    `json:"keepMonthly,omitempty"`
	// Server is the server's default schedule (absent: none).
	Server string `json:"server,omitempty"`
	// Next is the next slot; one in the past runs within a minute.
	Next    *time.Time `json:"next,omitempty"`
	LastRun *time.Time `json:"lastRun,omitempty"`
	LastJob string     `json:"lastJob,omitempty"`
	// LastResult is "ok" or "failed" (with LastReason).
	LastResult string `json:"lastResult,omitempty"`
	LastReason string `json:"lastReason,omitempty"`
}

// BackupScheduleRequest gives an installation its own schedule: a cron
// expression and keep counts (none: no pruning), or off (no scheduled
// backups, not even the server's default).
type BackupScheduleRequest struct {
	Cron        string `json:"cron,omitempty"`
	KeepLast    int    `json:"keepLast,omitempty"`
	KeepDaily   int    `json:"keepDaily,omitempty"`
	KeepWeekly  int    `json:"keepWeekly,omitempty"`
	KeepMonthly int    `json:"keepMonthly,omitempty"`
	Off         bool   `json:"off,omitempty"`
}

// PruneResult lists the backups a prune deleted.
type PruneResult struct {
	Removed []string `json:"removed"`
}
