package service

import (
	"github.com/gofiber/fiber/v2"
)

// rootHTML is what GET / shows until the web console serves its own page:
// where to log in and where the API is. It holds nothing secret and
// reaches nothing behind the login, so it answers without one.
const rootHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>StackHub</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}
code{background:#eee;padding:0 .2em}pre{background:#eee;padding:.5rem;overflow:auto}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}code,pre{background:#333}}
</style>
</head>
<body>
<h1>StackHub is running · StackHub 正在运行</h1>
<p>The web console is not part of this version yet. Use the command line or the HTTP API.<br>
此版本尚无网页控制台，请使用命令行或 HTTP API。</p>
<h2>First start · 首次启动</h2>
<p>Without <code>STACKHUB_ADMIN_PASSWORD</code>, the server's log shows a one-time setup link
(<code>/setup?token=...</code>, valid for an hour) where you choose the password of the user <code>admin</code>.<br>
未设置 <code>STACKHUB_ADMIN_PASSWORD</code> 时，服务器日志中有一次性初始化链接（一小时内有效），在那里为 <code>admin</code> 设置密码。</p>
<h2>Log in · 登录</h2>
<pre>stackhub login --server <span id="origin">http://HOST:PORT</span>
stackhub list --apps
stackhub install hello</pre>
<p>Scripts: <code>POST /api/v1/login</code> with <code>{"username":"admin","password":"..."}</code>, or send
<code>Authorization: Bearer $STACKHUB_TOKEN</code>. The API is described at <code>/api/v1/openapi.json</code>
(after logging in).<br>
脚本：调用 <code>POST /api/v1/login</code>，或发送 <code>Authorization: Bearer $STACKHUB_TOKEN</code>。
API 文档位于 <code>/api/v1/openapi.json</code>（需登录）。</p>
<script>document.getElementById("origin").textContent = location.origin;</script>
</body>
</html>
`

// root serves rootHTML.
func (s *Server) root(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	return c.SendString(rootHTML)
}
