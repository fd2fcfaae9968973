package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestPRDEndpoints(t *testing.T) {
	notInstalled := engine.NewUserError(engine.ErrNotFound, `installation "wordpress" not found`, "")
	tests := []struct {
		name       string
		path       string
		params     map[string]string
		eng        *fakeEngine
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{
			name: "installApp", path: "/installApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{InstallFunc: func(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
				if o.App != "redmine" {
					return nil, fmt.Errorf("app %q: %w", o.App, engine.ErrInvalid)
				}
				return redmine(engine.StatusInstalling, "queued"), nil
			}},
			wantStatus: http.StatusAccepted, wantCode: "1", wantMsg: "redmine安装任务已提交",
		},
		{
			name: "installApp_already_installed", path: "/installApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{
				InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
					return nil, engine.NewUserError(engine.ErrConflict, `installation "redmine" already exists`, "uninstall it first")
				},
				GetFunc: func(context.Context, string) (*engine.Installation, error) {
					return redmine(engine.StatusRunning, ""), nil
				},
			},
			wantStatus: http.StatusConflict, wantCode: "0", wantMsg: "redmine已经存在",
		},
		{
			name: "installApp_unknown_app", path: "/installApp", params: map[string]string{"appName": "nosuchapp"},
			eng: &fakeEngine{InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
				return nil, engine.NewUserError(engine.ErrNotFound, `app "nosuchapp" is not in the catalog`, "list the apps")
			}},
			wantStatus: http.StatusNotFound, wantCode: "0", wantMsg: "应用商店中没有nosuchapp",
		},
		{
			name: "installApp_port_conflict", path: "/installApp", params: map[string]string{"appName": "gitea"},
			eng: &fakeEngine{
				InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
					return nil, engine.NewUserError(engine.ErrConflict, `port 3000/tcp is pinned by "gitea" and in use`, "free port 3000")
				},
				GetFunc: func(context.Context, string) (*engine.Installation, error) { return nil, engine.ErrNotFound },
			},
			wantStatus: http.StatusConflict, wantCode: "0", wantMsg: "gitea安装失败：port 3000/tcp",
		},
		{
			name: "installApp_docker_down", path: "/installApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
				return nil, fmt.Errorf("ping docker: %w", engine.ErrUnavailable)
			}},
			wantStatus: http.StatusServiceUnavailable, wantCode: "0", wantMsg: "Docker",
		},
		{
			name: "installApp_internal", path: "/installApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
				return nil, errors.New("disk I/O error at /var/lib/stackhub/secret-path")
			}},
			wantStatus: http.StatusInternalServerError, wantCode: "0", wantMsg: "服务器内部错误",
		},
		{
			name: "uninstallApp", path: "/uninstallApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{UninstallFunc: func(_ context.Context, o engine.UninstallOptions) error {
				if o.Name != "redmine" || o.Purge {
					return engine.ErrInvalid
				}
				return nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "redmine卸载成功",
		},
		{
			name: "uninstallApp_not_installed", path: "/uninstallApp", params: map[string]string{"appName": "wordpress"},
			eng: &fakeEngine{UninstallFunc: func(context.Context, engine.UninstallOptions) error {
				return fmt.Errorf("uninstall: %w", notInstalled)
			}},
			wantStatus: http.StatusNotFound, wantCode: "0", wantMsg: "wordpress未安装",
		},
		{
			name: "uninstallApp_still_running", path: "/uninstallApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{
				UninstallFunc: func(context.Context, engine.UninstallOptions) error {
					return &engine.UserError{Msg: "uninstall redmine failed; it is still running (ports port 9001): container is stuck",
						Err: errors.Join(engine.ErrStillRunning, engine.ErrActionFailed)}
				},
				GetFunc: func(context.Context, string) (*engine.Installation, error) {
					return redmine(engine.StatusRunning, ""), nil
				},
			},
			wantStatus: http.StatusBadGateway, wantCode: "0",
			wantMsg: "redmine卸载失败，仍在运行，端口为9001。请SSH登录服务器后使用 docker ps 查看，并用 docker rm -f stackhub-redmine 手动停止容器",
		},
		{
			// Nothing runs: the message says what failed, never "still running".
			name: "uninstallApp_failed_nothing_running", path: "/uninstallApp", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{
				UninstallFunc: func(context.Context, engine.UninstallOptions) error {
					return &engine.UserError{Msg: "uninstall redmine failed: volume is in use", Hint: "stop what uses it; then uninstall again",
						Err: engine.ErrActionFailed}
				},
				GetFunc: func(context.Context, string) (*engine.Installation, error) {
					return redmine(engine.StatusFailed, ""), nil
				},
			},
			wantStatus: http.StatusBadGateway, wantCode: "0",
			wantMsg: "redmine卸载失败：volume is in use。stop what uses it; then uninstall again",
		},
		{
			name: "getAppInfo_running", path: "/getAppInfo", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{GetFunc: func(_ context.Context, name string) (*engine.Installation, error) {
				if name != "redmine" {
					return nil, engine.ErrNotFound
				}
				return redmine(engine.StatusRunning, ""), nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "redmine状态信息查询成功",
		},
		{
			name: "getAppInfo_failed", path: "/getAppInfo", params: map[string]string{"appName": "redmine"},
			eng: &fakeEngine{GetFunc: func(context.Context, string) (*engine.Installation, error) {
				return redmine(engine.StatusFailed, "install failed: container redmine-db exited with code 1: bad password (hint: set db_password)"), nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "redmine状态信息查询成功",
		},
		{
			name: "getAppInfo_not_installed", path: "/getAppInfo", params: map[string]string{"appName": "wordpress"},
			eng: &fakeEngine{GetFunc: func(context.Context, string) (*engine.Installation, error) {
				return nil, fmt.Errorf("get: %w", notInstalled)
			}},
			wantStatus: http.StatusNotFound, wantCode: "0", wantMsg: "wordpress未安装",
		},
		{
			name: "getAllAppInfo", path: "/getAllAppInfo",
			eng: &fakeEngine{ListFunc: func(context.Context) ([]*engine.Installation, error) {
				gitea := redmine(engine.StatusInstalling, "pulling images")
				gitea.Name, gitea.App, gitea.ContainerName = "gitea", "gitea", "stackhub-gitea"
				gitea.Ports = map[string]int{"ssh": 9012, "http": 9011}
				return []*engine.Installation{gitea, redmine(engine.StatusRunning, "")}, nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "已安装App状态信息查询成功",
		},
		{
			name: "getAllAppInfo_empty", path: "/getAllAppInfo",
			eng: &fakeEngine{ListFunc: func(context.Context) ([]*engine.Installation, error) {
				return nil, nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "已安装App状态信息查询成功",
		},
		{
			name: "uninstallAllApp", path: "/uninstallAllApp",
			eng: &fakeEngine{UninstallAllFunc: func(context.Context) ([]engine.UninstallOutcome, error) {
				return []engine.UninstallOutcome{{Name: "gitea"}, {Name: "redmine"}}, nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "已卸载全部App（2个）",
		},
		{
			name: "uninstallAllApp_partial", path: "/uninstallAllApp",
			eng: &fakeEngine{UninstallAllFunc: func(context.Context) ([]engine.UninstallOutcome, error) {
				return []engine.UninstallOutcome{{Name: "gitea"}, {Name: "redmine", Error: "remove project: container is stuck"}}, nil
			}},
			wantStatus: http.StatusInternalServerError, wantCode: "0", wantMsg: "部分App卸载失败：redmine",
		},
		{
			name: "searchServer", path: "/searchServer",
			eng: &fakeEngine{ServerFunc: func(context.Context) (*engine.ServerStatus, error) {
				return serverStatus(), nil
			}},
			wantStatus: http.StatusOK, wantCode: "1", wantMsg: "服务器状态信息查询成功",
		},
	}
	for _, tt := range tests {
		for enc, req := range encodings(tt.path, tt.params) {
			t.Run(tt.name+"/"+enc, func(t *testing.T) {
				s, _ := newTestServer(t, tt.eng)
				res := do(t, s, req)
				assert.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
				code, msg, _ := envelopeOf(t, res.body)
				assert.Equal(t, tt.wantCode, code)
				assert.Contains(t, msg, tt.wantMsg)
				assert.NotContains(t, string(res.body), "secret-path", "a 500's cause is logged, not sent")
				assert.NotContains(t, string(res.body), "never-shown", "parameters are never sent")
				golden(t, "prd_"+tt.name, res.body)
			})
		}
	}
}

func serverStatus() *engine.ServerStatus {
	return &engine.ServerStatus{
		CPUPercent: 10.4, MemoryPercent: 54.2, MemoryTotal: 8 << 30, MemoryUsed: 4 << 30,
		DiskPercent: 93.6, DiskTotal: 100 << 30, DiskUsed: 93 << 30,
		Disks: []engine.DiskUsage{{Mount: "/", Total: 100 << 30, Used: 93 << 30, Percent: 93.6}},
		Load1: 0.52, Load5: 0.58, Load15: 0.6, UptimeSeconds: 273600,
		Hostname: "box", OS: "ubuntu 22.04", Kernel: "5.15.0-100-generic",
		Risks: []engine.Risk{
			{ID: "container-restarting:stackhub-gitea", Severity: "medium", What: "container stackhub-gitea keeps restarting", Fix: "docker logs stackhub-gitea"},
			{ID: "disk-usage:/", Severity: "high", What: "disk / is 94% full", Fix: "free space"},
		},
		Sampled: t1,
	}
}

// TestPRDHostileInput sends bad appNames and bad bodies to the endpoints
// that take one: each gets code "0", a 4xx, a message saying what was wrong
// and how to fix it, and the engine is never called.
func TestPRDHostileInput(t *testing.T) {
	names := []struct {
		name    string
		appName string
		wantMsg string
	}{
		{"empty", "", "appName不能为空"},
		{"path traversal", "../../etc/passwd", "不合法"},
		{"dot dot", "..", "不合法"},
		{"slash", "redmine/../x", "不合法"},
		{"space", "red mine", "不合法"},
		{"leading space", " redmine", "不合法"},
		{"shell semicolon", "redmine;rm -rf /", "不合法"},
		{"shell subst", "$(id)", "不合法"},
		{"backticks", "`reboot`", "不合法"},
		{"pipe", "redmine|nc", "不合法"},
		{"upper case", "Redmine", "不合法"},
		{"leading dash", "-redmine", "不合法"},
		{"underscore", "red_mine", "不合法"},
		{"newline", "redmine\nx", "不合法"},
		{"null byte", "redmine\x00", "不合法"},
		{"unicode", "红矿", "不合法"},
		{"too long", strings.Repeat("a", 64), "不合法"},
		{"far too long", strings.Repeat("a", 3000), "不合法"},
	}
	for _, path := range []string{"/installApp", "/uninstallApp", "/getAppInfo"} {
		for _, n := range names {
			for enc, req := range encodings(path, map[string]string{"appName": n.appName}) {
				t.Run(path+"/"+n.name+"/"+enc, func(t *testing.T) {
					eng := &fakeEngine{}
					s, _ := newTestServer(t, eng)
					res := do(t, s, req)
					assert.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
					code, msg, _ := envelopeOf(t, res.body)
					assert.Equal(t, "0", code)
					assert.Contains(t, msg, n.wantMsg)
					assert.Contains(t, msg, "例如", "the message shows how to fix it")
					assert.Zero(t, eng.Calls(), "nothing reaches the engine")
				})
			}
		}
	}
}

func TestPRDBadBodies(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		ctype      string
		wantStatus int
		wantMsg    string
	}{
		{"malformed JSON", `{"appName":`, "application/json", http.StatusBadRequest, "不是合法的JSON"},
		{"JSON array", `["redmine"]`, "application/json", http.StatusBadRequest, "不是合法的JSON"},
		{"trailing data", `{"appName":"redmine"} {}`, "application/json", http.StatusBadRequest, "不是合法的JSON"},
		{"appName a number", `{"appName":42}`, "application/json", http.StatusBadRequest, "字段appName必须是字符串"},
		{"appName an object", `{"appName":{"$ne":""}}`, "application/json", http.StatusBadRequest, "字段appName必须是字符串"},
		{"unknown content type", `appName=redmine`, "text/xml", http.StatusUnsupportedMediaType, "不支持的Content-Type"},
		{"oversize body", `{"appName":"redmine","pad":"` + strings.Repeat("x", 5000) + `"}`, "application/json",
			http.StatusRequestEntityTooLarge, "请求体过大"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{}
			s, _ := newTestServer(t, eng)
			res := do(t, s, request{method: http.MethodPost, target: "/installApp", body: tt.body, ctype: tt.ctype})
			assert.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			code, msg, _ := envelopeOf(t, res.body)
			assert.Equal(t, "0", code)
			assert.Contains(t, msg, tt.wantMsg)
			assert.Zero(t, eng.Calls())
		})
	}
}

func TestPRDEnglish(t *testing.T) {
	eng := &fakeEngine{
		InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
			return redmine(engine.StatusInstalling, ""), nil
		},
		UninstallFunc: func(context.Context, engine.UninstallOptions) error {
			return errors.Join(engine.ErrStillRunning, errors.New("stuck"))
		},
		GetFunc: func(context.Context, string) (*engine.Installation, error) {
			return redmine(engine.StatusRunning, ""), nil
		},
	}
	tests := []struct {
		name, lang, target, want string
	}{
		{"en", "en-US,en;q=0.9", "/installApp?appName=redmine", "redmine is being installed"},
		{"en preferred over zh", "zh-CN;q=0.5,en;q=0.8", "/installApp?appName=redmine", "redmine is being installed"},
		{"zh preferred", "zh-CN,en;q=0.5", "/installApp?appName=redmine", "redmine安装任务已提交"},
		{"neither", "fr-FR", "/installApp?appName=redmine", "redmine安装任务已提交"},
		{"en q=0 ignored", "en;q=0,de", "/installApp?appName=redmine", "redmine安装任务已提交"},
		{"en failure", "en", "/uninstallApp?appName=redmine",
			"uninstalling redmine failed; it is still running on port 9001. log in to the server over SSH, look with docker ps, and stop it by hand with docker rm -f stackhub-redmine"},
		{"en bad name", "en", "/getAppInfo?appName=..%2Fx", `appName "../x" is not valid. use 1 to 63 lowercase letters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, eng)
			res := do(t, s, request{method: http.MethodGet, target: tt.target, headers: map[string]string{"Accept-Language": tt.lang}})
			_, msg, _ := envelopeOf(t, res.body)
			assert.Contains(t, msg, tt.want)
		})
	}
}

// TestHandlerContext checks handlers get a context with the request
// timeout, and that installApp hands the engine a name that stays valid
// after the request (install jobs outlive it).
func TestHandlerContext(t *testing.T) {
	var gotDeadline bool
	var apps []string
	eng := &fakeEngine{InstallFunc: func(ctx context.Context, o engine.InstallOptions) (*engine.Installation, error) {
		dl, ok := ctx.Deadline()
		gotDeadline = ok && time.Until(dl) > 0 && time.Until(dl) <= 5*time.Minute
		apps = append(apps, o.App)
		return redmine(engine.StatusInstalling, ""), nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodPost, target: "/installApp", body: `{"appName":"redmine"}`, ctype: "application/json"})
	require.Equal(t, http.StatusAccepted, res.status)
	assert.True(t, gotDeadline, "the handler's context carries the request timeout")
	// Another request reuses fiber's buffers; the string must not change.
	do(t, s, request{method: http.MethodPost, target: "/installApp", body: `{"appName":"zzzzzzz"}`, ctype: "application/json"})
	assert.Equal(t, []string{"redmine", "zzzzzzz"}, apps)
}
