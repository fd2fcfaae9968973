package proxy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// Preflight says whether the proxy can serve a domain: nil when its
// listeners are up, or when both its addresses can be bound now; else an
// ErrUnavailable UserError naming the address, the process that holds it
// when this host says (Linux, /proc), and the fix.
func (p *Proxy) Preflight() error {
	p.mu.Lock()
	up := p.httpsLn != nil
	p.mu.Unlock()
	if up {
		return nil
	}
	for _, a := range []struct{ addr, flag string }{{p.cfg.HTTPAddr, "--proxy-http"}, {p.cfg.HTTPSAddr, "--proxy-https"}} {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			return listenError(a.addr, a.flag, err)
		}
		_ = ln.Close()
	}
	return nil
}

// listenError explains why the proxy cannot listen on addr.
func listenError(addr, flag string, err error) error {
	hint := "free the port, choose another with " + flag + ", or let StackHub bind low ports (CAP_NET_BIND_SERVICE)"
	if who := portHolder(addr); who != "" {
		hint = who + " listens there: stop it, or choose another port with " + flag
	} else if strings.Contains(err.Error(), "address already in use") {
		hint = "another program listens there (`ss -ltnp` shows which): stop it, or choose another port with " + flag
	}
	return engine.NewUserError(engine.ErrUnavailable, fmt.Sprintf("the proxy cannot listen on %s: %v", addr, err), hint)
}

// portHolder names the process listening on addr's TCP port, from /proc
// ("process nginx (pid 812)"); "" when unknown (not Linux, or the process
// belongs to another user).
func portHolder(addr string) string {
	if runtime.GOOS != "linux" {
		return ""
	}
	_, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port == 0 {
		return ""
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		listeningInodes(f, port, inodes)
	}
	if len(inodes) == 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range pids {
		if ctx.Err() != nil {
			return ""
		}
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue // another user's process
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
				return fmt.Sprintf("process %s (pid %s)", strings.TrimSpace(string(comm)), filepath.Base(dir))
			}
		}
	}
	return ""
}

// listeningInodes adds the socket inodes listening on port in a
// /proc/net/tcp file.
func listeningInodes(file string, port int, into map[string]bool) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st ... inode (10th field)
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		into[fields[9]] = true
	}
}
