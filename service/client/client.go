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
	"github.com/stackhub/stackhub/porter"
	"github.com/stackhub/stackhub/service/apitype"
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

// App is the API's App (service/apitype).
type App = apitype.App

// AppDetail is the API's AppDetail (service/apitype).
type AppDetail = apitype.AppDetail

// Permissions is the API's Permissions (service/apitype).
type Permissions = apitype.Permissions

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

// Installation is the API's Installation (service/apitype).
type Installation = apitype.Installation

// Job is the API's Job (service/apitype).
type Job = apitype.Job

// JobEvent is the API's JobEvent (service/apitype).
type JobEvent = apitype.JobEvent

// Server is the API's Server (service/apitype).
type Server = apitype.Server

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
func (c *Client) PorterInstallation(ctx context.Context, name string, reveal bool) (*porter.Installation, error) {
	q := url.Values{"format": {"porter"}}
	if reveal {
		q.Set("reveal", "true")
	}
	var out porter.Installation
	if err := c.doNumbers(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name), q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PorterInstallations returns Porter's documents of every installation,
// without parameters, newest modified first (porter list -o json).
func (c *Client) PorterInstallations(ctx context.Context) ([]*porter.Installation, error) {
	out := []*porter.Installation{}
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
	// Target is compose or swarm; empty: the server's default.
	Target string `json:"target,omitempty"`
}

// Upload is the API's Upload (service/apitype).
type Upload = apitype.Upload

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

// PreflightReport is the API's PreflightReport (service/apitype).
type PreflightReport = apitype.PreflightReport

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

// CatalogSource is the API's CatalogSource (service/apitype).
type CatalogSource = apitype.CatalogSource

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
	return c.UpgradeWith(ctx, name, apitype.UpgradeRequest{Parameters: params, Allow: allow})
}

