// Package stack deploys a bundle's compose project as a Docker Swarm stack,
// the stackhub mixin's second deploy target beside mixin/compose: the
// project (loaded with compose-go, as compose does) becomes one Engine API
// swarm.ServiceSpec per service and one overlay network per project
// network. Swarm then owns what compose does by hand: scheduling on the
// cluster's nodes, restarts, health-gated rolling updates and their
// rollback (update_config failure_action rollback). Stop scales services to
// 0 and start scales them back. The package talks to Docker only through
// the narrow [Docker] interface and imports nothing from the engine or the
// mixin.
package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose"
)

// Defaults of a service's rolling update when the compose file's deploy:
// says nothing: one task at a time, the old task stopped first (a task
// holding a volume must let go of it), each new task watched for Monitor
// after it runs, and any failure rolled back by swarm.
const (
	DefaultMonitor = 5 * time.Second
)

// Plan is a compose project as swarm requests.
type Plan struct {
	Project  string
	Networks []NetworkSpec
	Secrets  []SecretSpec
	Services []ServiceSpec
}

// SecretSpec is one swarm secret of the stack: a compose secret with its
// value. Swarm secrets cannot change, so the name carries a digest of the
// value: a changed value is a new secret, which the services are updated
// to, and the old one goes once the deployment succeeded (see Prune).
type SecretSpec struct {
	Key  string
	Spec swarm.SecretSpec
}

// LabelSecret labels a swarm secret with its compose name.
const LabelSecret = "sh.stackhub.secret"

// maxSecretName is the longest name swarm accepts for a secret.
const maxSecretName = 64

// NetworkSpec is one overlay network of the stack.
type NetworkSpec struct {
	Key    string
	Name   string
	Create client.NetworkCreateOptions
}

// ServiceSpec is one swarm service: a compose service with its name.
type ServiceSpec struct {
	Service string
	Spec    swarm.ServiceSpec
}

// ConvertOptions tune Convert.
type ConvertOptions struct {
	// HostPorts publishes the declared ports in host mode, on the node a
	// task runs on, and resolves services by DNS round robin: neither
	// needs IPVS, which the routing mesh (ingress ports, virtual IPs)
	// does. Default: ingress.
	HostPorts bool
}

// Convert turns a loaded project into a Plan. o is what compose.Load was
// given (project name, installation, main service, the declared ports with
// their assigned host ports).
func Convert(o compose.Options, p *types.Project, co ConvertOptions) (*Plan, error) {
	plan := &Plan{Project: o.Project}
	common := func(extra map[string]string) map[string]string {
		l := map[string]string{
			contract.LabelProject:      o.Project,
			contract.LabelStack:        o.Project,
			contract.LabelManaged:      "true",
			contract.LabelInstallation: o.Installation,
			contract.LabelTarget:       contract.TargetSwarm,
		}
		maps.Copy(l, extra)
		return l
	}
	used := map[string]bool{}
	for _, s := range p.Services {
		for n := range s.Networks {
			used[n] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(p.Networks)) {
		n := p.Networks[key]
		if !used[key] || bool(n.External) {
			continue
		}
		labels := common(map[string]string{compose.LabelNetwork: key})
		maps.Copy(labels, n.Labels)
		plan.Networks = append(plan.Networks, NetworkSpec{Key: key, Name: n.Name, Create: client.NetworkCreateOptions{
			Driver: "overlay", Attachable: true, Internal: n.Internal, Labels: labels, Options: n.DriverOpts,
		}})
	}
	secretNames := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		for _, ref := range p.Services[name].Secrets {
			if _, ok := secretNames[ref.Source]; ok {
				continue
			}
			sec, err := secretSpec(&o, p, p.Services[name], ref.Source, common)
			if err != nil {
				return nil, err
			}
			secretNames[ref.Source] = sec.Spec.Name
			plan.Secrets = append(plan.Secrets, sec)
		}
	}
	slices.SortFunc(plan.Secrets, func(a, b SecretSpec) int { return strings.Compare(a.Key, b.Key) })
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		spec, err := serviceSpec(&o, p, p.Services[name], common, co, secretNames)
		if err != nil {
			return nil, err
		}
		plan.Services = append(plan.Services, ServiceSpec{Service: name, Spec: spec})
	}
	return plan, nil
}

