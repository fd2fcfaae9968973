package web_test

import (
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/service/web"
)

// themes reads the colour custom properties of the light theme (:root)
// and of the dark one (the prefers-color-scheme: dark block).
func themes(t *testing.T) (light, dark map[string]string) {
	t.Helper()
	b, err := fs.ReadFile(web.Files(), "css/app.css")
	require.NoError(t, err)
	css := string(b)
	varRE := regexp.MustCompile(`--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})`)
	parse := func(block string) map[string]string {
		m := map[string]string{}
		for _, v := range varRE.FindAllStringSubmatch(block, -1) {
			m[v[1]] = v[2]
		}
		return m
	}
	i := strings.Index(css, "@media (prefers-color-scheme: dark)")
	require.Positive(t, i)
	return parse(css[:i]), parse(css[i : i+strings.Index(css[i:], "}\n}")])
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range 3 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestContrastAA checks every pair of text and background colours the
// console uses against WCAG AA (4.5:1 for text), in both themes.
func TestContrastAA(t *testing.T) {
	light, dark := themes(t)
	pairs := [][2]string{
		{"text", "bg"}, {"text", "surface"}, {"text", "surface-2"}, {"muted", "bg"}, {"muted", "surface"}, {"muted", "surface-2"},
		{"primary", "surface"}, {"primary", "bg"}, {"primary", "primary-soft"}, {"primary-text", "primary"},
		{"bg", "text"}, {"ok", "ok-soft"}, {"bad", "bad-soft"}, {"warn", "warn-soft"}, {"info", "info-soft"}, {"bad", "surface"},
	}
	for name, theme := range map[string]map[string]string{"light": light, "dark": dark} {
		for _, p := range pairs {
			fg, bg := theme[p[0]], theme[p[1]]
			require.NotEmpty(t, fg, "%s theme lacks --%s", name, p[0])
			require.NotEmpty(t, bg, "%s theme lacks --%s", name, p[1])
			assert.GreaterOrEqual(t, contrast(fg, bg), 4.5, "%s theme: --%s on --%s is %.2f:1", name, p[0], p[1], contrast(fg, bg))
		}
	}
}
