// Package accounts holds the records of the service's users and of its
// audit log. The service keeps them through the store adapter
// (engine/sqlite); the engine itself never uses them. It imports only the
// standard library.
package accounts

import "time"

// User is a user of the service, without secrets.
type User struct {
	Username string    `json:"username"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
}

// AuditEntry is one line of the audit log: who did what to which object.
type AuditEntry struct {
	ID     int64     `json:"id"`
	User   string    `json:"user"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Job    string    `json:"job,omitempty"`
	IP     string    `json:"ip,omitempty"`
	Time   time.Time `json:"time"`
}

// Token describes an API token without revealing it; ID (a prefix of the
// token's hash) names it for revoking.
type Token struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	User     string     `json:"user"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed,omitempty"`
}
