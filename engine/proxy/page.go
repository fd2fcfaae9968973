package proxy

import (
	"html/template"
	"net/http"
	"strconv"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Code}} {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}p.hint{color:#555}small{color:#888}</style></head>
<body><h1>{{.Code}} · {{.Title}}</h1><p>{{.What}}</p>{{if .Hint}}<p class="hint">{{.Hint}}</p>{{end}}<small>StackHub</small></body></html>
`))

// page writes an error page. The body is small and says what happened and
// what to do; nothing of the request is echoed but the host name, escaped.
func page(w http.ResponseWriter, code int, title, what, hint string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = pageTmpl.Execute(w, map[string]string{"Code": strconv.Itoa(code), "Title": title, "What": what, "Hint": hint})
}
