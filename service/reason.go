package service

import (
	"fmt"
	"regexp"
	"slices"
)

// The engine records an installation's reason in English: StackHub's own
// wrapper ("install failed: ...", "(hint: ...)") around what the bundle
// said. localReason puts the wrapper into the caller's language and leaves
// the bundle's own words as they are.

// reasonRule rewrites one wrapper; zh is a fmt format over the submatches
// (each localised in turn when it is itself a wrapper).
type reasonRule struct {
	re *regexp.Regexp
	zh string
	// inner lists the submatches that may hold another wrapper.
	inner []int
}

var reasonRules = []reasonRule{
	{re: regexp.MustCompile(`(?s)^(.*) \(hint: (.*)\)$`), zh: "%s（提示：%s）", inner: []int{1}},
	{re: regexp.MustCompile(`(?s)^upgrade to (\S+) failed and was undone: (.*)$`), zh: "升级到 %s 失败，已恢复为原版本：%s", inner: []int{2}},
	{re: regexp.MustCompile(`(?s)^upgrade to (\S+) failed: (.*)$`), zh: "升级到 %s 失败：%s", inner: []int{2}},
	{re: regexp.MustCompile(`^upgrading from (\S+) to (\S+)$`), zh: "正在从 %s 升级到 %s"},
	{re: regexp.MustCompile(`(?s)^prepare bundle (\S+): (.*)$`), zh: "准备应用包 %s 失败：%s", inner: []int{2}},
	{re: regexp.MustCompile(`(?s)^uninstall \S+ failed; it is still running \((?:ports )?(.*?)\): (.*)$`), zh: "卸载失败，仍在运行（端口 %s）：%s", inner: []int{2}},
	{re: regexp.MustCompile(`(?s)^uninstall \S+ failed: (.*)$`), zh: "卸载失败：%s", inner: []int{1}},
	{re: regexp.MustCompile(`(?s)^([a-z][a-z0-9_-]*) failed: (.*)$`), zh: "%s失败：%s", inner: []int{2}},
	{re: regexp.MustCompile(`^its containers are gone \(removed outside StackHub\); uninstall and install it again$`),
		zh: "它的容器已不存在（在 StackHub 之外被删除）；请卸载后重新安装"},
	{re: regexp.MustCompile(`^container (\S+) is unhealthy$`), zh: "容器 %s 不健康"},
	{re: regexp.MustCompile(`^container (\S+) is (\S+)$`), zh: "容器 %s 的状态为 %s"},
	{re: regexp.MustCompile(`^interrupted while (\S+): StackHub stopped; retry, or uninstall$`),
		zh: "%s时被中断：StackHub 已停止；请重试或卸载"},
}

// actionNames are the actions' names in Chinese.
var actionNames = map[string]string{
	"install": "安装", "uninstall": "卸载", "upgrade": "升级", "installing": "安装",
	"upgrading": "升级", "uninstalling": "卸载", "start": "启动", "stop": "停止", "restart": "重启",
}

// localReason returns reason in language l.
func localReason(reason string, l lang) string {
	if l == langEN || reason == "" {
		return reason
	}
	return localizeReason(reason, 0)
}

func localizeReason(s string, depth int) string {
	if depth > 4 {
		return s
	}
	for _, r := range reasonRules {
		m := r.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for i := 1; i < len(m); i++ {
			part := m[i]
			switch {
			case slices.Contains(r.inner, i):
				part = localizeReason(part, depth+1)
			case actionNames[part] != "":
				part = actionNames[part]
			}
			args = append(args, part)
		}
		return fmt.Sprintf(r.zh, args...)
	}
	return s
}
