package service

import (
	"net/http"
	"net/http/pprof"
	"runtime"
	rpprof "runtime/pprof"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/stackhub/stackhub/engine"
)

var (
	errTextNoProfile = text{"没有名为%q的性能剖析", "there is no profile named %q"}
	hintNoProfile    = text{"可用：profile、trace、heap、allocs、goroutine、block、mutex、threadcreate",
		"use profile, trace, heap, allocs, goroutine, block, mutex or threadcreate"}
	errTextNoHeapSamples = text{"服务未对堆内存采样，%s剖析为空", "the service does not sample the heap, so the %s profile is empty"}
	hintNoHeapSamples    = text{"以 GODEBUG=memprofilerate=524288 启动 stackhub serve 后重试",
		"start stackhub serve with GODEBUG=memprofilerate=524288 and ask again"}
)

// debugProfile serves Go's runtime profiles (admin only), for example
// /debug/pprof/heap or /debug/pprof/profile?seconds=10, to be read with
// `go tool pprof`.
func (s *Server) debugProfile(c *fiber.Ctx) error {
	var h http.Handler
	switch name := c.Params("profile"); name {
	case "profile":
		h = http.HandlerFunc(pprof.Profile)
	case "trace":
		h = http.HandlerFunc(pprof.Trace)
	case "cmdline":
		h = http.HandlerFunc(pprof.Cmdline)
	case "symbol":
		h = http.HandlerFunc(pprof.Symbol)
	case "heap", "allocs":
		if runtime.MemProfileRate == 0 {
			return &apiError{kind: engine.ErrUnavailable, msg: errTextNoHeapSamples, msgArgs: []any{name}, hint: hintNoHeapSamples}
		}
		h = pprof.Handler(name)
	default:
		if rpprof.Lookup(name) == nil {
			return &apiError{kind: engine.ErrNotFound, msg: errTextNoProfile, msgArgs: []any{name}, hint: hintNoProfile}
		}
		h = pprof.Handler(name)
	}
	return adaptor.HTTPHandler(h)(c)
}
