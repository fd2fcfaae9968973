package compose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
)

// Plan is everything a compose project needs, as Engine API requests.
type Plan struct {
	Options  Options
	Project  *types.Project
	Order    []string // services, dependencies first
	Networks []NetworkSpec
	Volumes  []VolumeSpec
	Services map[string]*ServiceSpec
}

// NetworkSpec is one network of the project.
type NetworkSpec struct {
	Key      string
	Name     string
	External bool
	Create   client.NetworkCreateOptions
}

// VolumeSpec is one named volume of the project.
type VolumeSpec struct {
	Key      string
	Name     string
	External bool
	Create   client.VolumeCreateOptions
}

// Attachment connects a container to a further network after creation
// (the create request carries only one, for old API versions).
type Attachment struct {
	Network  string
	Endpoint *network.EndpointSettings
}

// ServiceSpec is the container of one service.
type ServiceSpec struct {
	Service   string
	Name      string
	Create    client.ContainerCreateOptions
	Attach    []Attachment
	DependsOn map[string]string // service -> condition
	Hash      string
}

// ContainerName returns the container name of a service in the plan.
func (p *Plan) ContainerName(service string) string { return p.Options.ContainerName(service) }

// NewPlan loads the compose files, makes sure every image is present
// (pulling what is missing) and turns the project into create requests.
// Progress goes to out.
func NewPlan(ctx context.Context, d Docker, o Options, out io.Writer) (*Plan, error) {
	p, err := Load(ctx, &o)
	if err != nil {
		return nil, err
	}
	ids, err := EnsureImagesVia(ctx, d, p, out, o.Mirror)
	if err != nil {
		return nil, err
	}
	return BuildPlan(o, p, ids)
}

