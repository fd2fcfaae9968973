// Package client is the Go client of StackHub's REST API (/api/v1), used by
// the stackhub command line. It speaks HTTP only: it must not import the
// engine's adapters (Docker, database/sql, cnab-go) nor fiber. Errors the
// service answers come back as *engine.UserError wrapping the engine's
// sentinel for the HTTP status, so callers classify them with errors.Is
// and print their hint.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// Client talks to one StackHub service.
type Client struct {
	// BaseURL is the service, e.g. http://127.0.0.1:9000.
	BaseURL string
	// Token is an API token sent as Authorization: Bearer.
	Token string
	// Lang is sent as Accept-Language ("zh" or "en"; empty: the server's default).
	Lang string
	HTTP *http.Client
}

// New returns a client of the service at baseURL.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{}}
}

// App is one catalog entry. Title and Description are in the language
// the server was asked for; Titles and Descriptions hold both.
type App struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category,omitempty"`
	Ports       []struct {
		Name     string `json:"name"`
		Service  string `json:"service,omitempty"`
		Target   int    `json:"target,omitempty"`
		Protocol string `json:"protocol,omitempty"`
		HostIP   string `json:"hostIP,omitempty"`
	} `json:"ports"`
	Titles        map[string]string `json:"titles,omitempty"`
	Descriptions  map[string]string `json:"descriptions,omitempty"`
	Keywords      []string          `json:"keywords,omitempty"`
	AppVersion    string            `json:"appVersion,omitempty"`
	Homepage      string            `json:"homepage,omitempty"`
	Architectures []string          `json:"architectures,omitempty"`
	Source        string            `json:"source,omitempty"`
}

// AppDetail is one catalog app with what its bundle asks of the host.
type AppDetail struct {
	App
	Readme      string       `json:"readme,omitempty"`
	Permissions *Permissions `json:"permissions,omitempty"`
}

// Permissions is what a bundle asks of the host (docs/security.md).
type Permissions struct {
	DockerSocket   bool     `json:"dockerSocket"`
	Privileged     []string `json:"privileged"`
	HostNamespaces []string `json:"hostNamespaces"`
	HostPaths      []struct {
		Service  string `json:"service"`
		Source   string `json:"source"`
		Target   string `json:"target"`
		ReadOnly bool   `json:"readOnly"`
	} `json:"hostPaths"`
	Ports []struct {
		Service  string `json:"service"`
		Target   int    `json:"target"`
		Protocol string `json:"protocol"`
		Host     int    `json:"host"`
		HostIP   string `json:"hostIP,omitempty"`
	} `json:"ports"`
	Devices            []string `json:"devices"`
	Capabilities       []string `json:"capabilities"`
	PrivilegedRequests []string `json:"privilegedRequests"`
	Incomplete         string   `json:"incomplete,omitempty"`
}

