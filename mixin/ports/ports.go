// Package ports finds free host ports for StackHub installs. A port is free
// when no host socket holds it (judged by bind probes over TCP or UDP, IPv4
// and IPv6, in the caller's network namespace) and the caller's list of used
// ports (published by containers, leased by other installs) does not name
// it. The package knows nothing about Docker or the engine so that both the
// mixin and the host-side engine can use it; it imports only the standard
// library.
package ports

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// Default range of host ports handed out when nothing else is configured.
const (
	DefaultMin = 9001
	DefaultMax = 9999
)

// Protocols a port can be requested for.
const (
	TCP = "tcp"
	UDP = "udp"
)

// ErrExhausted reports that no port in the range is free.
var ErrExhausted = errors.New("no free port left in range")

// Request asks for one host port.
type Request struct {
	// Name identifies the request in errors and in the result.
	Name string
	// Protocol is "tcp" (default) or "udp".
	Protocol string
	// Pin, when set, is the only acceptable port: if it is taken, Find
	// fails with a *TakenError naming the port and its holder.
	Pin int
	// Preferred, when set, is tried first; if it is taken Find falls back
	// to the range.
	Preferred int
}

// Used maps host ports that are not free to a description of their holder,
// e.g. `container "stackhub-wiki" (installation wiki)`.
type Used map[int]string

// Finder hands out free ports. The zero value uses the default range and
// real bind probes.
type Finder struct {
	// Min and Max bound the range (inclusive); zero means the defaults.
	Min, Max int
	// Probe reports whether a host socket holds port for proto; nil means
	// [Probe]. It returns nil when the port can be bound.
	Probe func(port int, proto string) error
	// Holder describes the host process that holds a port, when it can be
	// told; nil means [HostHolder].
	Holder func(port int, proto string) string
}

// TakenError reports that a pinned port is not free.
type TakenError struct {
	Name   string
	Port   int
	Proto  string
	Holder string
}

func (e *TakenError) Error() string {
	msg := fmt.Sprintf("port %d/%s", e.Port, e.Proto)
	if e.Name != "" {
		msg = fmt.Sprintf("port %q: host port %d/%s", e.Name, e.Port, e.Proto)
	}
	msg += " is already in use"
	if e.Holder != "" {
		msg += " by " + e.Holder
	}
	return msg
}

// Hint says how to fix a taken pinned port.
func (e *TakenError) Hint() string {
	return fmt.Sprintf("stop whatever holds port %d, or pin another port (or none, to let StackHub choose a free one)", e.Port)
}

func (f *Finder) bounds() (int, int) {
	lo, hi := f.Min, f.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// Find assigns a port to every request, in order, all distinct, none in
// used. It does not reserve anything: callers that race with other installs
// must hold a lock from Find until the ports are published (the mixin's
// compose package holds one across the Docker daemon).
func (f *Finder) Find(ctx context.Context, reqs []Request, used Used) (map[string]int, error) {
	probe := f.Probe
	if probe == nil {
		probe = Probe
	}
	holder := f.Holder
	if holder == nil {
		holder = HostHolder
	}
	lo, hi := f.bounds()
	taken := make(map[int]bool, len(used))
	for p := range used {
		taken[p] = true
	}
	out := make(map[string]int, len(reqs))
	// Pinned ports first, so that a later automatic pick cannot steal one.
	for _, r := range reqs {
		if r.Pin == 0 {
			continue
		}
		proto := normProto(r.Protocol)
		if h, ok := used[r.Pin]; ok {
			return nil, &TakenError{Name: r.Name, Port: r.Pin, Proto: proto, Holder: h}
		}
		if taken[r.Pin] {
			return nil, &TakenError{Name: r.Name, Port: r.Pin, Proto: proto, Holder: "another port of this install"}
		}
		if err := probe(r.Pin, proto); err != nil {
			return nil, &TakenError{Name: r.Name, Port: r.Pin, Proto: proto, Holder: holder(r.Pin, proto)}
		}
		taken[r.Pin] = true
		out[r.Name] = r.Pin
	}
	for _, r := range reqs {
		if r.Pin != 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		proto := normProto(r.Protocol)
		candidates := make([]int, 0, 1)
		if r.Preferred > 0 {
			candidates = append(candidates, r.Preferred)
		}
		found := 0
		for _, p := range candidates {
			if !taken[p] && probe(p, proto) == nil {
				found = p
			}
		}
		for p := lo; found == 0 && p <= hi; p++ {
			if taken[p] {
				continue
			}
			if probe(p, proto) == nil {
				found = p
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("find a host port for %q in %d-%d: %w", r.Name, lo, hi, ErrExhausted)
		}
		taken[found] = true
		out[r.Name] = found
	}
	return out, nil
}

func normProto(p string) string {
	if strings.EqualFold(p, UDP) {
		return UDP
	}
	return TCP
}

// Probe reports whether port can be bound for proto ("tcp" or "udp") on
// both 0.0.0.0 and [::] in the caller's network namespace. A host without
// IPv6 does not make a port look taken.
func Probe(port int, proto string) error {
	proto = normProto(proto)
	for _, fam := range []struct{ net, addr string }{
		{proto + "4", "0.0.0.0"},
		{proto + "6", "::"},
	} {
		addr := net.JoinHostPort(fam.addr, strconv.Itoa(port))
		var err error
		if proto == UDP {
			var c net.PacketConn
			if c, err = net.ListenPacket(fam.net, addr); err == nil {
				_ = c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen(fam.net, addr); err == nil {
				_ = l.Close()
			}
		}
		if err == nil {
			continue
		}
		if fam.addr == "::" && noIPv6(err) {
			continue
		}
		return fmt.Errorf("bind %s %s: %w", fam.net, addr, err)
	}
	return nil
}

func noIPv6(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) ||
		errors.Is(err, syscall.EPROTONOSUPPORT)
}
