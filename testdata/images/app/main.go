// Command app is the one static binary behind StackHub's offline test
// images: "hello" is a tiny HTTP app, "db" a line-protocol TCP server that
// stands in for a database and keeps its data in a directory (so volume
// persistence can be tested), "dump" writes a copy of that directory into
// one file while the db runs (a bundle's backup action runs it with docker
// exec), and "healthcheck" probes either of them, since
// FROM scratch images have no shell or curl. It imports only the standard
// library.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app hello|db|dump|healthcheck ...")
		os.Exit(2)
	}
	// As PID 1 in a container the process gets no default signal
	// handling: exit on SIGTERM/SIGINT so that docker stop is quick.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		os.Exit(0)
	}()
	var err error
	switch os.Args[1] {
	case "hello":
		err = hello()
	case "db":
		err = db()
	case "healthcheck":
		err = healthcheck(os.Args[2:])
	case "dump":
		err = dump(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// hello serves GET / with "hello from <HOSTNAME>" and, when set, the
// APP_TITLE variable; GET /db asks the database named by DB_ADDR for PING.
func hello() error {
	addr := ":" + env("PORT", "8080")
	host, _ := os.Hostname()
	host = env("HOSTNAME", host)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		msg := "hello from " + host
		if t := os.Getenv("APP_TITLE"); t != "" {
			msg += " (" + t + ")"
		}
		fmt.Fprintln(w, msg)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /db", func(w http.ResponseWriter, _ *http.Request) {
		reply, err := dbCall(os.Getenv("DB_ADDR"), os.Getenv("DB_PASSWORD"), "PING")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, reply)
	})
	fmt.Println("hello listening on", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}

// db serves a line protocol on DB_PORT (default 5432): AUTH <password>,
// PING, PUT <key> <value>, GET <key>. Values are files in DATA_DIR (default
// /data). When DB_PASSWORD is set, every command but PING needs AUTH first.
func db() error {
	addr := ":" + env("DB_PORT", "5432")
	dir := env("DATA_DIR", "/data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("db listening on", addr, "data in", dir)
	password := os.Getenv("DB_PASSWORD")
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveDB(conn, dir, password)
	}
}

// dump DIR FILE writes every file of DIR but FILE as "name<TAB>value"
// lines into FILE, through a temporary file and a rename, so that FILE is
// always one whole copy.
func dump(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: app dump DIR FILE")
	}
	dir, file := args[0], args[1]
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.Type().IsRegular() || p == filepath.Clean(file) || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		v, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\t%s\n", e.Name(), strings.ReplaceAll(string(v), "\n", " "))
	}
	if err := os.WriteFile(file+".tmp", []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		return err
	}
	fmt.Printf("dumped %d entries into %s\n", strings.Count(b.String(), "\n"), file)
	return nil
}

func serveDB(conn net.Conn, dir, password string) {
	defer conn.Close()
	authed := password == ""
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		fields := strings.SplitN(strings.TrimSpace(sc.Text()), " ", 3)
		cmd := strings.ToUpper(fields[0])
		switch {
		case cmd == "PING":
			fmt.Fprintln(conn, "PONG")
		case cmd == "AUTH" && len(fields) == 2:
			if fields[1] == password {
				authed = true
				fmt.Fprintln(conn, "OK")
			} else {
				fmt.Fprintln(conn, "ERR wrong password")
			}
		case !authed:
			fmt.Fprintln(conn, "ERR auth required")
		case cmd == "PUT" && len(fields) == 3:
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(fields[1])), []byte(fields[2]), 0o644); err != nil {
				fmt.Fprintln(conn, "ERR", err)
				continue
			}
			fmt.Fprintln(conn, "OK")
		case cmd == "GET" && len(fields) == 2:
			b, err := os.ReadFile(filepath.Join(dir, filepath.Base(fields[1])))
			if err != nil {
				fmt.Fprintln(conn, "ERR not found")
				continue
			}
			fmt.Fprintln(conn, "VALUE", string(b))
		default:
			fmt.Fprintln(conn, "ERR unknown command")
		}
	}
}

// dbCall sends AUTH (when password is set) and then one command, returning
// the reply line of the command.
func dbCall(addr, password, command string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(conn)
	if password != "" {
		fmt.Fprintln(conn, "AUTH", password)
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(line) != "OK" {
			return "", fmt.Errorf("auth: %s", strings.TrimSpace(line))
		}
	}
	fmt.Fprintln(conn, command)
	line, err := r.ReadString('\n')
	return strings.TrimSpace(line), err
}

// healthcheck probes: "http URL" expects a 2xx answer, "tcp ADDR" expects
// PONG to PING, "fail" always fails (for tests of failing installs).
func healthcheck(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: healthcheck http URL | tcp ADDR | fail")
	}
	switch args[0] {
	case "http":
		if len(args) != 2 {
			return fmt.Errorf("usage: healthcheck http URL")
		}
		c := http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(args[1])
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	case "tcp":
		if len(args) != 2 {
			return fmt.Errorf("usage: healthcheck tcp ADDR")
		}
		reply, err := dbCall(args[1], "", "PING")
		if err != nil {
			return err
		}
		if reply != "PONG" {
			return fmt.Errorf("unexpected reply %q", reply)
		}
		return nil
	case "fail":
		return fmt.Errorf("this healthcheck always fails")
	default:
		return fmt.Errorf("unknown probe %q", args[0])
	}
}
