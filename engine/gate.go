package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The login gate: a domain with Login set is served by the proxy only to
// StackHub users. The service's session cookie belongs to the console's
// host name and never reaches an app's, so the service hands a logged-in
// user a short-lived signed pass for one host (GatePassTicket), which the
// proxy, on that host, exchanges for a cookie of its own (GatePassCookie).
// Both are signed with the same key (GateKey), which the service and the
// proxy share in `stackhub serve`.

// Kinds of gate passes: a pass of one kind is refused where the other is
// expected.
const (
	// GatePassTicket is the one-minute pass the service puts in the URL it
	// sends the browser back to the app with.
	GatePassTicket = "ticket"
	// GatePassCookie is the proxy's cookie on the app's host.
	GatePassCookie = "cookie"
)

// Lifetimes of gate passes. A cookie lasts an hour: after that the proxy
// asks the service again. A user who logs out of the console or is
// removed loses access sooner: the proxy checks that the pass's console
// session (or, for a pass without one, its user) still exists, every 30
// seconds at most (see proxy.GateConfig).
const (
	GateTicketTTL = time.Minute
	GateCookieTTL = time.Hour
)

// GatePass says who may pass the gate of one host until when.
type GatePass struct {
	Kind    string `json:"k"`
	User    string `json:"u"`
	Host    string `json:"h"`
	Expires int64  `json:"e"` // Unix seconds
	// Session is the hash of the console session the pass was handed to
	// (empty when it was asked for with an API token): the pass is good
	// only while that session lasts.
	Session string `json:"s,omitempty"`
}

// ErrGatePass is why a gate pass is refused (forged, expired, for another
// host or of another kind).
var ErrGatePass = errors.New("gate pass refused")

// SignGatePass encodes and signs a pass: base64url(JSON) "." base64url(HMAC-SHA256).
func SignGatePass(key []byte, p GatePass) string {
	body, _ := json.Marshal(p) // plain struct: cannot fail
	b := base64.RawURLEncoding.EncodeToString(body)
	return b + "." + base64.RawURLEncoding.EncodeToString(gateMAC(key, b))
}

// VerifyGatePass checks a pass's signature, kind, host and lifetime.
func VerifyGatePass(key []byte, token, kind, host string, now time.Time) (GatePass, error) {
	var p GatePass
	if len(key) == 0 {
		return p, fmt.Errorf("%w: no key", ErrGatePass)
	}
	b, sig, ok := strings.Cut(token, ".")
	if !ok {
		return p, fmt.Errorf("%w: malformed", ErrGatePass)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, gateMAC(key, b)) {
		return p, fmt.Errorf("%w: bad signature", ErrGatePass)
	}
	body, err := base64.RawURLEncoding.DecodeString(b)
	if err != nil {
		return p, fmt.Errorf("%w: malformed", ErrGatePass)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("%w: malformed", ErrGatePass)
	}
	switch {
	case p.Kind != kind:
		return p, fmt.Errorf("%w: a %s, not a %s", ErrGatePass, p.Kind, kind)
	case !strings.EqualFold(p.Host, host):
		return p, fmt.Errorf("%w: for another host", ErrGatePass)
	case now.Unix() >= p.Expires:
		return p, fmt.Errorf("%w: expired", ErrGatePass)
	case p.User == "":
		return p, fmt.Errorf("%w: no user", ErrGatePass)
	}
	return p, nil
}

func gateMAC(key []byte, b string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("stackhub-gate\x00"))
	m.Write([]byte(b))
	return m.Sum(nil)
}

// GateKey reads the login gate's key from DIR/gate.key, made (32 random
// bytes, mode 0600) on first use.
func GateKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "gate.key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the login gate's key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make the login gate's key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make the login gate's key: %w", err)
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write the login gate's key: %w", err)
	}
	return key, nil
}
