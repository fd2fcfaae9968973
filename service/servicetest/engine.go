// Package servicetest holds the one fake of the service's Engine, for the
// service's handler tests and the CLI's scripts alike: each call runs the
// test's function for it if set, else the in-memory engine (Memory) if the
// fake has one, else fails as unexpected and is counted. It must not import
// the service (the service's own tests import it).
package servicetest

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/porter"
)

// ErrUnexpected is the answer to a call the test neither scripted nor
// backed with a Memory.
var ErrUnexpected = errors.New("unexpected engine call")

// Engine is the fake. Its zero value fails every call (and counts it).
type Engine struct {
	InstallFunc      func(ctx context.Context, opts engine.InstallOptions) (*engine.Installation, error)
	UninstallFunc    func(ctx context.Context, opts engine.UninstallOptions) error
	UninstallAllFunc func(ctx context.Context) ([]engine.UninstallOutcome, error)
	GetFunc          func(ctx context.Context, name string) (*engine.Installation, error)
	ListFunc         func(ctx context.Context) ([]*engine.Installation, error)
	ServerFunc       func(ctx context.Context) (*engine.ServerStatus, error)
	AppsFunc         func(ctx context.Context) ([]engine.App, error)
	SearchAppsFunc   func(ctx context.Context, q catalog.Query) (*catalog.Result, error)
	AppDetailFunc    func(ctx context.Context, name, source string) (*engine.AppDetail, error)
	AppIconFunc      func(ctx context.Context, name string) (*engine.AppIcon, error)
	PreflightFunc    func(ctx context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error)
	SourcesFunc      func(ctx context.Context) ([]engine.CatalogSource, error)
	AddSourceFunc    func(ctx context.Context, name, path string) (*engine.CatalogSource, error)
	RemoveSourceFunc func(ctx context.Context, name string) error
	DomainsFunc      func(ctx context.Context) ([]*engine.Domain, error)
	AddDomainFunc    func(ctx context.Context, opts engine.DomainOptions) (*engine.Domain, error)
	RemoveDomainFunc func(ctx context.Context, name string) error
	JobFunc          func(ctx context.Context, id string) (*engine.Job, error)
	UpgradeFunc      func(ctx context.Context, opts engine.UpgradeOptions) (*engine.Installation, error)
	ActionFunc       func(ctx context.Context, opts engine.ActionOptions) (*engine.Job, error)
	UninstallJobFunc func(ctx context.Context, opts engine.UninstallOptions) (*engine.Job, error)
	LogsFunc         func(ctx context.Context, opts engine.LogsOptions) (io.ReadCloser, error)
	JobsFunc         func(ctx context.Context, limit int) ([]*engine.Job, error)
	JobEventsFunc    func(ctx context.Context, id string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error)
	UnmanagedFunc    func(ctx context.Context) ([]string, error)
	// PorterDocumentFunc nil builds the document from the installation
	// alone, as the engine does for one without runs.
	PorterDocumentFunc func(ctx context.Context, inst *engine.Installation, opts porter.DocOptions) (*porter.Installation, error)
	// OutputsFunc nil answers a port and a sensitive password of an
	// installation Get finds.
	OutputsFunc func(ctx context.Context, name string) ([]engine.OutputValue, error)

	NodesFunc           func(ctx context.Context) ([]engine.Node, error)
	NodeJoinFunc        func(ctx context.Context, manager bool) (*engine.JoinInfo, error)
	SetAvailabilityFunc func(ctx context.Context, node, availability string) (*engine.Node, error)
	RemoveNodeFunc      func(ctx context.Context, node string, force bool) error
	SwarmServicesFunc   func(ctx context.Context, name string) ([]engine.SwarmService, error)

	// Mem answers the calls no function is set for.
	Mem *Memory

	calls atomic.Int32
}

// NewEngine returns a fake backed by a fresh Memory.
func NewEngine() *Engine { return &Engine{Mem: NewMemory()} }

// Calls counts the calls made that reach the engine (JobProgress and
// PortRange, which are pure, are not counted).
func (e *Engine) Calls() int32 { return e.calls.Load() }

// Install runs InstallFunc, else Memory's Install.
func (e *Engine) Install(ctx context.Context, opts engine.InstallOptions) (*engine.Installation, error) {
	e.calls.Add(1)
	switch {
	case e.InstallFunc != nil:
		return e.InstallFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.Install(ctx, opts)
	}
	return nil, ErrUnexpected
}

