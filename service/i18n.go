package service

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// lang is the language of human text in responses.
type lang int

const (
	// langZH is the default: the product document and its first users
	// write Chinese.
	langZH lang = iota
	langEN
)

// text is one message in both languages; both are fmt formats taking the
// same arguments.
type text struct{ zh, en string }

func (t text) in(l lang, args ...any) string {
	f := t.zh
	if l == langEN {
		f = t.en
	}
	if len(args) == 0 {
		return f
	}
	local := make([]any, len(args))
	for i, a := range args {
		if t, ok := a.(text); ok {
			a = t.in(l)
		}
		local[i] = a
	}
	return fmt.Sprintf(f, local...)
}

// sentence joins a message and a hint the way each language punctuates.
func sentence(l lang, msg, hint string) string {
	if hint == "" {
		return msg
	}
	if l == langEN {
		return strings.TrimSuffix(msg, ".") + ". " + hint
	}
	return strings.TrimSuffix(msg, "。") + "。" + hint
}

// langOf picks the response language from Accept-Language: the one of
// English and Chinese the caller prefers, def when it names neither.
func langOf(c *fiber.Ctx, def lang) lang {
	header := c.Get(fiber.HeaderAcceptLanguage)
	if header == "" {
		return def
	}
	best, bestQ := def, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q <= 0 {
			continue // q=0 means "not acceptable"
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l lang
		switch primary {
		case "en":
			l = langEN
		case "zh":
			l = langZH
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// Messages of the product document's endpoints.
var (
	msgInstallAccepted = text{"%s安装任务已提交", "%s is being installed"}
	msgInstallInfo     = text{
		"正在后台安装，可调用 getAppInfo 查看进度（status 为 1 表示启动成功）",
		"the install runs in the background; call getAppInfo to follow it (status 1 means running)",
	}
	msgUninstalled    = text{"%s卸载成功", "%s uninstalled"}
	msgAppInfo        = text{"%s状态信息查询成功", "status of %s"}
	msgAllAppInfo     = text{"已安装App状态信息查询成功", "status of every installed app"}
	msgUninstalledAll = text{"已卸载全部App（%d个）", "uninstalled every app (%d)"}
	msgServer         = text{"服务器状态信息查询成功", "server status"}
	msgRisksFound     = text{"发现%d项风险，详见risks", "%d risks found, see risks"}
	msgNoRisks        = text{"未发现风险", "no risks found"}
	msgLoggedOut      = text{"已退出登录", "logged out"}
	msgTokenShownOnce = text{"请立即保存该令牌，它只显示这一次", "store this token now; it is shown only once"}
)

// Messages of failures. Each pairs what went wrong with how to fix it.
var (
	errTextAppNameEmpty = text{"appName不能为空", "appName is required"}
	hintAppNameEmpty    = text{
		`请传入要操作的App名称，例如 {"appName":"redmine"} 或 ?appName=redmine`,
		`pass the app's name, for example {"appName":"redmine"} or ?appName=redmine`,
	}
	errTextAppNameBad   = text{"appName %q不合法", "appName %q is not valid"}
	hintAppNameBad      = text{"App名称只能包含小写字母、数字和连字符（-），以字母或数字开头，最长63个字符，例如 redmine", "use 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit, for example redmine"}
	errTextNameBad      = text{"名称%q不合法", "name %q is not valid"}
	hintNameBad         = text{"名称只能包含字母、数字、连字符和下划线，最长64个字符", "use up to 64 letters, digits, dashes and underscores"}
	errTextBadJSON      = text{"请求体不是合法的JSON：%s", "the request body is not valid JSON: %s"}
	hintBadJSON         = text{`请发送 {"appName":"redmine"} 这样的JSON对象，或改用表单或查询参数`, `send a JSON object such as {"appName":"redmine"}, or use form fields or query parameters`}
	errTextBadType      = text{"不支持的Content-Type：%s", "unsupported Content-Type %s"}
	hintBadType         = text{"请使用 application/json 或 application/x-www-form-urlencoded", "use application/json or application/x-www-form-urlencoded"}
	errTextTooLarge     = text{"请求体过大（上限%d字节）", "the request body is too large (limit %d bytes)"}
	hintTooLarge        = text{"只需发送appName等少量参数", "send only the few fields the endpoint takes"}
	errTextNotInstalled = text{"%s未安装", "%s is not installed"}
	hintNotInstalled    = text{"调用 getAllAppInfo 查看已安装的App", "call getAllAppInfo to see the installed apps"}
	errTextUnknownApp   = text{"应用商店中没有%s", "there is no app %s in the catalog"}
	hintUnknownApp      = text{"调用 GET /api/v1/apps 查看可安装的App", "call GET /api/v1/apps to see the apps you can install"}
	errTextInstalled    = text{"%s已经存在（已安装或正在安装），无需重复安装", "%s already exists (installed or being installed)"}
	hintInstalled       = text{"如需重新安装，请先调用 uninstallApp 卸载", "to reinstall it, call uninstallApp first"}
	errTextOpFailed     = text{"%s%s失败：%s", "%[2]s %[1]s failed: %[3]s"}
	errTextUnavailable  = text{"%s%s失败：Docker或其他依赖暂不可用", "%[2]s %[1]s failed: Docker or another dependency is unavailable"}
	hintUnavailable     = text{"请确认Docker正在运行（systemctl status docker）后重试", "check that Docker is running (systemctl status docker) and try again"}
	errTextInternal     = text{"%s%s失败：服务器内部错误", "%[2]s %[1]s failed: internal error"}
	errTextInternalBare = text{"服务器内部错误", "internal server error"}
	hintInternal        = text{"请查看StackHub日志中请求ID为%s的记录", "see the StackHub log for request id %s"}
	errTextTimeout      = text{"请求超时", "the request timed out"}
	hintTimeout         = text{"操作可能仍在进行，请稍后调用 getAppInfo 查看", "the work may still be running; check again later"}
	errTextStillRunning = text{"%s卸载失败，仍在运行，端口为%s", "uninstalling %s failed; it is still running on port %s"}
	hintStillRunning    = text{"请SSH登录服务器后使用 docker ps 查看，并用 docker rm -f %s 手动停止容器", "log in to the server over SSH, look with docker ps, and stop it by hand with docker rm -f %s"}
	errTextSomeFailed   = text{"部分App卸载失败：%s", "some apps could not be uninstalled: %s"}
	hintSomeFailed      = text{"原因见data.failed；可SSH登录服务器后使用 docker ps 查看并手动停止容器", "see data.failed for the reasons; log in over SSH, look with docker ps and stop the containers by hand"}
	errTextUnauth       = text{"未登录或凭据无效", "not logged in, or the credentials are not valid"}
	hintUnauth          = text{"请先调用 POST /api/v1/login 登录，或在请求头中携带 Authorization: Bearer <token>", "log in with POST /api/v1/login, or send Authorization: Bearer <token>"}
	errTextCSRF         = text{"缺少或错误的CSRF令牌", "the CSRF token is missing or wrong"}
	hintCSRF            = text{"请在请求头 X-CSRF-Token 中携带登录时返回的 csrfToken", "send the csrfToken the login returned in the X-CSRF-Token header"}
	errTextLoginFailed  = text{"用户名或密码错误", "wrong username or password"}
	hintLoginFailed     = text{"admin 的密码来自 STACKHUB_ADMIN_PASSWORD，或来自首次启动时日志中的一次性初始化链接", "the admin password comes from STACKHUB_ADMIN_PASSWORD, or from the one-time setup link in the first start's log"}
	errTextRateLimited  = text{"此地址登录失败次数过多", "too many failed logins from this address"}
	hintRateLimited     = text{"请%d秒后再试", "try again in %ds"}
	errTextNotFoundPath = text{"接口不存在：%s %s", "no such endpoint: %s %s"}
	hintNotFoundPath    = text{"请检查地址和请求方法", "check the path and the method"}
)

// Operation names, used in failure messages.
var (
	opInstall   = text{"安装", "install of"}
	opUninstall = text{"卸载", "uninstall of"}
	opGet       = text{"状态查询", "status query of"}
)

// apiLang is the /api/v1 default language: the configured one, else English.
func (s *Server) apiLang() lang {
	if strings.EqualFold(s.cfg.Lang, "zh") {
		return langZH
	}
	return langEN
}