// UpgradeWith starts an upgrade with every option of the request
// (restoreOnFailure among them).
func (c *Client) UpgradeWith(ctx context.Context, name string, req apitype.UpgradeRequest) (*Installation, error) {
	var out Installation
	if req.Parameters == nil {
		req.Parameters = map[string]string{}
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/upgrade", nil,
		req, &out); err != nil {
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

// User is the API's User (service/apitype).
type User = apitype.User

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

// Node is the API's Node (service/apitype).
type Node = apitype.Node

// JoinCommand is the API's JoinCommand (service/apitype).
type JoinCommand = apitype.JoinCommand

// Nodes lists the swarm cluster's nodes.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var out apitype.NodeList
	if err := c.do(ctx, http.MethodGet, "/api/v1/nodes", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Nodes, nil
}

// NodeJoin returns the command that joins a new worker, or manager, node
// (admins; the answer holds the join token).
func (c *Client) NodeJoin(ctx context.Context, manager bool) (*JoinCommand, error) {
	var out JoinCommand
	if err := c.do(ctx, http.MethodPost, "/api/v1/nodes/join", nil, map[string]bool{"manager": manager}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetNodeAvailability drains, pauses or activates a node (by ID or
// hostname) and returns it.
func (c *Client) SetNodeAvailability(ctx context.Context, node, availability string) (*Node, error) {
	var out Node
	if err := c.do(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(node)+"/availability", nil,
		map[string]string{"availability": availability}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveNode removes a node from the cluster; force removes one that still
// answers.
func (c *Client) RemoveNode(ctx context.Context, node string, force bool) error {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	return c.do(ctx, http.MethodDelete, "/api/v1/nodes/"+url.PathEscape(node), q, nil, nil)
}

// Domain is the API's Domain (service/apitype).
type Domain = apitype.Domain

// DomainRequest is the API's DomainRequest (service/apitype).
type DomainRequest = apitype.DomainRequest

// Domains lists the domains the reverse proxy routes.
func (c *Client) Domains(ctx context.Context) ([]Domain, error) {
	var out apitype.DomainList
	err := c.do(ctx, http.MethodGet, "/api/v1/domains", nil, nil, &out)
	return out.Domains, err
}

// AddDomain routes a domain to a port of an installed app.
func (c *Client) AddDomain(ctx context.Context, req DomainRequest) (*Domain, error) {
	var out Domain
	if err := c.do(ctx, http.MethodPost, "/api/v1/domains", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveDomain stops routing a domain.
func (c *Client) RemoveDomain(ctx context.Context, domain string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/domains/"+url.PathEscape(domain), nil, nil, nil)
}

// GateURL asks for a pass through the proxy's login gate for rd, the
// https address of an app behind a domain added with login, and returns
// the address (on the app's host, with a one-minute ticket) that sets the
// proxy's cookie when a browser opens it.
func (c *Client) GateURL(ctx context.Context, rd string) (string, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/gate", url.Values{"rd": {rd}}, nil)
	if err != nil {
		return "", err
	}
	hc := http.DefaultClient
	if c.HTTP != nil {
		hc = c.HTTP
	}
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cc := *c
	cc.HTTP = &noFollow
	resp, err := cc.send(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc == "" {
		return "", fmt.Errorf("gate for %s: the server answered %s without an address", rd, resp.Status)
	}
	return loc, nil
}

// Backup is one backup of an installation.
type Backup = apitype.Backup

// BackupDetail is a backup and the names of what its record holds.
type BackupDetail = apitype.BackupDetail

// CreateBackup starts backing an installation up.
func (c *Client) CreateBackup(ctx context.Context, name string) (*Job, error) {
	var out Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/backups", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Backups lists an installation's backups, newest first.
func (c *Client) Backups(ctx context.Context, name string) ([]Backup, error) {
	var out apitype.BackupList
	if err := c.do(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name)+"/backups", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Backups, nil
}

// Backup returns one backup ("latest": the newest).
func (c *Client) Backup(ctx context.Context, name, id string) (*BackupDetail, error) {
	var out BackupDetail
	if err := c.do(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name)+"/backups/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestoreBackup starts restoring a backup: in place, or as a new
// installation named as.
func (c *Client) RestoreBackup(ctx context.Context, name, id, as string) (*Job, error) {
	var out Job
	body := apitype.RestoreRequest{As: as}
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/backups/"+url.PathEscape(id)+"/restore", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// VerifyBackup starts verifying a backup: it is restored into a scratch
// installation, waited for and removed; the outcome shows on the backup.
func (c *Client) VerifyBackup(ctx context.Context, name, id string) (*Job, error) {
	var out Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/backups/"+url.PathEscape(id)+"/verify", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportServer returns every installation with its newest backup and the
// backup repository (admins).
func (c *Client) ExportServer(ctx context.Context) (*apitype.ServerExport, error) {
	var out apitype.ServerExport
	if err := c.do(ctx, http.MethodGet, "/api/v1/server/export", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportServer reinstalls every installation of an export from its
// backup (admins): a job each, or the reason it was skipped.
func (c *Client) ImportServer(ctx context.Context, doc *apitype.ServerExport) (*apitype.ServerImportResult, error) {
	var out apitype.ServerImportResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/server/import", nil, doc, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteBackup deletes one backup.
func (c *Client) DeleteBackup(ctx context.Context, name, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/installations/"+url.PathEscape(name)+"/backups/"+url.PathEscape(id), nil, nil, nil)
}

// BackupSchedule returns an installation's effective backup schedule.
func (c *Client) BackupSchedule(ctx context.Context, name string) (*apitype.BackupSchedule, error) {
	var out apitype.BackupSchedule
	if err := c.do(ctx, http.MethodGet, "/api/v1/installations/"+url.PathEscape(name)+"/backups/schedule", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetBackupSchedule gives an installation its own backup schedule (or
// turns it off) and returns the effective one.
func (c *Client) SetBackupSchedule(ctx context.Context, name string, req apitype.BackupScheduleRequest) (*apitype.BackupSchedule, error) {
	var out apitype.BackupSchedule
	if err := c.do(ctx, http.MethodPut, "/api/v1/installations/"+url.PathEscape(name)+"/backups/schedule", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClearBackupSchedule drops an installation's own backup schedule and
// returns the effective one (the server's default).
func (c *Client) ClearBackupSchedule(ctx context.Context, name string) (*apitype.BackupSchedule, error) {
	var out apitype.BackupSchedule
	if err := c.do(ctx, http.MethodDelete, "/api/v1/installations/"+url.PathEscape(name)+"/backups/schedule", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PruneBackups deletes the backups keep does not keep and returns their ids.
func (c *Client) PruneBackups(ctx context.Context, name string, keep apitype.PruneRequest) ([]string, error) {
	var out apitype.PruneResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/installations/"+url.PathEscape(name)+"/backups/prune", nil, keep, &out); err != nil {
		return nil, err
	}
	return out.Removed, nil
}