// Uninstall runs UninstallFunc, else Memory's Uninstall.
func (e *Engine) Uninstall(ctx context.Context, opts engine.UninstallOptions) error {
	e.calls.Add(1)
	switch {
	case e.UninstallFunc != nil:
		return e.UninstallFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.Uninstall(ctx, opts)
	}
	return ErrUnexpected
}

// UninstallAll runs UninstallAllFunc, else Memory's UninstallAll.
func (e *Engine) UninstallAll(ctx context.Context) ([]engine.UninstallOutcome, error) {
	e.calls.Add(1)
	switch {
	case e.UninstallAllFunc != nil:
		return e.UninstallAllFunc(ctx)
	case e.Mem != nil:
		return e.Mem.UninstallAll(ctx)
	}
	return nil, ErrUnexpected
}

// Get runs GetFunc, else Memory's Get.
func (e *Engine) Get(ctx context.Context, name string) (*engine.Installation, error) {
	e.calls.Add(1)
	switch {
	case e.GetFunc != nil:
		return e.GetFunc(ctx, name)
	case e.Mem != nil:
		return e.Mem.Get(ctx, name)
	}
	return nil, ErrUnexpected
}

// List runs ListFunc, else Memory's List.
func (e *Engine) List(ctx context.Context) ([]*engine.Installation, error) {
	e.calls.Add(1)
	switch {
	case e.ListFunc != nil:
		return e.ListFunc(ctx)
	case e.Mem != nil:
		return e.Mem.List(ctx)
	}
	return nil, ErrUnexpected
}

// Server runs ServerFunc, else Memory's Server.
func (e *Engine) Server(ctx context.Context) (*engine.ServerStatus, error) {
	e.calls.Add(1)
	switch {
	case e.ServerFunc != nil:
		return e.ServerFunc(ctx)
	case e.Mem != nil:
		return e.Mem.Server(ctx)
	}
	return nil, ErrUnexpected
}

// Apps runs AppsFunc, else Memory's Apps.
func (e *Engine) Apps(ctx context.Context) ([]engine.App, error) {
	e.calls.Add(1)
	switch {
	case e.AppsFunc != nil:
		return e.AppsFunc(ctx)
	case e.Mem != nil:
		return e.Mem.Apps(ctx)
	}
	return nil, ErrUnexpected
}

// SearchApps runs SearchAppsFunc, else Memory's SearchApps.
func (e *Engine) SearchApps(ctx context.Context, q catalog.Query) (*catalog.Result, error) {
	e.calls.Add(1)
	switch {
	case e.SearchAppsFunc != nil:
		return e.SearchAppsFunc(ctx, q)
	case e.Mem != nil:
		return e.Mem.SearchApps(ctx, q)
	}
	return nil, ErrUnexpected
}

// AppDetail runs AppDetailFunc, else Memory's AppDetail.
func (e *Engine) AppDetail(ctx context.Context, name, source string) (*engine.AppDetail, error) {
	e.calls.Add(1)
	switch {
	case e.AppDetailFunc != nil:
		return e.AppDetailFunc(ctx, name, source)
	case e.Mem != nil:
		return e.Mem.AppDetail(ctx, name, source)
	}
	return nil, ErrUnexpected
}

// AppIcon runs AppIconFunc, else Memory's AppIcon.
func (e *Engine) AppIcon(ctx context.Context, name string) (*engine.AppIcon, error) {
	e.calls.Add(1)
	switch {
	case e.AppIconFunc != nil:
		return e.AppIconFunc(ctx, name)
	case e.Mem != nil:
		return e.Mem.AppIcon(ctx, name)
	}
	return nil, ErrUnexpected
}

// Preflight runs PreflightFunc, else Memory's Preflight.
func (e *Engine) Preflight(ctx context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error) {
	e.calls.Add(1)
	switch {
	case e.PreflightFunc != nil:
		return e.PreflightFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.Preflight(ctx, opts)
	}
	return nil, ErrUnexpected
}

// CatalogSources runs SourcesFunc, else Memory's CatalogSources.
func (e *Engine) CatalogSources(ctx context.Context) ([]engine.CatalogSource, error) {
	e.calls.Add(1)
	switch {
	case e.SourcesFunc != nil:
		return e.SourcesFunc(ctx)
	case e.Mem != nil:
		return e.Mem.CatalogSources(ctx)
	}
	return nil, ErrUnexpected
}

// AddCatalogSource runs AddSourceFunc, else Memory's AddCatalogSource.
func (e *Engine) AddCatalogSource(ctx context.Context, name, path string) (*engine.CatalogSource, error) {
	e.calls.Add(1)
	switch {
	case e.AddSourceFunc != nil:
		return e.AddSourceFunc(ctx, name, path)
	case e.Mem != nil:
		return e.Mem.AddCatalogSource(ctx, name, path)
	}
	return nil, ErrUnexpected
}

