package service

import (
	"net/http"
	"net/http/pprof"
	rpprof "runtime/pprof"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/stackhub/stackhub/engine"
)

var (
	errTextNoProfile = text{"没有名为%q的性能剖析", "there is no profile named %q"}
	hintNoProfile    = text{"可用：profile、trace、heap、allocs、goroutine、block、mutex、threadcreate",
		"use profile, trace, heap, allocs, goroutine, block, mutex or threadcreate"}
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
	default:
		if rpprof.Lookup(name) == nil {
			return &apiError{kind: engine.ErrNotFound, msg: errTextNoProfile, msgArgs: []any{name}, hint: hintNoProfile}
		}
		h = pprof.Handler(name)
	}
	return adaptor.HTTPHandler(h)(c)
}