// AppDetail answers one catalog app's details; source picks one of
// several sources offering it (empty: the first).
func (c *Client) AppDetail(ctx context.Context, name, source string) (*AppDetail, error) {
	q := url.Values{}
	if source != "" {
		q.Set("source", source)
	}
	var out AppDetail
	if err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(name), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Installation is an installed app.
type Installation struct {
	Name          string         `json:"name"`
	App           string         `json:"app"`
	Version       string         `json:"version"`
	Status        string         `json:"status"`
	Reason        string         `json:"reason,omitempty"`
	ContainerName string         `json:"containerName"`
	Ports         map[string]int `json:"ports"`
	JobID         string         `json:"jobId,omitempty"`
	Created       time.Time      `json:"created"`
	Modified      time.Time      `json:"modified"`
	Installed     *time.Time     `json:"installed,omitempty"`
}

// Job is a long-running piece of work.
type Job struct {
	ID           string     `json:"id"`
	Installation string     `json:"installation"`
	Action       string     `json:"action"`
	Status       string     `json:"status"`
	Message      string     `json:"message,omitempty"`
	Progress     int        `json:"progress"`
	Step         string     `json:"step,omitempty"`
	Created      time.Time  `json:"created"`
	Finished     *time.Time `json:"finished,omitempty"`
	Events       string     `json:"events"`
}

// JobEvent is one event of a job's stream.
type JobEvent struct {
	Job      string    `json:"job"`
	Seq      int       `json:"seq"`
	Type     string    `json:"type"`
	Status   string    `json:"status,omitempty"`
	Step     string    `json:"step,omitempty"`
	Progress int       `json:"progress"`
	Line     string    `json:"line,omitempty"`
	Time     time.Time `json:"time"`
}

// Final reports whether the event ends its job.
func (ev JobEvent) Final() bool {
	return ev.Type == "status" && (ev.Status == "succeeded" || ev.Status == "failed")
}

// Server is the host's health.
type Server struct {
	CPUPercent    float64 `json:"cpuPercent"`
	MemoryPercent float64 `json:"memoryPercent"`
	MemoryTotal   uint64  `json:"memoryTotal"`
	MemoryUsed    uint64  `json:"memoryUsed"`
	DiskPercent   float64 `json:"diskPercent"`
	DiskTotal     uint64  `json:"diskTotal"`
	DiskUsed      uint64  `json:"diskUsed"`
	Disks         []struct {
		Mount   string  `json:"mount"`
		Total   uint64  `json:"total"`
		Used    uint64  `json:"used"`
		Percent float64 `json:"percent"`
	} `json:"disks"`
	Load          []float64 `json:"load"`
	UptimeSeconds uint64    `json:"uptimeSeconds"`
	Hostname      string    `json:"hostname"`
	OS            string    `json:"os"`
	Kernel        string    `json:"kernel"`
	Risks         []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		What     string `json:"what"`
		Fix      string `json:"fix"`
	} `json:"risks"`
	Sampled time.Time `json:"sampled"`
}

// Token is a new API token; the secret is shown only once.
type Token struct {
	Token string `json:"token"`
	Name  string `json:"name"`
	User  string `json:"user"`
	Note  string `json:"note"`
}

// Login is a session the service opened.
type Login struct {
	Username  string    `json:"username"`
	CSRFToken string    `json:"csrfToken"`
	Expires   time.Time `json:"expires"`
	cookie    *http.Cookie
}

// sentinel maps an HTTP status to the engine's error kinds.
func sentinel(status int) error {
	switch {
	case status == http.StatusNotFound:
		return engine.ErrNotFound
	case status == http.StatusConflict:
		return engine.ErrConflict
	case status == http.StatusServiceUnavailable:
		return engine.ErrUnavailable
	case status >= 400 && status < 500:
		return engine.ErrInvalid
	}
	return fmt.Errorf("server error (HTTP %d)", status)
}

// StatusError is the HTTP status of a failed request; it is in the chain
// of every error the service answered.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Status) }

// Unauthenticated reports whether err is the service refusing the
// credentials.
func Unauthenticated(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusUnauthorized
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("server URL %q is not valid: %v", c.BaseURL, err),
			"pass --server http://HOST:PORT or set STACKHUB_SERVER")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Lang != "" {
		req.Header.Set("Accept-Language", c.Lang)
	}
	return req, nil
}

func (c *Client) send(req *http.Request) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, &engine.UserError{
			Msg:  fmt.Sprintf("cannot reach StackHub at %s: %v", c.BaseURL, unwrapURLError(err)),
			Hint: "start it with `stackhub serve`, or point --server / STACKHUB_SERVER at it",
			Err:  engine.ErrUnavailable,
		}
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb struct {
		Error string `json:"error"`
		Hint  string `json:"hint"`
	}
	if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
		eb.Error = strings.TrimSpace(string(data))
		if eb.Error == "" {
			eb.Error = resp.Status
		}
	}
	if resp.StatusCode == http.StatusUnauthorized && eb.Hint == "" {
		eb.Hint = "log in with `stackhub login`"
	}
	return nil, &engine.UserError{Msg: eb.Error, Hint: eb.Hint,
		Kind: sentinel(resp.StatusCode), Err: &StatusError{Status: resp.StatusCode}}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Login opens a session with a username and password.