// RemoveCatalogSource runs RemoveSourceFunc, else Memory's RemoveCatalogSource.
func (e *Engine) RemoveCatalogSource(ctx context.Context, name string) error {
	e.calls.Add(1)
	switch {
	case e.RemoveSourceFunc != nil:
		return e.RemoveSourceFunc(ctx, name)
	case e.Mem != nil:
		return e.Mem.RemoveCatalogSource(ctx, name)
	}
	return ErrUnexpected
}

// Job runs JobFunc, else Memory's Job.
func (e *Engine) Job(ctx context.Context, id string) (*engine.Job, error) {
	e.calls.Add(1)
	switch {
	case e.JobFunc != nil:
		return e.JobFunc(ctx, id)
	case e.Mem != nil:
		return e.Mem.Job(ctx, id)
	}
	return nil, ErrUnexpected
}

// Upgrade runs UpgradeFunc, else Memory's Upgrade.
func (e *Engine) Upgrade(ctx context.Context, opts engine.UpgradeOptions) (*engine.Installation, error) {
	e.calls.Add(1)
	switch {
	case e.UpgradeFunc != nil:
		return e.UpgradeFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.Upgrade(ctx, opts)
	}
	return nil, ErrUnexpected
}

// Action runs ActionFunc, else Memory's Action.
func (e *Engine) Action(ctx context.Context, opts engine.ActionOptions) (*engine.Job, error) {
	e.calls.Add(1)
	switch {
	case e.ActionFunc != nil:
		return e.ActionFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.Action(ctx, opts)
	}
	return nil, ErrUnexpected
}

// UninstallJob runs UninstallJobFunc, else Memory's UninstallJob.
func (e *Engine) UninstallJob(ctx context.Context, opts engine.UninstallOptions) (*engine.Job, error) {
	e.calls.Add(1)
	switch {
	case e.UninstallJobFunc != nil:
		return e.UninstallJobFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.UninstallJob(ctx, opts)
	}
	return nil, ErrUnexpected
}

// Logs runs LogsFunc, else Memory's Logs.
func (e *Engine) Logs(ctx context.Context, opts engine.LogsOptions) (io.ReadCloser, error) {
	e.calls.Add(1)
	switch {
	case e.LogsFunc != nil:
		return e.LogsFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.Logs(ctx, opts)
	}
	return nil, ErrUnexpected
}

// Jobs runs JobsFunc, else Memory's Jobs.
func (e *Engine) Jobs(ctx context.Context, limit int) ([]*engine.Job, error) {
	e.calls.Add(1)
	switch {
	case e.JobsFunc != nil:
		return e.JobsFunc(ctx, limit)
	case e.Mem != nil:
		return e.Mem.Jobs(ctx, limit)
	}
	return nil, ErrUnexpected
}

// JobEvents runs JobEventsFunc, else Memory's JobEvents.
func (e *Engine) JobEvents(ctx context.Context, id string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
	e.calls.Add(1)
	switch {
	case e.JobEventsFunc != nil:
		return e.JobEventsFunc(ctx, id)
	case e.Mem != nil:
		return e.Mem.JobEvents(ctx, id)
	}
	return nil, nil, nil, ErrUnexpected
}

// Unmanaged runs UnmanagedFunc, else Memory's Unmanaged.
func (e *Engine) Unmanaged(ctx context.Context) ([]string, error) {
	e.calls.Add(1)
	switch {
	case e.UnmanagedFunc != nil:
		return e.UnmanagedFunc(ctx)
	case e.Mem != nil:
		return e.Mem.Unmanaged(ctx)
	}
	return nil, ErrUnexpected
}

// RefreshCatalog is CatalogSources.
func (e *Engine) RefreshCatalog(ctx context.Context) ([]engine.CatalogSource, error) {
	return e.CatalogSources(ctx)
}

// JobProgress is pure: it is not counted as an engine call.
func (e *Engine) JobProgress(job *engine.Job) (int, string) {
	if job.Status == engine.JobSucceeded {
		return 100, ""
	}
	return 0, ""
}

// PorterDocument runs PorterDocumentFunc, else builds the document from
// the installation alone.
func (e *Engine) PorterDocument(ctx context.Context, inst *engine.Installation, opts porter.DocOptions) (*porter.Installation, error) {
	e.calls.Add(1)
	if e.PorterDocumentFunc != nil {
		return e.PorterDocumentFunc(ctx, inst, opts)
	}
	return porter.NewInstallation(inst, nil, nil, opts), nil
}

