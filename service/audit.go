package service

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine/accounts"
)

// Auditor keeps the audit log; *sqlite.Store implements it. Users that do
// not implement it leave the log to the process log only.
type Auditor interface {
	AppendAudit(ctx context.Context, e *accounts.AuditEntry) error
	// ListAudit returns the newest entries first, at most limit.
	ListAudit(ctx context.Context, limit int) ([]*accounts.AuditEntry, error)
}

// audit records who did what: a log line, and an entry in the store's
// audit log when Users keeps one.
func (s *Server) audit(c *fiber.Ctx, action, target, jobID string) {
	user, _ := c.Locals(localUser).(string)
	s.log.Info("audit", "user", user, "action", action, "target", target, "job", jobID,
		"ip", c.IP(), "requestId", requestIDOf(c))
	if a, ok := s.users.(Auditor); ok {
		if err := a.AppendAudit(c.UserContext(), &accounts.AuditEntry{
			User: user, Action: action, Target: target, Job: jobID, IP: c.IP(), Time: s.now().UTC(),
		}); err != nil {
			s.log.Warn("record audit entry", "err", err)
		}
	}
}