// Images returns the images the project's services use, sorted.
func Images(p *types.Project) []string {
	set := map[string]bool{}
	for _, s := range p.Services {
		if s.Image != "" {
			set[s.Image] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// EnsureImages returns the image ID of every image the project uses,
// pulling images that are not present locally.
func EnsureImages(ctx context.Context, d Docker, p *types.Project, out io.Writer) (map[string]string, error) {
	return EnsureImagesVia(ctx, d, p, out, nil)
}

// EnsureImagesVia is EnsureImages pulling missing images through mirror
// first (nil: no mirror); an image pulled from a mirror is tagged with its
// own name, so the containers and labels show the name the compose file
// gives.
func EnsureImagesVia(ctx context.Context, d Docker, p *types.Project, out io.Writer, mirror func(string) (string, bool)) (map[string]string, error) {
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		if s.Image == "" {
			return nil, &UserError{Msg: fmt.Sprintf("service %q has no image", name),
				HintMsg: "StackHub deploys prebuilt images: set image: (build: is not supported inside a bundle)", Err: ErrUnsupported}
		}
	}
	ids := map[string]string{}
	// Try every image before giving up, so that one answer names all the
	// images the host lacks.
	var missing []string
	var perrs []error
	for _, ref := range Images(p) {
		res, err := d.ImageInspect(ctx, ref)
		if err == nil {
			ids[ref] = res.ID
			continue
		}
		if !cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("inspect image %s: %w", ref, err)
		}
		if perr := pullVia(ctx, d, ref, out, mirror); perr != nil {
			missing = append(missing, ref)
			perrs = append(perrs, perr)
			continue
		}
		res, err = d.ImageInspect(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("inspect image %s after pull: %w", ref, err)
		}
		ids[ref] = res.ID
	}
	if len(missing) > 0 {
		return nil, missingImagesError(missing, perrs)
	}
	return ids, nil
}

// missingImagesError names every image that is neither present nor
// pullable, with the first pull error as the reason.
func missingImagesError(missing []string, perrs []error) error {
	what, it, pulls := "image "+missing[0]+" is", "it", "docker pull "+missing[0]
	if len(missing) > 1 {
		what, it, pulls = "images "+strings.Join(missing, ", ")+" are", "them", "docker pull each"
	}
	return &UserError{
		Msg: fmt.Sprintf("%s not available locally and could not be pulled: %v", what, perrs[0]),
		HintMsg: fmt.Sprintf("load %s on this host first (docker load -i image.tar, or %s from a reachable registry or mirror)",
			it, pulls),
		Err: fmt.Errorf("%w: %w", ErrImage, errors.Join(perrs...)),
	}
}

// pullVia pulls ref through its mirror, then tags it as ref; when the
// mirror fails (or there is none) it pulls ref itself.
func pullVia(ctx context.Context, d Docker, ref string, out io.Writer, mirror func(string) (string, bool)) error {
	if mirror != nil {
		if via, ok := mirror(ref); ok {
			fmt.Fprintf(out, "Pulling image %s from the mirror %s\n", ref, via)
			merr := pull(ctx, d, via)
			if merr == nil {
				if _, err := d.ImageTag(ctx, client.ImageTagOptions{Source: via, Target: ref}); err != nil {
					return fmt.Errorf("tag %s as %s: %w", via, ref, err)
				}
				return nil
			}
			fmt.Fprintf(out, "Pulling image %s from the mirror failed (%v); trying its own registry\n", ref, merr)
			if err := pull(ctx, d, ref); err != nil {
				return fmt.Errorf("mirror %s: %w; own registry: %w", via, merr, err)
			}
			return nil
		}
	}
	fmt.Fprintf(out, "Pulling image %s\n", ref)
	return pull(ctx, d, ref)
}

func pull(ctx context.Context, d Docker, ref string) error {
	resp, err := d.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

// BuildPlan turns a loaded project into create requests. ids maps image
// references to image IDs (recorded in labels and in the config hash, so
// that a retagged image recreates the container on upgrade).
func BuildPlan(o Options, p *types.Project, ids map[string]string) (*Plan, error) {
	if o.Main == "" {
		return nil, fmt.Errorf("build plan for %s: no main service (load the project with Load first)", o.Project)
	}
	ord, err := order(p)
	if err != nil {
		return nil, &UserError{Msg: err.Error(), HintMsg: "fix depends_on in the compose file", Err: ErrUnsupported}
	}
	plan := &Plan{Options: o, Project: p, Order: ord, Services: map[string]*ServiceSpec{}}
	common := func(extra map[string]string) map[string]string {
		l := map[string]string{
			contract.LabelProject:      o.Project,
			LabelVersion:               ComposeVersion,
			contract.LabelManaged:      "true",
			contract.LabelInstallation: o.Installation,
		}
		maps.Copy(l, extra)
		return l
	}
	usedNets, usedVols := map[string]bool{}, map[string]bool{}
	for _, s := range p.Services {
		if s.NetworkMode == "" {
			for n := range s.Networks {
				usedNets[n] = true
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				usedVols[v.Source] = true
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(p.Networks)) {
		if !usedNets[key] {
			continue
		}
		n := p.Networks[key]
		labels := common(map[string]string{LabelNetwork: key})
		maps.Copy(labels, n.Labels)
		spec := NetworkSpec{Key: key, Name: n.Name, External: bool(n.External), Create: client.NetworkCreateOptions{
			Driver: n.Driver, Options: n.DriverOpts, Internal: n.Internal, Attachable: n.Attachable,
			EnableIPv4: n.EnableIPv4, EnableIPv6: n.EnableIPv6, Labels: labels,
		}}
		if spec.Create.Driver == "" {
			spec.Create.Driver = "bridge"
		}
		if len(n.Ipam.Config) > 0 || n.Ipam.Driver != "" {
			ipam := &network.IPAM{Driver: n.Ipam.Driver, Options: n.Ipam.Options}
			for _, pool := range n.Ipam.Config {
				cfg := network.IPAMConfig{AuxAddress: map[string]netip.Addr{}}
				if pool.Subnet != "" {
					if cfg.Subnet, err = netip.ParsePrefix(pool.Subnet); err != nil {
						return nil, fmt.Errorf("network %q: subnet %q: %w", key, pool.Subnet, err)
					}
				}
				if pool.Gateway != "" {
					if cfg.Gateway, err = netip.ParseAddr(pool.Gateway); err != nil {
						return nil, fmt.Errorf("network %q: gateway %q: %w", key, pool.Gateway, err)
					}
				}
				if pool.IPRange != "" {
					if cfg.IPRange, err = netip.ParsePrefix(pool.IPRange); err != nil {
						return nil, fmt.Errorf("network %q: ip_range %q: %w", key, pool.IPRange, err)
					}
				}
				ipam.Config = append(ipam.Config, cfg)
			}
			spec.Create.IPAM = ipam
		}
		plan.Networks = append(plan.Networks, spec)
	}
	for _, key := range slices.Sorted(maps.Keys(p.Volumes)) {
		if !usedVols[key] {
			continue
		}
		v := p.Volumes[key]
		labels := common(map[string]string{LabelVolume: key})
		maps.Copy(labels, v.Labels)
		plan.Volumes = append(plan.Volumes, VolumeSpec{Key: key, Name: v.Name, External: bool(v.External),
			Create: client.VolumeCreateOptions{Name: v.Name, Driver: v.Driver, DriverOpts: v.DriverOpts, Labels: labels}})
	}
	for _, name := range ord {
		spec, err := serviceSpec(&o, p, p.Services[name], ids, common(nil))
		if err != nil {
			return nil, err
		}
		plan.Services[name] = spec
	}
	return plan, nil
}

func serviceSpec(o *Options, p *types.Project, s types.ServiceConfig, ids map[string]string, labels map[string]string) (*ServiceSpec, error) {
	name := o.ContainerName(s.Name)
	unsupported := func(what string) error {
		return &UserError{Msg: fmt.Sprintf("service %q uses %s, which StackHub does not support", s.Name, what),
			HintMsg: "remove it from the compose file", Err: ErrUnsupported}
	}
	if s.Scale != nil && *s.Scale > 1 || s.Deploy != nil && s.Deploy.Replicas != nil && *s.Deploy.Replicas > 1 {
		return nil, unsupported("more than one replica")
	}
	if len(s.Secrets) > 0 || len(s.Configs) > 0 {
		return nil, unsupported("compose secrets or configs (use the stackhub step's secrets: and environment variables)")
	}
	spec := &ServiceSpec{Service: s.Name, Name: name, DependsOn: map[string]string{}}
	var deps []string
	for _, d := range slices.Sorted(maps.Keys(s.DependsOn)) {
		cond := s.DependsOn[d].Condition
		if cond == "" {
			cond = types.ServiceConditionStarted
		}
		spec.DependsOn[d] = cond
		deps = append(deps, fmt.Sprintf("%s:%s:%t", d, cond, s.DependsOn[d].Restart))
	}

	maps.Copy(labels, s.Labels)
	maps.Copy(labels, map[string]string{
		contract.LabelService: s.Name,
		LabelNumber:           "1",
		LabelOneoff:           "False",
		LabelDependsOn:        strings.Join(deps, ","),
		LabelImage:            ids[s.Image],
	})
	if s.Name == o.Main {
		labels[contract.LabelMain] = "true"
	}

	cfg := &container.Config{
		Image:        s.Image,
		Hostname:     s.Hostname,
		Domainname:   s.DomainName,
		User:         s.User,
		WorkingDir:   s.WorkingDir,
		Tty:          s.Tty,
		OpenStdin:    s.StdinOpen,
		StopSignal:   s.StopSignal,
		Labels:       labels,
		ExposedPorts: network.PortSet{},
	}
	if s.Command != nil {
		cfg.Cmd = []string(s.Command)
	}
	if s.Entrypoint != nil {
		cfg.Entrypoint = []string(s.Entrypoint)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		if v := s.Environment[k]; v != nil {
			cfg.Env = append(cfg.Env, k+"="+*v)
		}
	}
	if s.StopGracePeriod != nil {
		secs := int(time.Duration(*s.StopGracePeriod).Seconds())
		cfg.StopTimeout = &secs
	}
	if hc := s.HealthCheck; hc != nil {
		h := &container.HealthConfig{Test: []string(hc.Test)}
		if hc.Disable {
			h.Test = []string{"NONE"}
		}
		if hc.Interval != nil {
			h.Interval = time.Duration(*hc.Interval)
		}
		if hc.Timeout != nil {
			h.Timeout = time.Duration(*hc.Timeout)
		}
		if hc.StartPeriod != nil {
			h.StartPeriod = time.Duration(*hc.StartPeriod)
		}
		if hc.Retries != nil {
			h.Retries = int(*hc.Retries)
		}
		cfg.Healthcheck = h
	}

	hc := &container.HostConfig{
		PortBindings:   network.PortMap{},
		Privileged:     s.Privileged,
		ReadonlyRootfs: s.ReadOnly,
		CapAdd:         s.CapAdd,
		CapDrop:        s.CapDrop,
		DNS:            dnsAddrs(s.DNS),
		DNSSearch:      s.DNSSearch,
		DNSOptions:     s.DNSOpts,
		SecurityOpt:    s.SecurityOpt,
		GroupAdd:       s.GroupAdd,
		ShmSize:        int64(s.ShmSize),
		Init:           s.Init,
		Sysctls:        map[string]string(s.Sysctls),
	}
	if len(s.ExtraHosts) > 0 {
		hc.ExtraHosts = s.ExtraHosts.AsList(":")
		slices.Sort(hc.ExtraHosts)
	}
	if len(s.Tmpfs) > 0 {
		hc.Tmpfs = map[string]string{}
		for _, t := range s.Tmpfs {
			dst, opts, _ := strings.Cut(t, ":")
			hc.Tmpfs[dst] = opts
		}
	}
	hc.Memory = int64(s.MemLimit)
	hc.NanoCPUs = int64(float64(s.CPUS) * 1e9)
	hc.PidsLimit = nonZero(s.PidsLimit)
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		lim := s.Deploy.Resources.Limits
		if lim.MemoryBytes > 0 {
			hc.Memory = int64(lim.MemoryBytes)
		}
		if lim.NanoCPUs > 0 {
			hc.NanoCPUs = int64(float64(lim.NanoCPUs) * 1e9)
		}
	}
	if s.Logging != nil {
		hc.LogConfig = container.LogConfig{Type: s.Logging.Driver, Config: s.Logging.Options}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Ulimits)) {
		u := s.Ulimits[k]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: k, Soft: soft, Hard: hard})
	}
	rp, err := restartPolicy(s.Restart)
	if err != nil {
		return nil, &UserError{Msg: fmt.Sprintf("service %q: %v", s.Name, err), HintMsg: "use no, always, on-failure[:N] or unless-stopped"}
	}
	hc.RestartPolicy = rp

	// Mounts.
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeVolume:
			m := mount.Mount{Type: mount.TypeVolume, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Source != "" {
				vol, ok := p.Volumes[v.Source]
				if !ok {
					return nil, fmt.Errorf("service %q mounts undefined volume %q", s.Name, v.Source)
				}
				m.Source = vol.Name
			}
			if v.Volume != nil && (v.Volume.NoCopy || v.Volume.Subpath != "") {
				m.VolumeOptions = &mount.VolumeOptions{NoCopy: v.Volume.NoCopy, Subpath: v.Volume.Subpath}
			}
			hc.Mounts = append(hc.Mounts, m)
		case types.VolumeTypeBind:
			b := v.Source + ":" + v.Target
			if v.ReadOnly {
				b += ":ro"
			}
			hc.Binds = append(hc.Binds, b)
		case types.VolumeTypeTmpfs:
			m := mount.Mount{Type: mount.TypeTmpfs, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Tmpfs != nil && v.Tmpfs.Size > 0 {
				m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
			}
			hc.Mounts = append(hc.Mounts, m)
		default:
			return nil, unsupported("a volume of type " + v.Type)
		}
	}

	// Ports: declared ones replace the compose file's mapping of the same
	// target and protocol.
	declared := map[string]Port{}
	for _, dp := range o.Ports {
		if dp.Service == s.Name {
			declared[fmt.Sprintf("%d/%s", dp.Target, proto(dp.Protocol))] = dp
		}
	}
	for _, sp := range s.Ports {
		key := fmt.Sprintf("%d/%s", sp.Target, proto(sp.Protocol))
		if _, ok := declared[key]; ok {
			continue
		}
		port, err := network.ParsePort(key)
		if err != nil {
			return nil, fmt.Errorf("service %q: port %s: %w", s.Name, key, err)
		}
		b := network.PortBinding{HostPort: sp.Published}
		if sp.HostIP != "" {
			if b.HostIP, err = netip.ParseAddr(sp.HostIP); err != nil {
				return nil, fmt.Errorf("service %q: host_ip %q: %w", s.Name, sp.HostIP, err)
			}
		}
		hc.PortBindings[port] = append(hc.PortBindings[port], b)
		cfg.ExposedPorts[port] = struct{}{}
	}
	for _, key := range slices.Sorted(maps.Keys(declared)) {
		dp := declared[key]
		port, err := network.ParsePort(key)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", dp.Name, err)
		}
		if dp.Host <= 0 {
			return nil, fmt.Errorf("port %q has no host port assigned", dp.Name)
		}
		b := network.PortBinding{HostPort: strconv.Itoa(dp.Host)}
		if dp.HostIP != "" {
			if b.HostIP, err = netip.ParseAddr(dp.HostIP); err != nil {
				return nil, fmt.Errorf("port %q: host IP %q: %w", dp.Name, dp.HostIP, err)
			}
		}
		hc.PortBindings[port] = []network.PortBinding{b}
		cfg.ExposedPorts[port] = struct{}{}
		labels[contract.LabelPortPrefix+dp.Name] = strconv.Itoa(dp.Host)
	}
	for _, e := range s.Expose {
		if !strings.Contains(e, "/") {
			e += "/tcp"
		}
		if port, err := network.ParsePort(e); err == nil {
			cfg.ExposedPorts[port] = struct{}{}
		}
	}

	// Networks.
	var netCfg *network.NetworkingConfig
	switch mode := s.NetworkMode; {
	case mode == "":
		keys := slices.Collect(maps.Keys(s.Networks))
		slices.SortFunc(keys, func(a, b string) int {
			pa, pb := netPriority(s.Networks[a]), netPriority(s.Networks[b])
			if pa != pb {
				return pb - pa
			}
			return strings.Compare(a, b)
		})
		for i, key := range keys {
			n, ok := p.Networks[key]
			if !ok {
				return nil, fmt.Errorf("service %q uses undefined network %q", s.Name, key)
			}
			ep := &network.EndpointSettings{}
			sn := s.Networks[key]
			if sn == nil || sn.ServiceNameAliasEnabled() {
				ep.Aliases = append(ep.Aliases, s.Name)
			}
			if sn != nil {
				ep.Aliases = append(ep.Aliases, sn.Aliases...)
				if sn.Ipv4Address != "" || sn.Ipv6Address != "" {
					ep.IPAMConfig = &network.EndpointIPAMConfig{}
					if a, err := netip.ParseAddr(sn.Ipv4Address); err == nil {
						ep.IPAMConfig.IPv4Address = a
					}
					if a, err := netip.ParseAddr(sn.Ipv6Address); err == nil {
						ep.IPAMConfig.IPv6Address = a
					}
				}
			}
			if i == 0 {
				hc.NetworkMode = container.NetworkMode(n.Name)
				netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{n.Name: ep}}
				continue
			}
			spec.Attach = append(spec.Attach, Attachment{Network: n.Name, Endpoint: ep})
		}
	case strings.HasPrefix(mode, types.ServicePrefix):
		hc.NetworkMode = container.NetworkMode("container:" + o.ContainerName(strings.TrimPrefix(mode, types.ServicePrefix)))
	default:
		hc.NetworkMode = container.NetworkMode(mode)
	}

	hash, err := configHash(cfg, hc, netCfg, spec.Attach)
	if err != nil {
		return nil, err
	}
	labels[LabelConfigHash] = hash
	// Paths are labelled after hashing: moving the bundle directory does
	// not recreate containers.
	labels[LabelWorkingDir] = p.WorkingDir
	labels[LabelConfigFiles] = strings.Join(o.files(), ",")
	spec.Hash = hash
	spec.Create = client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc, NetworkingConfig: netCfg}
	return spec, nil
}

