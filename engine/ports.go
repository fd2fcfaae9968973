package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
)

// leasePorts picks a free host port for every spec and reserves them in the
// store. The caller holds e.leaseMu, so two installs of this process never
// pick the same port; the store's unique constraint guards against any
// other writer. Free means: not leased, not published by any container
// (running or stopped), and nothing listening on the host.
func (e *Engine) leasePorts(ctx context.Context, installation string, specs []PortSpec, keep map[string]int) (map[string]int, error) {
	if len(specs) == 0 {
		return map[string]int{}, nil
	}
	published, err := e.publishedPorts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list published ports: %w", err)
	}
	return e.leasePortsWith(ctx, installation, specs, keep, published)
}

// leasePortsWith is leasePorts over a listing of published ports taken
// before the caller locked leaseMu: Docker can be slow under load, and the
// lock serialises every install. A container that started publishing a
// port since the listing is still caught by the bind probe.
func (e *Engine) leasePortsWith(ctx context.Context, installation string, specs []PortSpec, keep map[string]int, published []PublishedPort) (map[string]int, error) {
	if len(specs) == 0 {
		return map[string]int{}, nil
	}
	// leaseMu serialises this process's installs; another process on the
	// same data folder (stackhub bundle install next to serve) can lease
	// a port between the choice and the lease. The store refuses the
	// second lease (ErrConflict): choose again from the fresh leases.
	var lastErr error
	for range leaseAttempts {
		out, want, err := e.choosePorts(ctx, installation, specs, keep, published)
		if err != nil {
			return nil, err
		}
		if err := e.deps.Store.ReleasePorts(ctx, installation); err != nil {
			return nil, fmt.Errorf("release old leases: %w", err)
		}
		err = e.deps.Store.LeasePorts(ctx, want)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("lease ports: %w", err)
		}
		lastErr = err
		e.log.Debug("port lease raced another writer; choosing again", "installation", installation, "err", err)
	}
	return nil, fmt.Errorf("lease ports: %w", lastErr)
}

// leaseAttempts bounds how often a raced lease is chosen again.
const leaseAttempts = 5

// choosePorts picks the host ports an installation would get, recording
// nothing: leasePortsWith records them, preflight only reports them.
func (e *Engine) choosePorts(ctx context.Context, installation string, specs []PortSpec, keep map[string]int, published []PublishedPort) (map[string]int, []PortLease, error) {
	leases, err := e.deps.Store.ListPortLeases(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list port leases: %w", err)
	}
	type key struct {
		port  int
		proto string
	}
	holder := map[key]string{}
	for _, l := range leases {
		if l.Installation == installation {
			continue
		}
		holder[key{l.Port, l.Protocol}] = fmt.Sprintf("installation %q", l.Installation)
	}
	for _, p := range published {
		k := key{p.Port, p.Protocol}
		if _, ok := holder[k]; !ok {
			holder[k] = fmt.Sprintf("container %q", p.Container)
		}
	}
	taken := func(port int, proto string) (string, bool) {
		if h, ok := holder[key{port, proto}]; ok {
			return h, true
		}
		if e.deps.Ports != nil && !e.deps.Ports.Free(port, proto) {
			return "a process on this host", true
		}
		return "", false
	}

	out := make(map[string]int, len(specs))
	var want []PortLease
	// Pinned and kept ports first, so free-range picks avoid them.
	for _, s := range specs {
		port := s.Host
		if port == 0 {
			port = keep[s.Name]
		}
		if port == 0 {
			continue
		}
		if h, busy := taken(port, s.Protocol); busy && keep[s.Name] != port {
			return nil, nil, NewUserError(ErrConflict, fmt.Sprintf("port %d/%s (%s) is already in use by %s", port, s.Protocol, s.Name, h),
				fmt.Sprintf("free port %d, or install with another host port for %s", port, s.Name))
		}
		holder[key{port, s.Protocol}] = "this installation"
		out[s.Name] = port
		want = append(want, PortLease{Port: port, Protocol: s.Protocol, Installation: installation, Name: s.Name})
	}
	next := e.cfg.PortMin
	for _, s := range specs {
		if _, ok := out[s.Name]; ok {
			continue
		}
		for ; next <= e.cfg.PortMax; next++ {
			if _, busy := taken(next, s.Protocol); !busy {
				break
			}
		}
		if next > e.cfg.PortMax {
			return nil, nil, NewUserError(ErrUnavailable, fmt.Sprintf("no free host port left between %d and %d", e.cfg.PortMin, e.cfg.PortMax),
				"uninstall apps you no longer need, or widen the range with --port-min/--port-max")
		}
		out[s.Name] = next
		holder[key{next, s.Protocol}] = "this installation"
		want = append(want, PortLease{Port: next, Protocol: s.Protocol, Installation: installation, Name: s.Name})
		next++
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Port < want[j].Port })
	return out, want, nil
}

// BindProber tells whether a host port is free by trying to bind it on every
// address, IPv4 and IPv6. It must run in the host's network namespace.
type BindProber struct{}

var _ PortProber = BindProber{}

// Free reports whether nothing listens on port/protocol.
func (BindProber) Free(port int, protocol string) bool {
	for _, addr := range []string{fmt.Sprintf("0.0.0.0:%d", port), fmt.Sprintf("[::]:%d", port)} {
		if protocol == "udp" {
			c, err := net.ListenPacket("udp", addr)
			if err != nil {
				if isNoIPv6(err) {
					continue
				}
				return false
			}
			c.Close()
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if isNoIPv6(err) {
				continue
			}
			return false
		}
		l.Close()
	}
	return true
}

// isNoIPv6 recognises a host without IPv6, where [::] cannot be bound at all.
func isNoIPv6(err error) bool {
	return strings.Contains(err.Error(), "address family not supported") || strings.Contains(err.Error(), "cannot assign requested address")
}
