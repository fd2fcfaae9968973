package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

// The product document's endpoints. Each answers the envelope
// {"code":"1","message":...,"data":{...}} on success; failures go through
// handleError, which answers code "0" with a message saying what went wrong
// and how to fix it.

// prdAppData is one app in getAppInfo and getAllAppInfo.
type prdAppData struct {
	AppName       string `json:"appName"`
	ContainerName string `json:"containerName"`
	// Status is the document's code: "0" not started, "1" running, "2" failed.
	Status string `json:"status"`
	Port   string `json:"port"`
	DBPort string `json:"db_port"`
	// Info is the failure reason when Status is "2", else what the app is
	// doing, if anything.
	Info string `json:"info"`
	// State is StackHub's own lifecycle state (installing, running, ...).
	State string `json:"state"`
}

func appData(inst *engine.Installation, l lang) prdAppData {
	return prdAppData{
		AppName:       inst.Name,
		ContainerName: inst.ContainerName,
		Status:        inst.Status.PRDStatus(),
		Port:          mainPort(inst.Ports),
		DBPort:        portString(inst.Ports, "db_port"),
		Info:          localReason(inst.Reason, l),
		State:         string(inst.Status),
	}
}

// mainPort is the installation's "port" port, else its lowest-numbered
// port other than db_port, else "".
func mainPort(ports map[string]int) string {
	if p, ok := ports["port"]; ok {
		return strconv.Itoa(p)
	}
	best := 0
	for name, p := range ports {
		if name != "db_port" && (best == 0 || p < best) {
			best = p
		}
	}
	if best == 0 {
		return ""
	}
	return strconv.Itoa(best)
}

func portString(ports map[string]int, name string) string {
	if p, ok := ports[name]; ok {
		return strconv.Itoa(p)
	}
	return ""
}

// appNameOf binds and checks appName from the query string (GET) or a
// JSON or form body (POST).
func appNameOf(c *fiber.Ctx) (string, error) {
	in, err := bindStrings(c, true, "appName")
	if err != nil {
		return "", err
	}
	name := in["appName"]
	if name == "" {
		return "", &apiError{kind: engine.ErrInvalid, msg: errTextAppNameEmpty, hint: hintAppNameEmpty}
	}
	if err := engine.ValidateName("appName", name); err != nil {
		return "", &apiError{kind: engine.ErrInvalid, msg: errTextAppNameBad, msgArgs: []any{shorten(name)},
			hint: hintAppNameBad, cause: err}
	}
	return name, nil
}