// secretSpec reads a compose secret's value: a file of the bundle
// (file:), an interpolation variable (environment:, which is how a
// secret StackHub generates reaches the compose file) or content:.
func secretSpec(o *compose.Options, p *types.Project, s types.ServiceConfig, key string, common func(map[string]string) map[string]string) (SecretSpec, error) {
	sc, ok := p.Secrets[key]
	if !ok {
		return SecretSpec{}, &compose.UserError{Msg: fmt.Sprintf("service %q uses undefined secret %q", s.Name, key),
			HintMsg: "declare it under the compose file's top-level secrets:"}
	}
	bad := func(msg, hint string) error {
		return &compose.UserError{Msg: fmt.Sprintf("secret %q: %s", key, msg), HintMsg: hint, Err: compose.ErrUnsupported}
	}
	var data []byte
	switch {
	case bool(sc.External) || sc.Driver != "" || sc.TemplateDriver != "":
		return SecretSpec{}, bad("external secrets and secret drivers are not supported",
			"give the secret a file: of the bundle, or environment: naming a variable of the stackhub step (a generated secret's is its name in capitals)")
	case sc.File != "":
		rel, err := filepath.Rel(o.WorkingDir, sc.File)
		if o.WorkingDir == "" || err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return SecretSpec{}, bad("file "+sc.File+" is outside the bundle", "name a file of the bundle, relative to the compose file")
		}
		if data, err = os.ReadFile(sc.File); err != nil {
			return SecretSpec{}, bad(fmt.Sprintf("read %s: %v", rel, err), "add the file to the bundle")
		}
	case sc.Environment != "":
		v, ok := p.Environment[sc.Environment]
		if !ok {
			return SecretSpec{}, bad("variable "+sc.Environment+" is not set",
				"declare it in the stackhub step: secrets: (generated, the name in capitals) or env:")
		}
		data = []byte(v)
	case sc.Content != "":
		data = []byte(sc.Content)
	default:
		return SecretSpec{}, bad("no file:, environment: or content:", "say where its value comes from")
	}
	sum := sha256.Sum256(append([]byte(key+"\x00"), data...))
	digest := hex.EncodeToString(sum[:])[:12]
	name := o.Project + "_" + key
	if len(name)+1+len(digest) > maxSecretName {
		name = name[:maxSecretName-1-len(digest)]
	}
	labels := common(map[string]string{LabelSecret: key})
	maps.Copy(labels, sc.Labels)
	return SecretSpec{Key: key, Spec: swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: name + "_" + digest, Labels: labels}, Data: data,
	}}, nil
}

func unsupported(s types.ServiceConfig, what string) error {
	return &compose.UserError{Msg: fmt.Sprintf("service %q uses %s, which StackHub's swarm target does not support", s.Name, what),
		HintMsg: "remove it from the compose file, or install with --target compose", Err: compose.ErrUnsupported}
}

