package service

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

// The lifecycle routes beyond install: upgrade, custom actions, logs,
// uninstall as a job, the jobs themselves and their event streams.

var (
	errTextBadQuery = text{"查询参数 %s 的值 %q 不合法", "query parameter %s has a bad value %q"}
	hintBadQuery    = text{"%s", "%s"}
)

// upgradeInstallation moves an installation to the catalog's version of its
// bundle: body {"parameters":{...},"allow":[...],"restoreOnFailure":bool}
// (optional). 202 with the installation;
// Location names the job.
func (s *Server) upgradeInstallation(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	var req apitype.UpgradeRequest
	kind, err := bodyKindOf(c)
	if err != nil {
		return err
	}
	if kind == bodyJSON {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	allowPrivileged, err := s.allowOf(c, req.Allow)
	if err != nil {
		return err
	}
	inst, err := s.eng.Upgrade(c.UserContext(), engine.UpgradeOptions{Name: name, Parameters: req.Parameters, AllowPrivileged: allowPrivileged, RestoreOnFailure: req.RestoreOnFailure, NoBackup: req.NoBackup})
	if err != nil {
		return fmt.Errorf("upgrade %q: %w", name, err)
	}
	if allowPrivileged {
		s.audit(c, "allow-privileged", name, inst.JobID)
	}
	s.audit(c, "upgrade", name, inst.JobID)
	if inst.JobID != "" {
		c.Location("/api/v1/jobs/" + inst.JobID)
	}
	return c.Status(fiber.StatusAccepted).JSON(toInstallationDTO(inst))
}

// installationAction runs a custom action (start, stop, restart, ...) of
// the installation's bundle as a job: 202 with the job.
func (s *Server) installationAction(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	opts := engine.ActionOptions{Name: name, Action: c.Params("action")}
	if err := opts.Validate(); err != nil {
		return err
	}
	job, err := s.eng.Action(c.UserContext(), opts)
	if err != nil {
		return fmt.Errorf("%s %q: %w", opts.Action, name, err)
	}
	s.audit(c, opts.Action, name, job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(s.toJobDTO(job))
}

// queryInt reads an integer query parameter; absent means def.
func queryInt(c *fiber.Ctx, key string, def int) (int, error) {
	v := c.Query(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &apiError{kind: engine.ErrInvalid, msg: errTextBadQuery, msgArgs: []any{key, shorten(v)},
			hint: hintBadQuery, hintArgs: []any{"use a whole number >= 0"}}
	}
	return n, nil
}

// queryBool reads a boolean query parameter; absent means false.
func queryBool(c *fiber.Ctx, key string) (bool, error) {
	v := c.Query(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &apiError{kind: engine.ErrInvalid, msg: errTextBadQuery, msgArgs: []any{key, shorten(v)},
			hint: hintBadQuery, hintArgs: []any{"use true or false"}}
	}
	return b, nil
}

// installationLogs streams the main container's log (or ?service=) as
// text: ?tail=N last lines (default 100, 0 all), ?follow=true keeps the
// stream open for new lines.
func (s *Server) installationLogs(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	tail, err := queryInt(c, "tail", 100)
	if err != nil {
		return err
	}
	follow, err := queryBool(c, "follow")
	if err != nil {
		return err
	}
	service := c.Query("service")
	if service != "" {
		if err := engine.ValidateName("service", service); err != nil {
			return err
		}
	}
	// The stream outlives this handler: it ends with the server, or when
	// the client goes away (a write fails).
	ctx, cancel := context.WithCancel(*s.base.Load())
	rc, err := s.eng.Logs(ctx, engine.LogsOptions{Name: name, Service: service, Tail: tail, Follow: follow})
	if err != nil {
		cancel()
		return fmt.Errorf("logs of %q: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		defer rc.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := rc.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				if werr := w.Flush(); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	return nil
}

// deleteInstallation uninstalls; ?purge=true also deletes the app's data
// volumes. It waits for the work to finish, unless ?async=true: then it
// answers 202 with the uninstall job.
func (s *Server) deleteInstallation(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	purge, err := queryBool(c, "purge")
	if err != nil {
		return err
	}
	async, err := queryBool(c, "async")
	if err != nil {
		return err
	}
	opts := engine.UninstallOptions{Name: name, Purge: purge}
	if async {
		job, err := s.eng.UninstallJob(c.UserContext(), opts)
		if err != nil {
			return fmt.Errorf("uninstall %q: %w", name, err)
		}
		s.audit(c, "uninstall", name, job.ID)
		c.Location("/api/v1/jobs/" + job.ID)
		return c.Status(fiber.StatusAccepted).JSON(s.toJobDTO(job))
	}
	if err := s.eng.Uninstall(c.UserContext(), opts); err != nil {
		return fmt.Errorf("uninstall %q: %w", name, err)
	}
	s.audit(c, "uninstall", name, "")
	return c.JSON(fiber.Map{"name": name, "status": string(engine.StatusUninstalled), "purged": purge})
}

// listJobs answers {"jobs":[...]}, newest first; ?limit=N (default 50).
func (s *Server) listJobs(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	jobs, err := s.eng.Jobs(c.UserContext(), limit)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	out := make([]apitype.Job, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, s.toJobDTO(j))
	}
	return c.JSON(fiber.Map{"jobs": out})
}

// listUnmanaged answers the compose projects that carry StackHub's labels
// but that no installation claims: {"projects":[...]}.
func (s *Server) listUnmanaged(c *fiber.Ctx) error {
	ps, err := s.eng.Unmanaged(c.UserContext())
	if err != nil {
		return fmt.Errorf("list unmanaged projects: %w", err)
	}
	if ps == nil {
		ps = []string{}
	}
	return c.JSON(fiber.Map{"projects": ps})
}

// jobEvents streams a job's events as Server-Sent Events: every event so
// far (after Last-Event-ID, if sent), then new ones until the job ends.
// Each event is "id: <seq>", "event: status|step|log" and one JSON data
// line; a comment line every 15 seconds keeps proxies from closing the
// stream.
func (s *Server) jobEvents(c *fiber.Ctx) error {
	id := c.Params("id")
	if !plainID(id) {
		return &apiError{kind: engine.ErrInvalid, msg: errTextNameBad, msgArgs: []any{shorten(id)}, hint: hintNameBad}
	}
	after := 0
	if v := c.Get("Last-Event-ID"); v != "" {
		after, _ = strconv.Atoi(v)
	}
	past, next, stop, err := s.eng.JobEvents(c.UserContext(), id)
	if err != nil {
		return fmt.Errorf("events of job %q: %w", id, err)
	}
	base := *s.base.Load()
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer stop()
		write := func(ev engine.JobEvent) error {
			if ev.Seq <= after {
				return nil
			}
			data, _ := json.Marshal(apitype.JobEvent(ev))
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data); err != nil {
				return err
			}
			return w.Flush()
		}
		for _, ev := range past {
			if write(ev) != nil {
				return
			}
		}
		if next == nil {
			return
		}
		tick := time.NewTicker(15 * time.Second)
		defer tick.Stop()
		for {
			select {
			case ev, ok := <-next:
				if !ok || write(ev) != nil {
					return
				}
			case <-tick.C:
				if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || w.Flush() != nil {
					return
				}
			case <-base.Done():
				return
			}
		}
	})
	return nil
}
