package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

// DNSProvider sets and removes the TXT records of ACME DNS-01 challenges
// (a libdns provider). RFC2136 and ExecHook are the two StackHub ships.
type DNSProvider interface {
	libdns.RecordAppender
	libdns.RecordDeleter
}

// DNSConfig turns on DNS-01 challenges, which wildcard names need.
type DNSConfig struct {
	// Provider sets the challenges' TXT records; nil: no DNS-01.
	Provider DNSProvider
	// Resolvers (HOST[:PORT]) are asked for the zone of a name and
	// whether a record is visible yet; empty: the system's.
	Resolvers []string
	// PropagationTimeout bounds the wait for a record to be visible
	// before the CA is asked to check it (default 2 minutes).
	PropagationTimeout time.Duration
}

// RFC2136 updates a zone's primary name server with RFC 2136 dynamic
// updates signed with TSIG (BIND, Knot, PowerDNS, Technitium...).
type RFC2136 struct {
	// Server is the primary's HOST[:PORT] (port 53 by default).
	Server string
	// KeyName, KeyAlgorithm (hmac-sha256 by default) and Secret (base64)
	// are the TSIG key; an empty KeyName sends updates unsigned.
	KeyName, KeyAlgorithm, Secret string
	// Timeout bounds one update (default 10s).
	Timeout time.Duration
}

// ParseTSIG reads a TSIG key given as [ALGORITHM:]NAME:SECRET, the form of
// nsupdate -y.
func ParseTSIG(s string) (name, algorithm, secret string, err error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	switch len(parts) {
	case 2:
		name, secret = parts[0], parts[1]
	case 3:
		algorithm, name, secret = parts[0], parts[1], parts[2]
	default:
		return "", "", "", errors.New("a TSIG key is [ALGORITHM:]NAME:SECRET, as nsupdate -y takes it")
	}
	if name == "" || secret == "" {
		return "", "", "", errors.New("a TSIG key is [ALGORITHM:]NAME:SECRET, with a name and a base64 secret")
	}
	return name, algorithm, secret, nil
}

// NewRFC2136 checks the settings of an RFC 2136 provider.
func NewRFC2136(p RFC2136) (*RFC2136, error) {
	if p.Server == "" {
		return nil, errors.New("the rfc2136 DNS provider needs the zone's primary server (HOST[:PORT])")
	}
	if _, _, err := net.SplitHostPort(p.Server); err != nil {
		p.Server = net.JoinHostPort(strings.Trim(p.Server, "[]"), "53")
	}
	if p.KeyName != "" {
		p.KeyName = dns.Fqdn(strings.ToLower(p.KeyName))
		alg := strings.ToLower(p.KeyAlgorithm)
		if alg == "" {
			alg = "hmac-sha256"
		}
		p.KeyAlgorithm = dns.Fqdn(alg)
		switch p.KeyAlgorithm {
		case dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512:
		default:
			return nil, fmt.Errorf("TSIG algorithm %q is not supported: use hmac-sha256 (or hmac-sha1, -sha224, -sha384, -sha512)", alg)
		}
		if _, err := base64.StdEncoding.DecodeString(p.Secret); err != nil {
			return nil, errors.New("the TSIG secret is not base64 (copy it from the key file's secret line)")
		}
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	return &p, nil
}

// String names the provider without its secret.
func (p *RFC2136) String() string { return "rfc2136 " + p.Server }

// AppendRecords adds records to a zone.
func (p *RFC2136) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, p.update(ctx, zone, recs, false)
}

// DeleteRecords removes records (exactly these values) from a zone.
func (p *RFC2136) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, p.update(ctx, zone, recs, true)
}

func (p *RFC2136) update(ctx context.Context, zone string, recs []libdns.Record, remove bool) error {
	zone = dns.Fqdn(zone)
	m := new(dns.Msg)
	m.SetUpdate(zone)
	rrs := make([]dns.RR, 0, len(recs))
	for _, r := range recs {
		rr := r.RR()
		ttl := rr.TTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		line := fmt.Sprintf("%s %d IN %s %s", libdns.AbsoluteName(rr.Name, zone), int(ttl.Seconds()), rr.Type, rr.Data)
		if rr.Type == "TXT" {
			line = fmt.Sprintf("%s %d IN TXT %q", libdns.AbsoluteName(rr.Name, zone), int(ttl.Seconds()), rr.Data)
		}
		x, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("rfc2136: record %s %s: %w", rr.Name, rr.Type, err)
		}
		rrs = append(rrs, x)
	}
	if remove {
		m.Remove(rrs)
	} else {
		m.Insert(rrs)
	}
	c := &dns.Client{Net: "tcp", Timeout: p.Timeout}
	if p.KeyName != "" {
		c.TsigSecret = map[string]string{p.KeyName: p.Secret}
		m.SetTsig(p.KeyName, p.KeyAlgorithm, 300, time.Now().Unix())
	}
	in, _, err := c.ExchangeContext(ctx, m, p.Server)
	if err != nil {
		return fmt.Errorf("rfc2136 update of zone %s at %s: %w", zone, p.Server, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("rfc2136 update of zone %s at %s: the server answered %s (check the TSIG key and that the server allows it to update the zone)",
			zone, p.Server, dns.RcodeToString[in.Rcode])
	}
	return nil
}

// ExecHook runs a program to set and remove challenge records, for a DNS
// host StackHub has no provider for: PROGRAM present NAME VALUE, then
// PROGRAM cleanup NAME VALUE, where NAME is the record's full name with a
// final dot (_acme-challenge.example.org.) and VALUE the TXT text. It must
// exit 0 once the record is set (or removed).
type ExecHook struct {
	Program string
	// Timeout bounds one run (default 2 minutes).
	Timeout time.Duration
}

// NewExecHook checks that the program exists.
func NewExecHook(program string) (*ExecHook, error) {
	if program == "" {
		return nil, errors.New("the exec DNS provider needs the program to run (--dns-exec)")
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("dns exec hook %s: %w", program, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return &ExecHook{Program: path, Timeout: 2 * time.Minute}, nil
}

// String names the provider.
func (h *ExecHook) String() string { return "exec " + h.Program }

// AppendRecords runs the program with present for each record.
func (h *ExecHook) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, h.run(ctx, "present", zone, recs)
}

// DeleteRecords runs the program with cleanup for each record.
func (h *ExecHook) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, h.run(ctx, "cleanup", zone, recs)
}

func (h *ExecHook) run(ctx context.Context, action, zone string, recs []libdns.Record) error {
	for _, r := range recs {
		rr := r.RR()
		if rr.Type != "TXT" {
			return fmt.Errorf("dns exec hook: only TXT records are set this way, not %s", rr.Type)
		}
		name := libdns.AbsoluteName(rr.Name, dns.Fqdn(zone))
		timeout := h.Timeout
		if timeout <= 0 {
			timeout = 2 * time.Minute
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		cmd := exec.CommandContext(cctx, h.Program, action, name, rr.Data)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			msg := strings.TrimSpace(out.String())
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
			return fmt.Errorf("dns exec hook %s %s %s: %w: %s", h.Program, action, name, err, msg)
		}
	}
	return nil
}