func serviceSpec(o *compose.Options, p *types.Project, s types.ServiceConfig, common func(map[string]string) map[string]string,
	co ConvertOptions, secretNames map[string]string,
) (swarm.ServiceSpec, error) {
	var zero swarm.ServiceSpec
	if s.Image == "" {
		return zero, unsupported(s, "build: without image:")
	}
	if s.Privileged || s.NetworkMode != "" || len(s.Devices) > 0 {
		return zero, unsupported(s, "privileged mode, network_mode or devices")
	}
	if len(s.Configs) > 0 {
		return zero, unsupported(s, "compose configs (use a volume, or secrets:)")
	}
	name := o.ContainerName(s.Name)
	svcLabels := common(map[string]string{contract.LabelService: s.Name})
	cLabels := common(map[string]string{contract.LabelService: s.Name})
	maps.Copy(cLabels, s.Labels)
	if s.Name == o.Main {
		cLabels[contract.LabelMain] = "true"
		svcLabels[contract.LabelMain] = "true"
	}

	cs := &swarm.ContainerSpec{
		Image: s.Image, Labels: cLabels, Hostname: s.Hostname, Dir: s.WorkingDir, User: s.User,
		StopSignal: s.StopSignal, TTY: s.Tty, OpenStdin: s.StdinOpen, ReadOnly: s.ReadOnly, Init: s.Init,
		Groups: s.GroupAdd, Sysctls: map[string]string(s.Sysctls), CapabilityAdd: s.CapAdd, CapabilityDrop: s.CapDrop,
	}
	if s.Entrypoint != nil {
		cs.Command = []string(s.Entrypoint)
	}
	if s.Command != nil {
		cs.Args = []string(s.Command)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		if v := s.Environment[k]; v != nil {
			cs.Env = append(cs.Env, k+"="+*v)
		}
	}
	if s.StopGracePeriod != nil {
		d := time.Duration(*s.StopGracePeriod)
		cs.StopGracePeriod = &d
	}
	if len(s.ExtraHosts) > 0 {
		// Swarm wants "IP HOST" lines, as in /etc/hosts.
		for _, h := range s.ExtraHosts.AsList(" ") {
			host, ip, _ := strings.Cut(h, " ")
			cs.Hosts = append(cs.Hosts, ip+" "+host)
		}
		slices.Sort(cs.Hosts)
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
		cs.Healthcheck = h
	}
	for _, k := range slices.Sorted(maps.Keys(s.Ulimits)) {
		u := s.Ulimits[k]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		cs.Ulimits = append(cs.Ulimits, &container.Ulimit{Name: k, Soft: soft, Hard: hard})
	}

	// Mounts: a named volume is created by swarm on the node the task
	// lands on, with the project's labels, so that purge finds it.
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeVolume:
			m := mount.Mount{Type: mount.TypeVolume, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Source != "" {
				vol, ok := p.Volumes[v.Source]
				if !ok {
					return zero, fmt.Errorf("service %q mounts undefined volume %q", s.Name, v.Source)
				}
				m.Source = vol.Name
				labels := common(map[string]string{compose.LabelVolume: v.Source})
				maps.Copy(labels, vol.Labels)
				m.VolumeOptions = &mount.VolumeOptions{Labels: labels}
				if vol.Driver != "" || len(vol.DriverOpts) > 0 {
					m.VolumeOptions.DriverConfig = &mount.Driver{Name: vol.Driver, Options: vol.DriverOpts}
				}
			}
			if v.Volume != nil && v.Volume.NoCopy {
				if m.VolumeOptions == nil {
					m.VolumeOptions = &mount.VolumeOptions{}
				}
				m.VolumeOptions.NoCopy = true
			}
			cs.Mounts = append(cs.Mounts, m)
		case types.VolumeTypeBind:
			cs.Mounts = append(cs.Mounts, mount.Mount{Type: mount.TypeBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
		case types.VolumeTypeTmpfs:
			m := mount.Mount{Type: mount.TypeTmpfs, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Tmpfs != nil && v.Tmpfs.Size > 0 {
				m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
			}
			cs.Mounts = append(cs.Mounts, m)
		default:
			return zero, unsupported(s, "a volume of type "+v.Type)
		}
	}

	// Secrets: files under /run/secrets (or the target given), readable
	// by all as compose makes them; the secret's ID is filled in when
	// the deployment has created it.
	for _, ref := range s.Secrets {
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		f := &swarm.SecretReferenceFileTarget{Name: target, UID: "0", GID: "0", Mode: 0o444}
		if ref.UID != "" {
			f.UID = ref.UID
		}
		if ref.GID != "" {
			f.GID = ref.GID
		}
		if ref.Mode != nil {
			f.Mode = os.FileMode(*ref.Mode)
		}
		cs.Secrets = append(cs.Secrets, &swarm.SecretReference{File: f, SecretName: secretNames[ref.Source]})
	}
	slices.SortFunc(cs.Secrets, func(a, b *swarm.SecretReference) int { return strings.Compare(a.File.Name, b.File.Name) })

	task := swarm.TaskSpec{ContainerSpec: cs}
	rp, err := restartPolicy(s)
	if err != nil {
		return zero, err
	}
	task.RestartPolicy = rp
	if s.Logging != nil && s.Logging.Driver != "" {
		task.LogDriver = &swarm.Driver{Name: s.Logging.Driver, Options: s.Logging.Options}
	}
	replicas := uint64(1)
	if s.Scale != nil {
		replicas = uint64(*s.Scale)
	}
	update := &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionRollback,
		Monitor: DefaultMonitor, Order: swarm.UpdateOrderStopFirst}
	rollback := &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause,
		Monitor: DefaultMonitor, Order: swarm.UpdateOrderStopFirst}
	if d := s.Deploy; d != nil {
		if d.Mode != "" && d.Mode != "replicated" {
			return zero, unsupported(s, "deploy mode "+d.Mode)
		}
		if d.Replicas != nil {
			replicas = uint64(*d.Replicas)
		}
		maps.Copy(svcLabels, d.Labels)
		if d.UpdateConfig != nil {
			update = updateConfig(d.UpdateConfig, update)
		}
		if d.RollbackConfig != nil {
			rollback = updateConfig(d.RollbackConfig, rollback)
		}
		task.Placement = &swarm.Placement{Constraints: d.Placement.Constraints, MaxReplicas: d.Placement.MaxReplicas}
		for _, pref := range d.Placement.Preferences {
			task.Placement.Preferences = append(task.Placement.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: pref.Spread}})
		}
		res := &swarm.ResourceRequirements{}
		if l := d.Resources.Limits; l != nil {
			res.Limits = &swarm.Limit{NanoCPUs: int64(float64(l.NanoCPUs) * 1e9), MemoryBytes: int64(l.MemoryBytes), Pids: l.Pids}
		}
		if r := d.Resources.Reservations; r != nil {
			res.Reservations = &swarm.Resources{NanoCPUs: int64(float64(r.NanoCPUs) * 1e9), MemoryBytes: int64(r.MemoryBytes)}
		}
		if res.Limits != nil || res.Reservations != nil {
			task.Resources = res
		}
	}
	if task.Resources == nil && (s.MemLimit > 0 || s.CPUS > 0) {
		task.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: int64(s.MemLimit), NanoCPUs: int64(float64(s.CPUS) * 1e9)}}
	}
	svcLabels[contract.LabelReplicas] = strconv.FormatUint(replicas, 10)

	// Networks: the service is reached by its compose name on each.
	for _, key := range slices.Sorted(maps.Keys(s.Networks)) {
		n, ok := p.Networks[key]
		if !ok {
			return zero, fmt.Errorf("service %q uses undefined network %q", s.Name, key)
		}
		att := swarm.NetworkAttachmentConfig{Target: n.Name, Aliases: []string{s.Name}}
		if sn := s.Networks[key]; sn != nil {
			att.Aliases = append(att.Aliases, sn.Aliases...)
		}
		task.Networks = append(task.Networks, att)
	}

	ports, err := portConfigs(o, s, svcLabels, co.HostPorts)
	if err != nil {
		return zero, err
	}
	spec := swarm.ServiceSpec{
		Annotations:    swarm.Annotations{Name: name, Labels: svcLabels},
		TaskTemplate:   task,
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		UpdateConfig:   update,
		RollbackConfig: rollback,
	}
	// Virtual IPs and ingress ports need IPVS; DNS round robin and host
	// ports do not (and swarm refuses ingress ports with dnsrr).
	mode := swarm.ResolutionModeVIP
	if co.HostPorts {
		mode = swarm.ResolutionModeDNSRR
	}
	if s.Deploy != nil && s.Deploy.EndpointMode != "" {
		mode = swarm.ResolutionMode(s.Deploy.EndpointMode)
	}
	for _, pc := range ports {
		if pc.PublishMode == swarm.PortConfigPublishModeIngress && mode == swarm.ResolutionModeDNSRR {
			return zero, unsupported(s, "endpoint_mode dnsrr with a port published in ingress mode")
		}
	}
	spec.EndpointSpec = &swarm.EndpointSpec{Mode: mode, Ports: ports}
	return spec, nil
}

