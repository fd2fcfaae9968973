package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/client"
)

// progress shows a job's events: a redrawn bar on a terminal, one line per
// step otherwise; with verbose, the job's log lines too.
type progress struct {
	w       io.Writer
	tty     bool
	verbose bool
	last    string
	lastLog string
	// hint is the fix the job's error came with, if any.
	hint string
}

func (p *progress) show(ev client.JobEvent) error {
	switch ev.Type {
	case "log":
		if h, ok := strings.CutPrefix(ev.Line, "hint: "); ok {
			p.hint = h
			break
		}
		p.lastLog = ev.Line
		if p.verbose {
			p.clear()
			fmt.Fprintln(p.w, "  "+ev.Line)
		}
	case "step":
		if !p.tty {
			fmt.Fprintf(p.w, "[%3d%%] %s\n", ev.Progress, ev.Step)
		}
	case "status":
		if !p.tty && !ev.Final() {
			fmt.Fprintf(p.w, "[%3d%%] %s\n", ev.Progress, ev.Status)
		}
	}
	if p.tty {
		p.bar(ev)
	}
	return nil
}

func (p *progress) bar(ev client.JobEvent) {
	const width = 30
	n := ev.Progress * width / 100
	label := ev.Step
	if label == "" {
		label = ev.Status
	}
	if len(label) > 40 {
		label = label[:40]
	}
	line := fmt.Sprintf("\r[%s%s] %3d%% %s", strings.Repeat("#", n), strings.Repeat(" ", width-n), ev.Progress, label)
	if len(line) < len(p.last) {
		line += strings.Repeat(" ", len(p.last)-len(line))
	}
	p.last = line
	fmt.Fprint(p.w, line)
}

func (p *progress) clear() {
	if p.tty && p.last != "" {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", len(p.last))+"\r")
		p.last = ""
	}
}

// waitJob follows a job to its end, showing progress on ErrOut. A failed
// job is an error carrying the job's last log line.
func waitJob(ctx context.Context, f *Factory, c *client.Client, jobID, what string, verbose bool) error {
	p := &progress{w: f.IO.ErrOut, tty: isTTY(f.IO.ErrOut), verbose: verbose}
	final, err := c.Follow(ctx, jobID, p.show)
	if p.tty {
		fmt.Fprintln(p.w)
	}
	if err != nil {
		return err
	}
	if final.Status != "succeeded" {
		msg := strings.TrimPrefix(p.lastLog, "error: ")
		if msg == "" {
			msg = final.Line
		}
		hint := fmt.Sprintf("the job's full log: GET /api/v1/jobs/%s/events, or rerun with --verbose", jobID)
		if p.hint != "" {
			hint = p.hint + "; " + hint
		}
		return &engine.UserError{Msg: fmt.Sprintf("%s failed: %s", what, msg), Hint: hint, Kind: engine.ErrUnavailable}
	}
	return nil
}
