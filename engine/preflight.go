package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/manifest"
)

// Preflight check statuses.
const (
	PreflightOK   = "ok"
	PreflightWarn = "warn"
	PreflightFail = "fail"
	// PreflightSkip: StackHub could not tell (the host did not say, or the
	// bundle states no requirement).
	PreflightSkip = "skip"
)

// PreflightCheck is one thing checked before an install pulls anything.
type PreflightCheck struct {
	// Check names it: name, cpu, memory, disk, architecture, ports or
	// images.
	Check   string `json:"check"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// kind classifies a failure (ErrConflict, ErrUnavailable ...).
	kind error
}

// PreflightReport says whether an install can go ahead, and why not.
type PreflightReport struct {
	App  string `json:"app"`
	Name string `json:"name"`
	// OK is false when any check failed; warnings do not stop an install.
	OK     bool             `json:"ok"`
	Checks []PreflightCheck `json:"checks"`
	// Ports are the host ports the install would get now.
	Ports map[string]int `json:"ports,omitempty"`
}

// Failures returns the failed checks.
func (r *PreflightReport) Failures() []PreflightCheck {
	var out []PreflightCheck
	for _, c := range r.Checks {
		if c.Status == PreflightFail {
			out = append(out, c)
		}
	}
	return out
}

// Err is nil when the install may go ahead; otherwise a UserError naming
// every failed check with its hint. A single failure keeps its own message
// and kind; several are a conflict with the host.
func (r *PreflightReport) Err() error {
	fails := r.Failures()
	switch len(fails) {
	case 0:
		return nil
	case 1:
		kind := fails[0].kind
		if kind == nil {
			kind = ErrConflict
		}
		return &UserError{Msg: fails[0].Message, Hint: fails[0].Hint, Err: &PreflightError{Report: r, kind: kind}}
	}
	msgs := make([]string, 0, len(fails))
	hints := make([]string, 0, len(fails))
	for _, f := range fails {
		msgs = append(msgs, f.Message)
		if f.Hint != "" {
			hints = append(hints, f.Hint)
		}
	}
	return &UserError{Msg: fmt.Sprintf("cannot install %s: %s", r.Name, strings.Join(msgs, "; ")),
		Hint: strings.Join(hints, "; "), Err: &PreflightError{Report: r, kind: ErrConflict}}
}

// PreflightError carries the report of a refused install.
type PreflightError struct {
	Report *PreflightReport
	kind   error
}

func (e *PreflightError) Error() string { return "preflight refused the install of " + e.Report.Name }

// Unwrap returns the failure's kind (ErrConflict, ErrUnavailable ...).
func (e *PreflightError) Unwrap() error { return e.kind }

// Preflight checks what an install of opts would need — the name, the
// host's CPU, memory, disk and architecture against the app's catalog
// requirements, and free host ports — without installing or pulling
// anything. The report lists every check; Err says whether an install
// would be refused. It also asks whether the app's images are on the host
// or their registries answer (at most 5 s each), which only warns and
// which an install does not wait for.
func (e *Engine) Preflight(ctx context.Context, opts InstallOptions) (*PreflightReport, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.Parameters = maps.Clone(opts.Parameters)
	fsys, err := e.openSource(ctx, &opts)
	if err != nil {
		return nil, err
	}
	m, _, err := e.appBundle(fsys, opts.App, &opts.Parameters, manifest.ActionInstall)
	if err != nil {
		return nil, err
	}
	containers, err := e.deps.Docker.ProjectContainers(ctx, e.Project(opts.Name))
	if err != nil {
		return nil, fmt.Errorf("preflight %s: %w", opts.Name, err)
	}
	var published []PublishedPort
	if len(PortSpecs(m)) > 0 {
		if published, err = e.publishedPorts(ctx); err != nil {
			return nil, fmt.Errorf("preflight %s: list published ports: %w", opts.Name, err)
		}
	}
	r, err := e.preflight(ctx, opts, m, containers, published)
	if err != nil {
		return nil, err
	}
	r.Checks = append(r.Checks, e.imageCheck(ctx, composeImages(fsys, m), e.hostFacts(ctx).arch))
	return r, nil
}

// preflight runs the checks over facts the caller already read.
func (e *Engine) preflight(ctx context.Context, opts InstallOptions, m *manifest.Manifest, containers []ContainerState, published []PublishedPort) (*PreflightReport, error) {
	r := &PreflightReport{App: opts.App, Name: opts.Name}
	add := func(c PreflightCheck) { r.Checks = append(r.Checks, c) }

	// The name.
	existing, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, opts.Name)
	switch {
	case err == nil && existing.Status != StatusFailed && existing.Status != StatusUninstalled:
		add(PreflightCheck{Check: "name", Status: PreflightFail, kind: ErrConflict,
			Message: fmt.Sprintf("%s is already installed (status %s)", opts.Name, existing.Status),
			Hint:    fmt.Sprintf("uninstall it first, or install under another name (stackhub install %s --name %s-2)", opts.App, opts.Name)})
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("preflight %s: %w", opts.Name, err)
	case existing == nil && len(containers) > 0:
		add(PreflightCheck{Check: "name", Status: PreflightFail, kind: ErrConflict,
			Message: fmt.Sprintf("containers of project %s already exist (%s)", e.Project(opts.Name), containers[0].Name),
			Hint:    "remove them with docker rm -f, or install under another name"})
	default:
		add(PreflightCheck{Check: "name", Status: PreflightOK, Message: fmt.Sprintf("%s is free", opts.Name)})
	}

	// The host against the app's requirements.
	meta := catalog.MetaFrom(m.Custom, opts.App, m.Description)
	h := e.hostFacts(ctx)
	for _, c := range resourceChecks(meta, h) {
		add(c)
	}

	// Ports.
	specs := PortSpecs(m)
	ports, _, err := e.choosePorts(ctx, opts.Name, specs, nil, published)
	var ue *UserError
	switch {
	case errors.As(err, &ue):
		add(PreflightCheck{Check: "ports", Status: PreflightFail, Message: ue.Msg, Hint: ue.Hint, kind: kindOf(ue)})
	case err != nil:
		return nil, fmt.Errorf("preflight %s: %w", opts.Name, err)
	case len(specs) == 0:
		add(PreflightCheck{Check: "ports", Status: PreflightOK, Message: "the app publishes no ports"})
	default:
		r.Ports = ports
		parts := make([]string, 0, len(specs))
		for _, s := range specs {
			p := fmt.Sprintf("%s=%d", s.Name, ports[s.Name])
			if s.HostIP != "" {
				p += " on " + s.HostIP
			}
			parts = append(parts, p)
		}
		add(PreflightCheck{Check: "ports", Status: PreflightOK, Message: "free host ports: " + strings.Join(parts, ", ")})
	}
	r.OK = len(r.Failures()) == 0
	return r, nil
}

// hostFacts is what preflight knows of the host; zero means unknown.
type hostFacts struct {
	cpus               int
	memTotal, memAvail uint64
	diskFree           uint64
	diskPath           string
	arch               string
}

// hostFacts reads the Docker engine's view of the host (CPUs, memory,
// architecture, where volumes live) and the host's disk and memory use.
func (e *Engine) hostFacts(ctx context.Context) hostFacts {
	var h hostFacts
	info, err := e.deps.Docker.Info(ctx)
	if err == nil {
		h.cpus, h.arch, h.diskPath = info.NCPU, normalizeArch(info.Architecture), info.RootDir
		if info.MemTotal > 0 {
			h.memTotal = uint64(info.MemTotal)
		}
	}
	if h.arch == "" {
		h.arch = runtime.GOARCH
	}
	if h.diskPath == "" {
		h.diskPath = "/var/lib/docker"
	}
	if e.deps.Host == nil {
		return h
	}
	st, err := e.deps.Host.Sample(ctx)
	if err != nil || st == nil {
		return h
	}
	if st.MemoryTotal > 0 {
		if h.memTotal == 0 {
			h.memTotal = st.MemoryTotal
		}
		if st.MemoryTotal > st.MemoryUsed {
			h.memAvail = st.MemoryTotal - st.MemoryUsed
		}
	}
	// The disk holding Docker's data: the longest mount point above it.
	best := -1
	for _, d := range st.Disks {
		if d.Total > 0 && within(h.diskPath, d.Mount) && len(d.Mount) > best {
			best, h.diskFree = len(d.Mount), d.Total-min(d.Used, d.Total)
		}
	}
	return h
}

// within reports whether path is mount or below it.
func within(path, mount string) bool {
	rel, err := filepath.Rel(mount, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// normalizeArch maps uname -m names to Go/OCI architecture names.
func normalizeArch(a string) string {
	switch a {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "armv7l", "armv6l", "armhf", "arm":
		return "arm"
	case "i386", "i686", "386":
		return "386"
	}
	return a
}

func mb(b uint64) uint64 { return b >> 20 }

// resourceChecks compares the app's requirements with the host.
func resourceChecks(meta catalog.Meta, h hostFacts) []PreflightCheck {
	req := meta.Requirements
	var out []PreflightCheck
	switch {
	case req.CPU <= 0:
		out = append(out, PreflightCheck{Check: "cpu", Status: PreflightSkip, Message: "the app states no CPU requirement"})
	case h.cpus == 0:
		out = append(out, PreflightCheck{Check: "cpu", Status: PreflightSkip, Message: "the host's CPU count is unknown"})
	case float64(h.cpus) < req.CPU:
		out = append(out, PreflightCheck{Check: "cpu", Status: PreflightWarn,
			Message: fmt.Sprintf("the app wants %g CPU cores, the host has %d", req.CPU, h.cpus),
			Hint:    "it will run, but slowly"})
	default:
		out = append(out, PreflightCheck{Check: "cpu", Status: PreflightOK, Message: fmt.Sprintf("%d CPU cores (the app wants %g)", h.cpus, req.CPU)})
	}

	need := uint64(req.MemoryMB) << 20
	switch {
	case req.MemoryMB <= 0:
		out = append(out, PreflightCheck{Check: "memory", Status: PreflightSkip, Message: "the app states no memory requirement"})
	case h.memTotal == 0:
		out = append(out, PreflightCheck{Check: "memory", Status: PreflightSkip, Message: "the host's memory is unknown"})
	case h.memTotal < need:
		out = append(out, PreflightCheck{Check: "memory", Status: PreflightFail, kind: ErrConflict,
			Message: fmt.Sprintf("the app needs %d MB of memory, the host has %d MB in all", req.MemoryMB, mb(h.memTotal)),
			Hint:    "install it on a host with more memory (or give Docker's VM more)"})
	case h.memAvail > 0 && h.memAvail < need:
		out = append(out, PreflightCheck{Check: "memory", Status: PreflightWarn,
			Message: fmt.Sprintf("the app needs %d MB of memory, %d MB are free now", req.MemoryMB, mb(h.memAvail)),
			Hint:    "stop or uninstall apps you do not need"})
	default:
		out = append(out, PreflightCheck{Check: "memory", Status: PreflightOK,
			Message: fmt.Sprintf("%d MB of memory, %d MB free (the app needs %d MB)", mb(h.memTotal), mb(h.memAvail), req.MemoryMB)})
	}

	need = uint64(req.DiskMB) << 20
	switch {
	case req.DiskMB <= 0:
		out = append(out, PreflightCheck{Check: "disk", Status: PreflightSkip, Message: "the app states no disk requirement"})
	case h.diskFree == 0:
		out = append(out, PreflightCheck{Check: "disk", Status: PreflightSkip, Message: "the free disk space at " + h.diskPath + " is unknown"})
	case h.diskFree < need:
		out = append(out, PreflightCheck{Check: "disk", Status: PreflightFail, kind: ErrConflict,
			Message: fmt.Sprintf("the app needs %d MB of disk, %s has %d MB free", req.DiskMB, h.diskPath, mb(h.diskFree)),
			Hint:    "free disk space (docker system prune removes unused images) or grow the disk"})
	default:
		out = append(out, PreflightCheck{Check: "disk", Status: PreflightOK,
			Message: fmt.Sprintf("%d MB free at %s (the app needs %d MB)", mb(h.diskFree), h.diskPath, req.DiskMB)})
	}

	switch {
	case len(meta.Architectures) == 0:
		out = append(out, PreflightCheck{Check: "architecture", Status: PreflightSkip, Message: "the app does not say which architectures its images support"})
	case !slices.Contains(meta.Architectures, h.arch):
		out = append(out, PreflightCheck{Check: "architecture", Status: PreflightFail, kind: ErrConflict,
			Message: fmt.Sprintf("the app's images are built for %s, the host is %s", strings.Join(meta.Architectures, ", "), h.arch),
			Hint:    "install it on a " + strings.Join(meta.Architectures, " or ") + " host"})
	default:
		out = append(out, PreflightCheck{Check: "architecture", Status: PreflightOK, Message: "the app's images exist for " + h.arch})
	}
	return out
}

// RemoteImage is what an image's registry says of it.
type RemoteImage struct {
	Ref string
	// Architectures the image exists for (amd64, arm64 ...); empty when
	// the registry did not say.
	Architectures []string
}

// RemoteImager asks registries about images without pulling them. The
// Docker adapter implements it; preflight skips its image check without.
type RemoteImager interface {
	RemoteImage(ctx context.Context, ref string) (RemoteImage, error)
}

// remoteImageTimeout bounds each registry question of the image check.
const remoteImageTimeout = 5 * time.Second

// composeImages lists the images the install steps' compose files name,
// sorted; images whose name is interpolated are left out.
func composeImages(fsys fs.FS, m *manifest.Manifest) []string {
	set := map[string]bool{}
	for _, s := range m.Actions[manifest.ActionInstall] {
		if s.Mixin != "stackhub" {
			continue
		}
		var files []string
		switch c := s.Data["compose"].(type) {
		case string:
			files = append(files, c)
		case []any:
			for _, f := range c {
				files = append(files, fmt.Sprint(f))
			}
		}
		for _, f := range files {
			data, err := fs.ReadFile(fsys, path.Clean(f))
			if err != nil {
				continue
			}
			var doc struct {
				Services map[string]struct {
					Image string `yaml:"image"`
				} `yaml:"services"`
			}
			if yaml.Unmarshal(data, &doc) != nil {
				continue
			}
			for _, svc := range doc.Services {
				if svc.Image != "" && !strings.Contains(svc.Image, "$") {
					set[svc.Image] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// imageCheck says whether the app's images are on this host, and for those
// that are not, whether their registry answers and has them for the host's
// architecture. It only warns: the install itself names missing images
// precisely when it tries to pull them.
func (e *Engine) imageCheck(ctx context.Context, images []string, arch string) PreflightCheck {
	var missing []string
	for _, ref := range images {
		ok, err := e.deps.Docker.ImageExists(ctx, ref)
		if err != nil {
			return PreflightCheck{Check: "images", Status: PreflightSkip, Message: "cannot list the host's images: " + err.Error()}
		}
		if !ok {
			missing = append(missing, ref)
		}
	}
	if len(missing) == 0 {
		return PreflightCheck{Check: "images", Status: PreflightOK, Message: fmt.Sprintf("all %d images are on this host", len(images))}
	}
	ri, ok := e.deps.Docker.(RemoteImager)
	if !ok {
		return PreflightCheck{Check: "images", Status: PreflightSkip, Message: "to be pulled: " + strings.Join(missing, ", ")}
	}
	var unreachable, wrongArch []string
	for _, ref := range missing {
		rctx, cancel := context.WithTimeout(ctx, remoteImageTimeout)
		img, err := ri.RemoteImage(rctx, ref)
		cancel()
		switch {
		case err != nil:
			unreachable = append(unreachable, ref)
		case len(img.Architectures) > 0 && !slices.Contains(img.Architectures, arch):
			wrongArch = append(wrongArch, fmt.Sprintf("%s (%s)", ref, strings.Join(img.Architectures, ", ")))
		}
	}
	switch {
	case len(unreachable) > 0:
		return PreflightCheck{Check: "images", Status: PreflightWarn,
			Message: "not on this host, and their registry does not answer: " + strings.Join(unreachable, ", "),
			Hint:    "load them on this host (docker load -i image.tar), or make a registry or mirror reachable"}
	case len(wrongArch) > 0:
		return PreflightCheck{Check: "images", Status: PreflightWarn,
			Message: "no " + arch + " build of: " + strings.Join(wrongArch, "; "),
			Hint:    "install it on a host of one of those architectures"}
	}
	return PreflightCheck{Check: "images", Status: PreflightOK, Message: "to be pulled: " + strings.Join(missing, ", ")}
}
