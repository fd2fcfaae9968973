package service

import (
	"cmp"
	"fmt"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/porter"
	"github.com/stackhub/stackhub/service/apitype"
)

// The REST API under /api/v1. Its payloads (service/apitype) are kept apart from the engine's
// types so the API stays stable while the engine changes; installation
// parameters (which may hold secrets) are never returned, except in
// Porter's installation document (?format=porter), whose shape Porter
// fixes: there sensitive values are masked unless an admin asks for them
// with ?reveal=true.

func toInstallationDTO(inst *engine.Installation) apitype.Installation {
	ports := inst.Ports
	if ports == nil {
		ports = map[string]int{}
	}
	return apitype.Installation{
		Name: inst.Name, App: inst.App, Version: inst.BundleVersion, Status: string(inst.Status),
		Reason: inst.Reason, ContainerName: inst.ContainerName, Ports: ports, JobID: inst.JobID,
		Created: inst.Created.UTC(), Modified: inst.Modified.UTC(), Installed: utcPtr(inst.Installed),
		Target: engine.SwarmTarget(inst),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// listInstallations answers {"installations":[...]}, or with
// ?format=porter the array porter list -o json prints.
func (s *Server) listInstallations(c *fiber.Ctx) error {
	asPorter, err := porterFormat(c)
	if err != nil {
		return err
	}
	list, err := s.eng.List(c.UserContext())
	if err != nil {
		return fmt.Errorf("list installations: %w", err)
	}
	if asPorter {
		docs := make([]*porter.Installation, 0, len(list))
		for _, inst := range list {
			d, err := s.eng.PorterDocument(c.UserContext(), inst, porter.DocOptions{StackHub: true})
			if err != nil {
				return fmt.Errorf("describe installation %q: %w", inst.Name, err)
			}
			docs = append(docs, d)
		}
		porter.SortInstallations(docs)
		return c.JSON(docs)
	}
	out := make([]apitype.Installation, 0, len(list))
	for _, inst := range list {
		out = append(out, toInstallationDTO(inst))
	}
	return c.JSON(fiber.Map{"installations": out})
}

type installRequest struct {
	App        string            `json:"app"`
	Name       string            `json:"name"`
	Parameters map[string]string `json:"parameters"`
	// Reference installs a bundle published to an OCI registry instead of
	// a catalog app; only registries on the allow-list are contacted.
	Reference        string `json:"reference"`
	InsecureRegistry bool   `json:"insecureRegistry"`
	// Archive is the name of a thick bundle archive in the import folder.
	Archive string `json:"archive"`
	// Upload is the id of an uploaded archive (POST /api/v1/uploads).
	Upload string `json:"upload"`
	// SkipPreflight installs even when the host looks too small for the app.
	SkipPreflight bool `json:"skipPreflight"`
	// Allow lists what the caller allows the bundle beyond the ordinary:
	// "privileged" (admins only).
	Allow []string `json:"allow"`
	// Target is compose or swarm; empty: the server's default.
	Target string `json:"target"`
}

// createInstallation starts an install: body {"app","name","parameters"},
// or {"reference","insecureRegistry"}, {"archive"} (a file name in the
// import folder) or {"upload"} (an upload id) instead of "app" (JSON, or
// form fields app and name). Operators install catalog apps; the other
// sources are for admins. It answers 202 with the installation and a
// Location of the job to follow.
func (s *Server) createInstallation(c *fiber.Ctx) error {
	var req installRequest
	kind, err := bodyKindOf(c)
	if err != nil {
		return err
	}
	switch kind {
	case bodyJSON:
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	case bodyForm:
		in, err := bindStrings(c, false, "app", "name", "target")
		if err != nil {
			return err
		}
		req.App, req.Name, req.Target = in["app"], in["name"], in["target"]
	}
	if (req.Reference != "" || req.Archive != "" || req.Upload != "") && s.roleOf(c) != RoleAdmin {
		return &apiError{kind: errForbidden, msg: errTextArchiveRole, hint: hintArchiveRole}
	}
	allowPrivileged, err := s.allowOf(c, req.Allow)
	if err != nil {
		return err
	}
	if req.Archive != "" && req.Upload != "" {
		return engine.NewUserError(engine.ErrInvalid, "pass an app, a reference, an archive or an upload, not several", "")
	}
	archive := ""
	switch {
	case req.Archive != "":
		if archive, err = s.importPath(req.Archive); err != nil {
			return err
		}
	case req.Upload != "":
		if archive, err = s.uploadPath(req.Upload); err != nil {
			return err
		}
	}
	opts := engine.InstallOptions{App: req.App, Name: req.Name, Parameters: req.Parameters,
		Reference: req.Reference, Insecure: req.InsecureRegistry, Archive: archive, SkipPreflight: req.SkipPreflight,
		AllowPrivileged: allowPrivileged, Target: req.Target}
	if err := opts.Validate(); err != nil {
		return err
	}
	inst, err := s.eng.Install(c.UserContext(), opts)
	if err != nil {
		return fmt.Errorf("install %q: %w", cmp.Or(opts.Name, opts.App, opts.Reference, req.Archive, req.Upload), err)
	}
	if req.Upload != "" {
		// Its images are in Docker now; an upload is used once, so that
		// archives of gigabytes do not pile up in the data folder.
		if err := os.Remove(archive); err != nil {
			s.log.Warn("remove installed upload", "upload", req.Upload, "err", err)
		}
	}
	if allowPrivileged {
		s.audit(c, "allow-privileged", inst.Name, inst.JobID)
	}
	s.audit(c, "install", inst.Name, inst.JobID)
	if inst.JobID != "" {
		c.Location("/api/v1/jobs/" + inst.JobID)
	}
	return c.Status(fiber.StatusAccepted).JSON(toInstallationDTO(inst))
}

// nameParam returns the :name path parameter, checked.
func nameParam(c *fiber.Ctx) (string, error) {
	name := c.Params("name")
	if err := engine.ValidateName("installation name", name); err != nil {
		return "", err
	}
	return name, nil
}

// getInstallation answers one installation, or with ?format=porter the
// document porter show -o json prints; sensitive values in it are masked
// unless an admin adds ?reveal=true.
func (s *Server) getInstallation(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	asPorter, err := porterFormat(c)
	if err != nil {
		return err
	}
	reveal, err := queryBool(c, "reveal")
	if err != nil {
		return err
	}
	if reveal && !asPorter {
		return &apiError{kind: engine.ErrInvalid, msg: errTextRevealFormat, hint: hintRevealFormat}
	}
	if reveal && s.roleOf(c) != RoleAdmin {
		user, _ := c.Locals(localUser).(string)
		return &apiError{kind: errForbidden, msg: errTextRole, msgArgs: []any{RoleAdmin, user, s.roleOf(c)}, hint: hintRole}
	}
	inst, err := s.eng.Get(c.UserContext(), name)
	if err != nil {
		return fmt.Errorf("get installation %q: %w", name, err)
	}
	if !asPorter {
		out := toInstallationDTO(inst)
		if out.Target == "swarm" {
			// The status above stands without the manager's answer.
			svcs, err := s.eng.SwarmServices(c.UserContext(), name)
			if err != nil {
				s.log.Warn("list swarm services", "installation", name, "err", err)
			}
			for _, sv := range svcs {
				out.Swarm = append(out.Swarm, apitype.SwarmService{Name: sv.Name, Service: sv.Service,
					Replicas: sv.Replicas, Running: sv.Running, Nodes: sv.Nodes, Update: sv.Update,
					DataNode: sv.DataNode, Problem: sv.Problem})
			}
		}
		return c.JSON(out)
	}
	doc, err := s.eng.PorterDocument(c.UserContext(), inst, porter.DocOptions{Resolve: true, Reveal: reveal, StackHub: true})
	if err != nil {
		return fmt.Errorf("describe installation %q: %w", name, err)
	}
	if reveal {
		s.audit(c, "reveal-secrets", name, "")
	}
	return c.JSON(doc)
}

var (
	errTextFormat       = text{"不支持格式%q", "format %q is not supported"}
	hintFormat          = text{"去掉format，或使用format=porter", "leave format out, or use format=porter"}
	errTextRevealFormat = text{"reveal只能与format=porter一起使用", "reveal works only with format=porter"}
	hintRevealFormat    = text{"加上format=porter", "add format=porter"}
)

// porterFormat reads ?format=: empty answers StackHub's DTO, "porter"
// Porter's installation document (porter-compat.md 7.3).
func porterFormat(c *fiber.Ctx) (bool, error) {
	switch f := c.Query("format"); f {
	case "":
		return false, nil
	case "porter":
		return true, nil
	default:
		return false, &apiError{kind: engine.ErrInvalid, msg: errTextFormat, msgArgs: []any{shorten(f)}, hint: hintFormat}
	}
}

// getJob answers one job.
func (s *Server) getJob(c *fiber.Ctx) error {
	id := c.Params("id")
	if !plainID(id) {
		return &apiError{kind: engine.ErrInvalid, msg: errTextNameBad, msgArgs: []any{shorten(id)}, hint: hintNameBad}
	}
	job, err := s.eng.Job(c.UserContext(), id)
	if err != nil {
		return fmt.Errorf("get job %q: %w", id, err)
	}
	return c.JSON(s.toJobDTO(job))
}

func (s *Server) toJobDTO(job *engine.Job) apitype.Job {
	progress, step := s.eng.JobProgress(job)
	return apitype.Job{
		ID: job.ID, Installation: job.Installation, Action: job.Action, Status: job.Status, Message: job.Message,
		Progress: progress, Step: step, Created: job.Created.UTC(), Finished: utcPtr(job.Finished),
		Events: "/api/v1/jobs/" + job.ID + "/events",
	}
}

// getServer answers the host's latest health sample.
func (s *Server) getServer(c *fiber.Ctx) error {
	st, err := s.eng.Server(c.UserContext())
	if err != nil {
		return fmt.Errorf("sample server: %w", err)
	}
	out := apitype.Server{
		CPUPercent: st.CPUPercent, MemoryPercent: st.MemoryPercent, MemoryTotal: st.MemoryTotal,
		MemoryUsed: st.MemoryUsed, DiskPercent: st.DiskPercent, DiskTotal: st.DiskTotal, DiskUsed: st.DiskUsed,
		Disks: make([]apitype.Disk, 0, len(st.Disks)), Load: []float64{st.Load1, st.Load5, st.Load15},
		UptimeSeconds: st.UptimeSeconds, Hostname: st.Hostname, OS: st.OS, Kernel: st.Kernel,
		Risks: make([]apitype.Risk, 0, len(st.Risks)), Sampled: st.Sampled.UTC(),
	}
	for _, d := range st.Disks {
		out.Disks = append(out.Disks, apitype.Disk(d))
	}
	for _, r := range st.Risks {
		out.Risks = append(out.Risks, apitype.Risk(r))
	}
	if d := st.Docker; d != nil {
		out.Docker = &apitype.Docker{Version: d.Version, APIVersion: d.APIVersion, Containers: d.Containers,
			Running: d.Running, Images: d.Images, StorageDriver: d.StorageDriver, SwarmManager: d.SwarmManager}
	}
	return c.JSON(out)
}