// portConfigs publishes the declared ports on their assigned host ports
// (replacing the compose file's mapping of the same target and protocol)
// and the compose file's other published ports as given. A port is
// published through the ingress routing mesh (on every node) unless the
// compose file says mode: host, or hostPorts publishes every port in host
// mode.
func portConfigs(o *compose.Options, s types.ServiceConfig, labels map[string]string, hostPorts bool) ([]swarm.PortConfig, error) {
	key := func(target uint32, protocol string) string { return fmt.Sprintf("%d/%s", target, proto(protocol)) }
	mode := map[string]swarm.PortConfigPublishMode{}
	var out []swarm.PortConfig
	declared := map[string]bool{}
	for _, dp := range o.Ports {
		if dp.Service == s.Name {
			declared[key(uint32(dp.Target), dp.Protocol)] = true
		}
	}
	for _, sp := range s.Ports {
		m := swarm.PortConfigPublishModeIngress
		if sp.Mode == "host" || hostPorts {
			m = swarm.PortConfigPublishModeHost
		}
		k := key(sp.Target, sp.Protocol)
		mode[k] = m
		if declared[k] || sp.Published == "" {
			continue
		}
		pub, err := strconv.ParseUint(sp.Published, 10, 16)
		if err != nil {
			return nil, unsupported(s, "a published port range ("+sp.Published+")")
		}
		out = append(out, swarm.PortConfig{Protocol: network.IPProtocol(proto(sp.Protocol)), TargetPort: sp.Target,
			PublishedPort: uint32(pub), PublishMode: m})
	}
	for _, dp := range o.Ports {
		if dp.Service != s.Name {
			continue
		}
		if dp.Host <= 0 {
			return nil, fmt.Errorf("port %q has no host port assigned", dp.Name)
		}
		k := key(uint32(dp.Target), dp.Protocol)
		m := mode[k]
		switch {
		case hostPorts:
			m = swarm.PortConfigPublishModeHost
		case m == "":
			m = swarm.PortConfigPublishModeIngress
		}
		out = append(out, swarm.PortConfig{Name: dp.Name, Protocol: network.IPProtocol(proto(dp.Protocol)),
			TargetPort: uint32(dp.Target), PublishedPort: uint32(dp.Host), PublishMode: m})
		labels[contract.LabelPortPrefix+dp.Name] = strconv.Itoa(dp.Host)
	}
	slices.SortFunc(out, func(a, b swarm.PortConfig) int { return int(a.PublishedPort) - int(b.PublishedPort) })
	return out, nil
}

