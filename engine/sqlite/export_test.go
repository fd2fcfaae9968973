package sqlite

// SetAuditBounds changes the audit log's bound for a test; the returned
// func restores it.
func SetAuditBounds(keep, every int64) func() {
	k, e := auditKeep, auditTrimEvery
	auditKeep, auditTrimEvery = keep, every
	return func() { auditKeep, auditTrimEvery = k, e }
}
