package service

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLocalReason(t *testing.T) {
	tests := []struct {
		name, reason, zh string
	}{
		{name: "install failure with hint",
			reason: "install failed: image mysql:8.0 is not available locally and could not be pulled: denied (hint: load it on this host first)",
			zh:     "安装失败：image mysql:8.0 is not available locally and could not be pulled: denied（提示：load it on this host first）"},
		{name: "uninstall failure", reason: "uninstall failed: uninstall failed: volume in use",
			zh: "卸载失败：卸载失败：volume in use"},
		{name: "upgrade undone", reason: "upgrade to 0.2.0 failed and was undone: upgrade failed: boom",
			zh: "升级到 0.2.0 失败，已恢复为原版本：升级失败：boom"},
		{name: "custom action", reason: "start failed: no such container", zh: "启动失败：no such container"},
		{name: "container state", reason: "container stackhub-hello is exited", zh: "容器 stackhub-hello 的状态为 exited"},
		{name: "interrupted", reason: "interrupted while installing: StackHub stopped; retry, or uninstall",
			zh: "安装时被中断：StackHub 已停止；请重试或卸载"},
		{name: "the app's own words stay", reason: "Error: database refused", zh: "Error: database refused"},
		{name: "empty", reason: "", zh: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.zh, localReason(tt.reason, langZH))
			assert.Equal(t, tt.reason, localReason(tt.reason, langEN))
		})
	}
}