func (c *Client) Login(ctx context.Context, username, password string) (*Login, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/api/v1/login", nil, map[string]string{"username": username, "password": password})
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l Login
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("read login answer: %w", err)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "stackhub_session" {
			l.cookie = ck
		}
	}
	if l.cookie == nil {
		return nil, errors.New("log in: the server sent no session cookie")
	}
	return &l, nil
}

// CreateToken makes an API token. With a session from Login it uses that
// session; otherwise the client's token.
func (c *Client) CreateToken(ctx context.Context, login *Login, name string) (*Token, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/api/v1/tokens", nil, map[string]string{"name": name})
	if err != nil {
		return nil, err
	}
	if login != nil {
		req.Header.Del("Authorization")
		req.AddCookie(&http.Cookie{Name: login.cookie.Name, Value: login.cookie.Value})
		req.Header.Set("X-CSRF-Token", login.CSRFToken)
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var t Token
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return &t, nil
}

// Apps lists the whole catalog, page after page.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	return c.SearchApps(ctx, AppQuery{})
}

// AppQuery narrows a catalog listing.
type AppQuery struct {
	Q, Category, Sort string
}

// SearchApps lists the catalog apps matching q, every page of them.
func (c *Client) SearchApps(ctx context.Context, q AppQuery) ([]App, error) {
	var all []App
	for page := 1; ; page++ {
		v := url.Values{"page": {strconv.Itoa(page)}, "per_page": {"200"}}
		for k, s := range map[string]string{"q": q.Q, "category": q.Category, "sort": q.Sort} {
			if s != "" {
				v.Set(k, s)
			}
		}
		var out struct {
			Apps  []App `json:"apps"`
			Total int   `json:"total"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/apps", v, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Apps...)
		if len(out.Apps) == 0 || len(all) >= out.Total {
			return all, nil
		}
	}
}

// List lists installations.
func (c *Client) List(ctx context.Context) ([]Installation, error) {
	var out struct {
		Installations []Installation `json:"installations"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/installations", nil, nil, &out)
	return out.Installations, err
}

// Unmanaged lists StackHub-labelled projects no installation claims.
func (c *Client) Unmanaged(ctx context.Context) ([]string, error) {
	var out struct {
		Projects []string `json:"projects"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/unmanaged", nil, nil, &out)
	return out.Projects, err
}

// Get returns one installation.
func (c *Client) Get(ctx context.Context, name string) (*Installation, error) {
	var out Installation
	if err := c.do(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PorterInstallation returns Porter's installation document of one
// installation (porter show -o json, porter-compat.md 7.3), with StackHub's
// facts under "stackhub". Sensitive values are masked unless reveal, which
// needs the admin role.
func (c *Client) PorterInstallation(ctx context.Context, name string, reveal bool) (*engine.PorterInstallation, error) {
	q := url.Values{"format": {"porter"}}
	if reveal {
		q.Set("reveal", "true")
	}
	var out engine.PorterInstallation
	if err := c.doNumbers(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name), q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PorterInstallations returns Porter's documents of every installation,
// without parameters, newest modified first (porter list -o json).
func (c *Client) PorterInstallations(ctx context.Context) ([]*engine.PorterInstallation, error) {
	out := []*engine.PorterInstallation{}
	if err := c.doNumbers(ctx, http.MethodGet, "/api/v1/installations", url.Values{"format": {"porter"}}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// doNumbers is do for answers with free-form values: numbers are kept as
// written (json.Number) instead of turning into float64.
func (c *Client) doNumbers(ctx context.Context, method, path string, query url.Values, out any) error {
	var raw json.RawMessage
	if err := c.do(ctx, method, path, query, nil, &raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Install starts installing app as name (empty: app) with parameters.
func (c *Client) Install(ctx context.Context, app, name string, params map[string]string) (*Installation, error) {
	return c.InstallFrom(ctx, InstallRequest{App: app, Name: name, Parameters: params})
}

// InstallRequest is the body of POST /api/v1/installations: one of App,
// Reference or Archive (a path on the server; admins only).
type InstallRequest struct {
	App              string            `json:"app,omitempty"`
	Name             string            `json:"name,omitempty"`
	Parameters       map[string]string `json:"parameters,omitempty"`
	Reference        string            `json:"reference,omitempty"`
	InsecureRegistry bool              `json:"insecureRegistry,omitempty"`
	// Archive names a file in the server's import folder; Upload is the
	// id Upload answered.
	Archive       string   `json:"archive,omitempty"`
	Upload        string   `json:"upload,omitempty"`
	SkipPreflight bool     `json:"skipPreflight,omitempty"`
	Allow         []string `json:"allow,omitempty"`
}

// Upload is a stored archive upload.
type Upload struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
	Name string `json:"name,omitempty"`
}

// UploadArchive streams the bundle archive r (named name, for display) to
// the server as multipart/form-data, without holding it in memory.
func (c *Client) UploadArchive(ctx context.Context, name string, r io.Reader) (*Upload, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("archive", name)
		if err == nil {
			_, err = io.Copy(part, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := c.newRequest(ctx, http.MethodPost, "/api/v1/uploads", nil, nil)
	if err != nil {
		pr.Close()
		return nil, err
	}
	req.Body = pr
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.send(req)
	pr.Close()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out Upload
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("read answer of the upload: %w", err)
	}
	return &out, nil
}

// InstallFrom starts installing a catalog app, a bundle published to a
// registry, or a bundle archive on the server.
func (c *Client) InstallFrom(ctx context.Context, req InstallRequest) (*Installation, error) {
	var out Installation
	body := req
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PreflightReport says what installing an app would run into.
type PreflightReport struct {
	App    string `json:"app"`
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Checks []struct {
		Check   string `json:"check"`
		Status  string `json:"status"`
		Message string `json:"message"`
		Hint    string `json:"hint,omitempty"`
	} `json:"checks"`
	Ports map[string]int `json:"ports"`
}

// Preflight checks installing the catalog app under name (empty: the
// app's) without installing it.
func (c *Client) Preflight(ctx context.Context, app, name string, params map[string]string) (*PreflightReport, error) {
	var out PreflightReport
	if err := c.do(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(app)+"/preflight", nil,
		map[string]any{"name": name, "parameters": params}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CatalogSource is one place catalog apps come from.
type CatalogSource struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Path  string `json:"path,omitempty"`
	Apps  int    `json:"apps"`
	Added bool   `json:"added"`
	Error string `json:"error,omitempty"`
}

// CatalogSources lists the catalog's sources.
func (c *Client) CatalogSources(ctx context.Context) ([]CatalogSource, error) {
	var out struct {
		Sources []CatalogSource `json:"sources"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/catalog/sources", nil, nil, &out)
	return out.Sources, err
}

// AddCatalogSource adds a folder on the server as a catalog source.
func (c *Client) AddCatalogSource(ctx context.Context, name, path string) (*CatalogSource, error) {
	var out CatalogSource
	if err := c.do(ctx, http.MethodPost, "/api/v1/catalog/sources", nil, map[string]string{"name": name, "path": path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveCatalogSource forgets an added source.
func (c *Client) RemoveCatalogSource(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/catalog/sources/"+url.PathEscape(name), nil, nil, nil)
}

// RefreshCatalog makes the server read every source again.
func (c *Client) RefreshCatalog(ctx context.Context) ([]CatalogSource, error) {
	var out struct {
		Sources []CatalogSource `json:"sources"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/catalog/refresh", nil, nil, &out)
	return out.Sources, err
}

// Upgrade starts upgrading an installation to the catalog's version.
func (c *Client) Upgrade(ctx context.Context, name string, params map[string]string) (*Installation, error) {
	return c.UpgradeAllowing(ctx, name, params, nil)
}

// UpgradeAllowing is Upgrade with consent to the new version's privileged
// requests (allow: "privileged"; admins only).
func (c *Client) UpgradeAllowing(ctx context.Context, name string, params map[string]string, allow []string) (*Installation, error) {
	var out Installation
	body := map[string]any{"parameters": params}
	if len(allow) > 0 {
		body["allow"] = allow
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/upgrade", nil,
		body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Action starts a custom action (start, stop, restart, ...).
func (c *Client) Action(ctx context.Context, name, action string) (*Job, error) {
	var out Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/actions/"+url.PathEscape(action), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Uninstall starts uninstalling; purge also deletes the app's data.
func (c *Client) Uninstall(ctx context.Context, name string, purge bool) (*Job, error) {
	var out Job
	q := url.Values{"async": {"true"}, "purge": {strconv.FormatBool(purge)}}
	if err := c.do(ctx, http.MethodDelete, "/api/v1/installations/"+url.PathEscape(name), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Logs streams an installation's container log.
func (c *Client) Logs(ctx context.Context, name, service string, tail int, follow bool) (io.ReadCloser, error) {
	q := url.Values{"tail": {strconv.Itoa(tail)}, "follow": {strconv.FormatBool(follow)}}
	if service != "" {
		q.Set("service", service)
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name)+"/logs", q, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	var out Job
	if err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Jobs lists the newest jobs.
func (c *Client) Jobs(ctx context.Context, limit int) ([]Job, error) {
	var out struct {
		Jobs []Job `json:"jobs"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/jobs", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &out)
	return out.Jobs, err
}

// Server returns the host's health.
func (c *Client) Server(ctx context.Context) (*Server, error) {
	var out Server
	if err := c.do(ctx, http.MethodGet, "/api/v1/server", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Follow reads the job's Server-Sent Events, calling fn for each, until the
// job's final event (which it returns), ctx ends or fn fails.
func (c *Client) Follow(ctx context.Context, jobID string, fn func(JobEvent) error) (*JobEvent, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(jobID)+"/events", nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if len(data) == 0 {
				continue
			}
			var ev JobEvent
			err := json.Unmarshal(data, &ev)
			data = data[:0]
			if err != nil {
				return nil, fmt.Errorf("read events of job %s: %w", jobID, err)
			}
			if err := fn(ev); err != nil {
				return nil, err
			}
			if ev.Final() {
				return &ev, nil
			}
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimSpace(line[len("data:"):])...)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("read events of job %s: %w", jobID, err)
	}
	// The stream ended without a final event; ask for the job's state.
	j, err := c.Job(ctx, jobID)
	if err != nil {
		return nil, err
	}
	return &JobEvent{Job: j.ID, Type: "status", Status: j.Status, Line: j.Message, Progress: j.Progress}, nil
}

// User is an account of the service.
type User struct {
	Username string    `json:"username"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created,omitzero"`
}

// Me returns the caller's name and role.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var out User
	if err := c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Users lists the accounts (admin).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/users", nil, nil, &out)
	return out.Users, err
}

// CreateUser adds an account (admin).
func (c *Client) CreateUser(ctx context.Context, username, password, role string) (*User, error) {
	var out User
	body := map[string]string{"username": username, "password": password, "role": role}
	if err := c.do(ctx, http.MethodPost, "/api/v1/users", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetRole changes an account's role (admin).
func (c *Client) SetRole(ctx context.Context, username, role string) error {
	return c.do(ctx, http.MethodPatch, "/api/v1/users/"+url.PathEscape(username), nil, map[string]string{"role": role}, nil)
}

// DeleteUser removes an account (admin).
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(username), nil, nil, nil)
}
