package host

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/stackhub/stackhub/engine"
)

// Risk severities, most severe first.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
)

// Thresholds of the health findings, in percent.
const (
	diskLimit   = 90
	memoryLimit = 90
)

// dbServices name database containers by service, container name or image
// word; dbPorts are their usual ports.
var (
	dbServices = []string{"db", "database", "mysql", "mariadb", "postgres", "postgresql", "mongo", "mongodb", "redis",
		"memcached", "elasticsearch", "opensearch", "clickhouse", "influxdb", "couchdb", "mssql"}
	dbPorts = map[int]bool{3306: true, 5432: true, 27017: true, 6379: true, 11211: true, 9200: true, 9300: true,
		8123: true, 8086: true, 5984: true, 1433: true}
	adminServices = []string{"phpmyadmin", "adminer", "pgadmin", "mongo-express", "redis-commander", "portainer"}
)

// Findings audits the host sample, the containers and StackHub's own listen
// address, and returns the risks found, most severe first. Any argument may
// be empty. Texts are English; ids are stable (kind:object) so a UI can
// track or silence one.
//
// engine.PublishedPort carries no host IP, so a database or admin port is
// reported whenever it is published, with the advice to bind it to
// 127.0.0.1.
func Findings(status *engine.ServerStatus, containers []engine.ContainerState, listenAddr string) []engine.Risk {
	var risks []engine.Risk
	seen := map[string]bool{}
	add := func(id, severity, what, fix string) {
		// A port Docker publishes on IPv4 and IPv6 is listed twice: one
		// risk, counted once.
		if seen[id] {
			return
		}
		seen[id] = true
		risks = append(risks, engine.Risk{ID: id, Severity: severity, What: what, Fix: fix})
	}

	if status != nil {
		disks := status.Disks
		if len(disks) == 0 && status.DiskTotal > 0 {
			disks = []engine.DiskUsage{{Mount: "/", Total: status.DiskTotal, Used: status.DiskUsed, Percent: status.DiskPercent}}
		}
		for _, d := range disks {
			if d.Percent <= diskLimit {
				continue
			}
			sev := SeverityHigh
			if d.Percent >= 98 {
				sev = SeverityCritical
			}
			add("disk-full:"+d.Mount, sev,
				fmt.Sprintf("disk %s is %.0f%% full (%s free); databases and Docker fail when it fills up",
					d.Mount, d.Percent, bytesText(d.Total-min(d.Used, d.Total))),
				"free space: remove unused images and containers (docker system prune), old logs and backups, or grow the disk")
		}
		if status.MemoryPercent > memoryLimit {
			add("memory-high", SeverityHigh,
				fmt.Sprintf("memory is %.0f%% used; the kernel will start killing processes (OOM)", status.MemoryPercent),
				"stop or uninstall apps you do not use, give the apps memory limits, add swap or more memory")
		}
	}

	if plain, where := plainHTTPOnNetwork(listenAddr); plain {
		add("listen-no-tls", SeverityHigh,
			fmt.Sprintf("StackHub listens on %s over plain HTTP: passwords, session cookies and tokens cross the network unencrypted", where),
			"listen on 127.0.0.1 and put a TLS reverse proxy (Caddy, nginx, Traefik) in front, or reach it through an SSH tunnel")
	}

	for _, c := range containers {
		name := strings.TrimPrefix(c.Name, "/")
		if name == "" {
			name = c.ID
		}
		if c.Privileged {
			add("privileged-container:"+name, SeverityHigh,
				fmt.Sprintf("container %s runs privileged: it has full control of the host", name),
				"remove privileged: true from its compose file and grant only the capabilities it needs (cap_add)")
		}
		for _, m := range c.Mounts {
			src := mountSource(m)
			switch {
			case strings.HasSuffix(src, "/docker.sock"):
				add("docker-socket-mount:"+name, SeverityHigh,
					fmt.Sprintf("container %s mounts the Docker socket %s: whoever controls it controls the host", name, src),
					"remove the docker.sock volume unless the app manages containers; if it must, use a socket proxy that allows only what it needs")
			case src == "/":
				add("host-root-mount:"+name, SeverityCritical,
					fmt.Sprintf("container %s mounts the host's root filesystem", name),
					"mount only the directories the app needs, read-only where possible")
			}
		}
		switch {
		case c.State == "restarting":
			add("container-restarting:"+name, SeverityMedium,
				fmt.Sprintf("container %s keeps restarting", name),
				fmt.Sprintf("read why with docker logs --tail 100 %s, fix its configuration, or reinstall the app", name))
		case c.Health == "unhealthy":
			add("container-unhealthy:"+name, SeverityMedium,
				fmt.Sprintf("container %s is unhealthy", name),
				fmt.Sprintf("see its health check with docker inspect --format '{{json .State.Health}}' %s and its logs with docker logs %s", name, name))
		}
		ckind := publishedKind(c)
		for _, p := range c.Ports {
			kind := ckind
			if kind == "" && dbPorts[p.Port] {
				kind = "db"
			}
			if kind == "" {
				continue
			}
			what, id := "database", "db-port-published"
			if kind == "admin" {
				what, id = "admin tool", "admin-port-published"
			}
			add(fmt.Sprintf("%s:%s:%d", id, name, p.Port), SeverityHigh,
				fmt.Sprintf("%s container %s publishes port %d/%s on the host; unless bound to 127.0.0.1 it is reachable from the network",
					what, name, p.Port, protocolOr(p.Protocol)),
				fmt.Sprintf("bind it to 127.0.0.1 in the compose file (ports: \"127.0.0.1:%d:<port>\") or remove the published port, and block it in the firewall", p.Port))
		}
	}

	sort.SliceStable(risks, func(i, j int) bool {
		ri, rj := severityRank(risks[i].Severity), severityRank(risks[j].Severity)
		if ri != rj {
			return ri < rj
		}
		return risks[i].ID < risks[j].ID
	})
	return risks
}

func severityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityHigh:
		return 1
	case SeverityMedium:
		return 2
	}
	return 3
}

// publishedKind says whether the container is a database ("db") or an
// admin tool ("admin") by its service, name or compose service label, or "".
func publishedKind(c engine.ContainerState) string {
	hay := strings.ToLower(c.Service + " " + strings.TrimPrefix(c.Name, "/") + " " + c.Labels["com.docker.compose.service"])
	for _, a := range adminServices {
		if strings.Contains(hay, a) {
			return "admin"
		}
	}
	words := strings.FieldsFunc(hay, func(r rune) bool {
		return r == '-' || r == '_' || r == ' ' || r == '.' || r == '/'
	})
	for _, w := range words {
		for _, d := range dbServices {
			if w == d {
				return "db"
			}
		}
	}
	return ""
}

// mountSource returns the host side of a mount written "src", "src:dst" or
// "src:dst:mode".
func mountSource(m string) string {
	src, _, _ := strings.Cut(m, ":")
	if src != "/" {
		src = strings.TrimSuffix(src, "/")
	}
	return src
}

// plainHTTPOnNetwork reports whether addr ("host:port", "http://host:port"
// or "https://host:port") serves plain HTTP on a non-loopback address.
func plainHTTPOnNetwork(addr string) (bool, string) {
	if addr == "" {
		return false, ""
	}
	if strings.HasPrefix(addr, "https://") {
		return false, ""
	}
	addr = strings.TrimPrefix(addr, "http://")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	shown := addr
	switch {
	case host == "", host == "0.0.0.0", host == "::":
		return true, shown + " (every interface)"
	case strings.EqualFold(host, "localhost"):
		return false, ""
	}
	if ip := net.ParseIP(host); ip != nil {
		return !ip.IsLoopback(), shown
	}
	return true, shown
}

func protocolOr(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

// bytesText formats a size for people (1.5 GiB).
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