func proto(p string) string {
	if strings.EqualFold(p, "udp") {
		return "udp"
	}
	return "tcp"
}

// restartPolicy maps deploy.restart_policy, else restart:, to swarm's.
func restartPolicy(s types.ServiceConfig) (*swarm.RestartPolicy, error) {
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		rp := s.Deploy.RestartPolicy
		out := &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition), MaxAttempts: rp.MaxAttempts}
		switch out.Condition {
		case "":
			out.Condition = swarm.RestartPolicyConditionAny
		case swarm.RestartPolicyConditionAny, swarm.RestartPolicyConditionNone, swarm.RestartPolicyConditionOnFailure:
		default:
			return nil, &compose.UserError{Msg: fmt.Sprintf("service %q: restart_policy condition %q is not none, on-failure or any", s.Name, rp.Condition)}
		}
		if rp.Delay != nil {
			d := time.Duration(*rp.Delay)
			out.Delay = &d
		}
		if rp.Window != nil {
			d := time.Duration(*rp.Window)
			out.Window = &d
		}
		return out, nil
	}
	cond, attempts, _ := strings.Cut(s.Restart, ":")
	out := &swarm.RestartPolicy{}
	switch cond {
	case "", "always", "unless-stopped":
		// Swarm restarts by default; a stopped app is scaled to 0.
		out.Condition = swarm.RestartPolicyConditionAny
	case "no":
		out.Condition = swarm.RestartPolicyConditionNone
	case "on-failure":
		out.Condition = swarm.RestartPolicyConditionOnFailure
		if attempts != "" {
			n, err := strconv.ParseUint(attempts, 10, 64)
			if err != nil {
				return nil, &compose.UserError{Msg: fmt.Sprintf("service %q: restart %q", s.Name, s.Restart), HintMsg: "use on-failure:N"}
			}
			out.MaxAttempts = &n
		}
	default:
		return nil, &compose.UserError{Msg: fmt.Sprintf("service %q: restart %q is not valid", s.Name, s.Restart),
			HintMsg: "use no, always, on-failure[:N] or unless-stopped"}
	}
	return out, nil
}

func updateConfig(in *types.UpdateConfig, def *swarm.UpdateConfig) *swarm.UpdateConfig {
	out := *def
	if in.Parallelism != nil {
		out.Parallelism = *in.Parallelism
	}
	if in.Delay != 0 {
		out.Delay = time.Duration(in.Delay)
	}
	if in.FailureAction != "" {
		out.FailureAction = swarm.FailureAction(in.FailureAction)
	}
	if in.Monitor != 0 {
		out.Monitor = time.Duration(in.Monitor)
	}
	out.MaxFailureRatio = in.MaxFailureRatio
	if in.Order != "" {
		out.Order = swarm.UpdateOrder(in.Order)
	}
	return &out
}
