package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/client"
)

// Joining a node over SSH: the CLI asks the service for the join command
// and runs it on the new host through the user's own ssh client, so the
// user's keys, agent and known_hosts apply and StackHub stores no SSH
// credential. The command travels on ssh's standard input, not on its
// command line, so the join token shows in no local process list.

// sshJoin is how `stackhub node add --ssh` reaches the new host.
type sshJoin struct {
	Target   string        // user@host
	Port     int           // 0: ssh's default
	Identity string        // -i FILE
	Options  []string      // -o KEY=VALUE
	Wait     time.Duration // how long to wait for the node to show
}

// joinArg is what a join token or manager address may hold: they are put
// into a shell script, so anything else is refused.
var joinArg = regexp.MustCompile(`^[A-Za-z0-9._:\[\]-]+$`)

// args returns ssh's arguments: batch mode (no password prompt: the key
// must work), then the user's choices, then the host and the remote shell.
func (s sshJoin) args() []string {
	a := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=15"}
	if s.Port != 0 {
		a = append(a, "-p", strconv.Itoa(s.Port))
	}
	if s.Identity != "" {
		a = append(a, "-i", s.Identity)
	}
	for _, o := range s.Options {
		a = append(a, "-o", o)
	}
	return append(a, "--", s.Target, "sh", "-s")
}

// script is the shell script the new host runs.
func (s sshJoin) script(j *client.JoinCommand) (string, error) {
	if !joinArg.MatchString(j.Token) || !joinArg.MatchString(j.Manager) {
		return "", fmt.Errorf("join command from the server has unexpected characters: %w", engine.ErrInvalid)
	}
	return "set -e\n" +
		"command -v docker >/dev/null 2>&1 || { echo 'docker is not installed on this host' >&2; exit 127; }\n" +
		"docker swarm join --token " + j.Token + " " + j.Manager + "\n", nil
}

// run joins the host and waits for it to show in the node list.
func (s sshJoin) run(ctx context.Context, f *Factory, c *client.Client, j *client.JoinCommand) error {
	if strings.HasPrefix(s.Target, "-") || strings.ContainsAny(s.Target, " \t\n") {
		return &engine.UserError{Msg: fmt.Sprintf("ssh target %q is not valid", s.Target), Kind: engine.ErrInvalid,
			Hint: "pass the new host as user@host, for example --ssh root@203.0.113.7"}
	}
	script, err := s.script(j)
	if err != nil {
		return err
	}
	before, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, n := range before {
		known[n.ID] = true
	}
	fmt.Fprintf(f.IO.ErrOut, "Joining %s to the cluster as a %s over ssh...\n", s.Target, j.Role)
	cmd := exec.CommandContext(ctx, "ssh", s.args()...)
	cmd.Stdin = strings.NewReader(script)
	var errOut bytes.Buffer
	cmd.Stdout = f.IO.ErrOut
	cmd.Stderr = io.MultiWriter(&errOut, f.IO.ErrOut)
	if err := cmd.Run(); err != nil {
		return sshError(s.Target, j.Manager, err)
	}
	if s.Wait <= 0 {
		fmt.Fprintf(f.IO.Out, "%s ran docker swarm join\n", s.Target)
		return nil
	}
	deadline := time.Now().Add(s.Wait)
	for {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if !known[n.ID] {
				fmt.Fprintf(f.IO.Out, "Node %s joined as a %s (%s)\n", n.Hostname, n.Role, n.State)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return &engine.UserError{Msg: fmt.Sprintf("%s ran docker swarm join, but no new node showed within %s", s.Target, s.Wait),
				Hint: "run stackhub node list in a moment; if it stays absent, check that the host reaches " + j.Manager + " (TCP 2377, 7946 and UDP 4789)"}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// sshError says what failed: ssh itself (exit 255), docker missing on the
// host (127), or the join (anything else, with docker's own words above).
func sshError(target, manager string, err error) error {
	var exit *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return &engine.UserError{Msg: "no ssh client on this machine", Err: err,
			Hint: "install OpenSSH's client (apt-get install openssh-client), or run stackhub node add without --ssh and paste the command on the new host"}
	case errors.As(err, &exit) && exit.ExitCode() == 255:
		return &engine.UserError{Msg: fmt.Sprintf("ssh to %s failed", target), Err: err,
			Hint: "check that `ssh " + target + "` logs in without a password prompt (a key or agent); for a host never reached before, accept its key once by hand or pass --ssh-option StrictHostKeyChecking=accept-new"}
	case errors.As(err, &exit) && exit.ExitCode() == 127:
		return &engine.UserError{Msg: fmt.Sprintf("docker is not installed on %s", target), Err: err,
			Hint: "install Docker on the new host (apt-get install docker.io), then run this again"}
	default:
		return &engine.UserError{Msg: fmt.Sprintf("docker swarm join on %s failed", target), Err: err,
			Hint: "docker's message is above; the host must reach " + manager + " (TCP 2377, 7946 and UDP 4789), and must not be in another swarm (docker swarm leave there first)"}
	}
}