func shorten(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

type prdInstallData struct {
	ContainerName string `json:"containerName"`
	Port          string `json:"port"`
	DBPort        string `json:"db_port"`
	Info          string `json:"info"`
	JobID         string `json:"jobId"`
}

// installApp starts installing appName and answers at once (202): the
// container name and ports are known; the install runs as a job.
func (s *Server) installApp(c *fiber.Ctx) error {
	name, err := appNameOf(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	inst, err := s.eng.Install(ctx, engine.InstallOptions{App: name})
	if err != nil {
		if errors.Is(err, engine.ErrConflict) {
			if existing, gerr := s.eng.Get(ctx, name); gerr == nil {
				return &apiError{kind: engine.ErrConflict, msg: errTextInstalled, msgArgs: []any{name},
					hint: hintInstalled, cause: err, data: appData(existing, langOf(c, langZH))}
			}
		}
		return opFailure(opInstall, name, err)
	}
	l := langOf(c, langZH)
	return c.Status(fiber.StatusAccepted).JSON(envelope{
		Code:    "1",
		Message: msgInstallAccepted.in(l, name),
		Data: prdInstallData{
			ContainerName: inst.ContainerName,
			Port:          mainPort(inst.Ports),
			DBPort:        portString(inst.Ports, "db_port"),
			Info:          msgInstallInfo.in(l),
			JobID:         inst.JobID,
		},
	})
}

// uninstallApp removes appName and waits for it. When that fails and the
// app's containers still run, the message says on which port it runs and
// how to stop it by hand; any other failure says what failed.
func (s *Server) uninstallApp(c *fiber.Ctx) error {
	name, err := appNameOf(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	err = s.eng.Uninstall(ctx, engine.UninstallOptions{Name: name})
	if err == nil {
		return c.JSON(envelope{Code: "1", Message: msgUninstalled.in(langOf(c, langZH), name), Data: fiber.Map{}})
	}
	if !errors.Is(err, engine.ErrStillRunning) {
		return opFailure(opUninstall, name, err)
	}
	inst, gerr := s.eng.Get(ctx, name)
	if gerr != nil || inst.Status == engine.StatusUninstalled {
		return opFailure(opUninstall, name, err)
	}
	port := mainPort(inst.Ports)
	if port == "" {
		port = "?"
	}
	l := langOf(c, langZH)
	data := appData(inst, l)
	data.Info = localReason(detail(err), l)
	return &apiError{kind: kindOf(err), msg: errTextStillRunning, msgArgs: []any{name, port},
		hint: hintStillRunning, hintArgs: []any{inst.ContainerName}, cause: err, data: data}
}

// getAppInfo answers one app's status.
func (s *Server) getAppInfo(c *fiber.Ctx) error {
	name, err := appNameOf(c)
	if err != nil {
		return err
	}
	inst, err := s.eng.Get(c.UserContext(), name)
	if err != nil {
		return opFailure(opGet, name, err)
	}
	return c.JSON(envelope{Code: "1", Message: msgAppInfo.in(langOf(c, langZH), name), Data: appData(inst, langOf(c, langZH))})
}

// getAllAppInfo answers the status of every installed app.
func (s *Server) getAllAppInfo(c *fiber.Ctx) error {
	list, err := s.eng.List(c.UserContext())
	if err != nil {
		return fmt.Errorf("list installations: %w", err)
	}
	l := langOf(c, langZH)
	apps := make([]prdAppData, 0, len(list))
	for _, inst := range list {
		apps = append(apps, appData(inst, l))
	}
	return c.JSON(envelope{Code: "1", Message: msgAllAppInfo.in(l), Data: fiber.Map{"apps": apps}})
}

type prdFailed struct {
	AppName string `json:"appName"`
	Error   string `json:"error"`
}

type prdUninstallAllData struct {
	Removed []string    `json:"removed"`
	Failed  []prdFailed `json:"failed"`
}

// uninstallAllApp uninstalls every app and lists what went and what did
// not.
func (s *Server) uninstallAllApp(c *fiber.Ctx) error {
	outcomes, err := s.eng.UninstallAll(c.UserContext())
	if err != nil && len(outcomes) == 0 {
		return fmt.Errorf("uninstall all: %w", err)
	}
	data := prdUninstallAllData{Removed: []string{}, Failed: []prdFailed{}}
	for _, o := range outcomes {
		if o.Error == "" {
			data.Removed = append(data.Removed, o.Name)
		} else {
			data.Failed = append(data.Failed, prdFailed{AppName: o.Name, Error: o.Error})
		}
	}
	if len(data.Failed) > 0 || err != nil {
		names := make([]string, 0, len(data.Failed))
		for _, f := range data.Failed {
			names = append(names, f.AppName)
		}
		return &apiError{kind: kindOf(err), msg: errTextSomeFailed, msgArgs: []any{strings.Join(names, ", ")},
			hint: hintSomeFailed, cause: errors.Join(err, errors.New(strings.Join(names, ", "))), data: data}
	}
	return c.JSON(envelope{Code: "1", Message: msgUninstalledAll.in(langOf(c, langZH), len(data.Removed)), Data: data})
}

type prdDisk struct {
	Mount   string `json:"mount"`
	Total   string `json:"total"`
	Used    string `json:"used"`
	Percent string `json:"percent"`
}

type prdRisk struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	What     string `json:"what"`
	Fix      string `json:"fix"`
}

type prdServerData struct {
	CPU      string    `json:"cpu"`
	Memory   string    `json:"memory"`
	HDD      string    `json:"hdd"`
	Risk     string    `json:"risk"`
	Load     string    `json:"load"`
	Uptime   string    `json:"uptime"`
	Hostname string    `json:"hostname"`
	OS       string    `json:"os"`
	Kernel   string    `json:"kernel"`
	Disks    []prdDisk `json:"disks"`
	Risks    []prdRisk `json:"risks"`
	// Docker is the engine's version ("" when Docker did not answer);
	// Network the counters of each interface, as decimal strings.
	Docker  string   `json:"docker"`
	Network []prdNet `json:"network"`
	Sampled string   `json:"sampled"`
	Info    string   `json:"info"`
}

type prdNet struct {
	Interface string `json:"interface"`
	BytesSent string `json:"bytesSent"`
	BytesRecv string `json:"bytesRecv"`
}

// searchServer answers the host's health: cpu, memory and disk use as
// "NN%", the count of risks found, and the details.
func (s *Server) searchServer(c *fiber.Ctx) error {
	st, err := s.eng.Server(c.UserContext())
	if err != nil {
		return fmt.Errorf("sample server: %w", err)
	}
	l := langOf(c, langZH)
	data := prdServerData{
		CPU:      percent(st.CPUPercent),
		Memory:   percent(st.MemoryPercent),
		HDD:      percent(st.DiskPercent),
		Risk:     strconv.Itoa(len(st.Risks)),
		Load:     fmt.Sprintf("%.2f %.2f %.2f", st.Load1, st.Load5, st.Load15),
		Uptime:   strconv.FormatUint(st.UptimeSeconds, 10),
		Hostname: st.Hostname,
		OS:       st.OS,
		Kernel:   st.Kernel,
		Disks:    make([]prdDisk, 0, len(st.Disks)),
		Risks:    make([]prdRisk, 0, len(st.Risks)),
		Info:     msgNoRisks.in(l),
	}
	if !st.Sampled.IsZero() {
		data.Sampled = st.Sampled.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, d := range st.Disks {
		data.Disks = append(data.Disks, prdDisk{
			Mount: d.Mount, Total: strconv.FormatUint(d.Total, 10), Used: strconv.FormatUint(d.Used, 10),
			Percent: percent(d.Percent),
		})
	}
	data.Network = make([]prdNet, 0, len(st.Network))
	for _, n := range st.Network {
		data.Network = append(data.Network, prdNet{Interface: n.Interface,
			BytesSent: strconv.FormatUint(n.BytesSent, 10), BytesRecv: strconv.FormatUint(n.BytesRecv, 10)})
	}
	if st.Docker != nil {
		data.Docker = st.Docker.Version
	}
	risks := append([]engine.Risk(nil), st.Risks...)
	sort.SliceStable(risks, func(i, j int) bool { return severityRank(risks[i].Severity) < severityRank(risks[j].Severity) })
	for _, r := range risks {
		data.Risks = append(data.Risks, prdRisk(r))
	}
	if len(risks) > 0 {
		data.Info = msgRisksFound.in(l, len(risks))
	}
	return c.JSON(envelope{Code: "1", Message: msgServer.in(l), Data: data})
}

func percent(v float64) string {
	if math.IsNaN(v) || v < 0 {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + "%"
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "high":
		return 1
	case "medium":
		return 2
	case "low":
		return 3
	}
	return 4
}

// opFailure describes an engine failure of op on app in both languages.
func opFailure(op text, app string, err error) error {
	switch {
	case errors.Is(err, engine.ErrNotFound) && op == opInstall:
		return &apiError{kind: engine.ErrNotFound, msg: errTextUnknownApp, msgArgs: []any{app},
			hint: hintUnknownApp, cause: err, data: fiber.Map{"info": detail(err)}}
	case errors.Is(err, engine.ErrNotFound):
		return &apiError{kind: engine.ErrNotFound, msg: errTextNotInstalled, msgArgs: []any{app},
			hint: hintNotInstalled, cause: err, data: fiber.Map{"info": detail(err)}}
	case errors.Is(err, engine.ErrConflict):
		return &apiError{kind: engine.ErrConflict, msg: errTextOpFailed, msgArgs: []any{app, op, detail(err)},
			hint: engineHint(err), cause: err, data: fiber.Map{"info": detail(err)}}
	case errors.Is(err, engine.ErrInvalid):
		return &apiError{kind: engine.ErrInvalid, msg: errTextOpFailed, msgArgs: []any{app, op, detail(err)},
			hint: engineHint(err), cause: err, data: fiber.Map{"info": detail(err)}}
	case errors.Is(err, engine.ErrUnavailable):
		return &apiError{kind: engine.ErrUnavailable, msg: errTextUnavailable, msgArgs: []any{app, op},
			hint: hintUnavailable, cause: err, data: fiber.Map{"info": detail(err)}}
	case errors.Is(err, engine.ErrActionFailed):
		// The engine's text repeats what failed; say it once, in the
		// caller's language, then the bundle's own words.
		d := detail(err)
		for _, prefix := range []string{"uninstall " + app + " failed: ", "uninstall failed: ", "install failed: ", "upgrade failed: "} {
			d = strings.TrimPrefix(d, prefix)
		}
		return &apiError{kind: engine.ErrActionFailed, msg: errTextOpFailed, msgArgs: []any{app, op, text{localReason(d, langZH), d}},
			hint: engineHint(err), cause: err, data: fiber.Map{"info": detail(err)}}
	}
	return &apiError{kind: kindOf(err), msg: errTextInternal, msgArgs: []any{app, op}, cause: err}
}

// detail is the engine's own (English) account of a failure.
func detail(err error) string {
	var ue *engine.UserError
	if errors.As(err, &ue) && ue.Msg != "" {
		return ue.Msg
	}
	return err.Error()
}

// engineHint carries the engine's (English) hint into both languages.
func engineHint(err error) text {
	h := engine.HintOf(err)
	return text{h, h}
}

// kindOf returns the sentinel err wraps, or nil (a 500).
func kindOf(err error) error {
	for _, k := range []error{engine.ErrInvalid, engine.ErrNotFound, engine.ErrConflict, engine.ErrUnavailable,
		engine.ErrActionFailed, errUnauthenticated, errForbidden, errRateLimited, context.DeadlineExceeded} {
		if errors.Is(err, k) {
			return k
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}
