package ports

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// HostHolder describes what holds a host port, as far as /proc tells: "a
// process on the host", or `process 1234 (nginx)` when the socket's owner
// is visible in the caller's PID namespace. It never fails.
func HostHolder(port int, proto string) string {
	inodes := socketInodes(port, normProto(proto))
	if len(inodes) == 0 {
		return "a process on the host"
	}
	if pid, comm := socketOwner(inodes); pid != 0 {
		return fmt.Sprintf("process %d (%s) on the host", pid, comm)
	}
	return "a process on the host"
}

// socketInodes reads /proc/net/<proto>{,6} for sockets bound to port (TCP:
// listening only) and returns their inodes.
func socketInodes(port int, proto string) map[string]bool {
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil || int(p) != port {
				continue
			}
			if proto == TCP && fields[3] != "0A" { // 0A = LISTEN
				continue
			}
			if fields[9] != "0" {
				inodes[fields[9]] = true
			}
		}
		_ = f.Close()
	}
	return inodes
}

// socketOwner finds the first process with an open fd on one of inodes.
func socketOwner(inodes map[string]bool) (int, string) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
				return pid, strings.TrimSpace(string(comm))
			}
		}
	}
	return 0, ""
}