// Outputs runs OutputsFunc, else Memory's Outputs, else answers fixed
// outputs (a port and a sensitive password) of an installation Get finds.
func (e *Engine) Outputs(ctx context.Context, name string) ([]engine.OutputValue, error) {
	switch {
	case e.OutputsFunc != nil:
		e.calls.Add(1)
		return e.OutputsFunc(ctx, name)
	case e.Mem != nil:
		e.calls.Add(1)
		return e.Mem.Outputs(ctx, name)
	}
	e.calls.Add(1)
	if _, err := e.Get(ctx, name); err != nil {
		return nil, err
	}
	return []engine.OutputValue{
		{Name: "port", Type: "string", Value: "9001"},
		{Name: "password", Type: "string", Sensitive: true, Value: "s3cret-value"},
	}, nil
}

// ServerHistory has no samples.
func (e *Engine) ServerHistory(context.Context) ([]engine.ServerPoint, error) {
	e.calls.Add(1)
	return nil, nil
}

// PortRange is the default range.
func (e *Engine) PortRange() (int, int) { return 9001, 9999 }

// Nodes runs NodesFunc, else Memory's Nodes.
func (e *Engine) Nodes(ctx context.Context) ([]engine.Node, error) {
	e.calls.Add(1)
	switch {
	case e.NodesFunc != nil:
		return e.NodesFunc(ctx)
	case e.Mem != nil:
		return e.Mem.Nodes(ctx)
	}
	return nil, ErrUnexpected
}

// NodeJoin runs NodeJoinFunc, else Memory's NodeJoin.
func (e *Engine) NodeJoin(ctx context.Context, manager bool) (*engine.JoinInfo, error) {
	e.calls.Add(1)
	switch {
	case e.NodeJoinFunc != nil:
		return e.NodeJoinFunc(ctx, manager)
	case e.Mem != nil:
		return e.Mem.NodeJoin(ctx, manager)
	}
	return nil, ErrUnexpected
}

// SetNodeAvailability runs SetAvailabilityFunc, else Memory's.
func (e *Engine) SetNodeAvailability(ctx context.Context, node, availability string) (*engine.Node, error) {
	e.calls.Add(1)
	switch {
	case e.SetAvailabilityFunc != nil:
		return e.SetAvailabilityFunc(ctx, node, availability)
	case e.Mem != nil:
		return e.Mem.SetNodeAvailability(ctx, node, availability)
	}
	return nil, ErrUnexpected
}

// RemoveNode runs RemoveNodeFunc, else Memory's RemoveNode.
func (e *Engine) RemoveNode(ctx context.Context, node string, force bool) error {
	e.calls.Add(1)
	switch {
	case e.RemoveNodeFunc != nil:
		return e.RemoveNodeFunc(ctx, node, force)
	case e.Mem != nil:
		return e.Mem.RemoveNode(ctx, node, force)
	}
	return ErrUnexpected
}

// SwarmServices runs SwarmServicesFunc, else answers none.
func (e *Engine) SwarmServices(ctx context.Context, name string) ([]engine.SwarmService, error) {
	e.calls.Add(1)
	if e.SwarmServicesFunc != nil {
		return e.SwarmServicesFunc(ctx, name)
	}
	if e.Mem != nil {
		return nil, nil
	}
	return nil, ErrUnexpected
}

// Domains runs DomainsFunc, else Memory's Domains.
func (e *Engine) Domains(ctx context.Context) ([]*engine.Domain, error) {
	e.calls.Add(1)
	switch {
	case e.DomainsFunc != nil:
		return e.DomainsFunc(ctx)
	case e.Mem != nil:
		return e.Mem.Domains(ctx)
	}
	return nil, ErrUnexpected
}

// AddDomain runs AddDomainFunc, else Memory's AddDomain.
func (e *Engine) AddDomain(ctx context.Context, opts engine.DomainOptions) (*engine.Domain, error) {
	e.calls.Add(1)
	switch {
	case e.AddDomainFunc != nil:
		return e.AddDomainFunc(ctx, opts)
	case e.Mem != nil:
		return e.Mem.AddDomain(ctx, opts)
	}
	return nil, ErrUnexpected
}

// RemoveDomain runs RemoveDomainFunc, else Memory's RemoveDomain.
func (e *Engine) RemoveDomain(ctx context.Context, name string) error {
	e.calls.Add(1)
	switch {
	case e.RemoveDomainFunc != nil:
		return e.RemoveDomainFunc(ctx, name)
	case e.Mem != nil:
		return e.Mem.RemoveDomain(ctx, name)
	}
	return ErrUnexpected
}