func configHash(cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, attach []Attachment) (string, error) {
	b, err := json.Marshal(struct {
		Config     *container.Config
		HostConfig *container.HostConfig
		Networking *network.NetworkingConfig
		Attach     []Attachment
	}{cfg, hc, nc, attach})
	if err != nil {
		return "", fmt.Errorf("hash container config: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func netPriority(n *types.ServiceNetworkConfig) int {
	if n == nil {
		return 0
	}
	return n.Priority
}

func proto(p string) string {
	if strings.EqualFold(p, "udp") {
		return "udp"
	}
	return "tcp"
}

func nonZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func dnsAddrs(in []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range in {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// restartPolicy maps compose's restart: to Docker's. An empty value becomes
// unless-stopped, so that installed apps come back after a host reboot.
func restartPolicy(s string) (container.RestartPolicy, error) {
	name, count, _ := strings.Cut(s, ":")
	switch name {
	case "":
		return container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}, nil
	case "no", "always", "unless-stopped":
		return container.RestartPolicy{Name: container.RestartPolicyMode(name)}, nil
	case "on-failure":
		rp := container.RestartPolicy{Name: container.RestartPolicyOnFailure}
		if count != "" {
			n, err := strconv.Atoi(count)
			if err != nil {
				return rp, fmt.Errorf("restart %q: %w", s, err)
			}
			rp.MaximumRetryCount = n
		}
		return rp, nil
	}
	return container.RestartPolicy{}, fmt.Errorf("unknown restart policy %q", s)
}
