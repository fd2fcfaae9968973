package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/stackhub/stackhub/engine"
)

// adminUser is the account created on first start.
const adminUser = "admin"

// argon2id parameters: OWASP's 19 MiB, 2 passes, 1 lane. A login costs a
// few tens of milliseconds and as much memory, which the rate limit keeps
// from piling up.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns the argon2id PHC string of password
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC string encoded,
// using the parameters recorded in it.
func VerifyPassword(encoded, password string) (bool, error) {
	// Each check allocates argon2id's memory (19 MiB); logins are rare and
	// rate limited, so hand it back at once rather than let it stay resident.
	defer debug.FreeOSMemory()
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verify password: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("verify password: unsupported argon2 version %q", parts[2])
	}
	var (
		memory, passes uint32
		threads        uint8
	)
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return false, fmt.Errorf("verify password: parameters %q: %w", parts[3], err)
	}
	if memory == 0 || memory > 1<<21 || passes == 0 || passes > 16 || threads == 0 {
		return false, fmt.Errorf("verify password: parameters %q out of range", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verify password: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("verify password: hash: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the user does not exist, so a login
// takes as long for unknown users as for known ones.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("stackhub-no-such-user")
	return h
})

// randomSecret returns n random bytes, base64url-encoded without padding.
func randomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// EnsureAdmin creates the admin user on first start with AdminPassword. If
// none is set, it creates nothing and Listen logs a one-time setup link
// through which the first visitor who holds it chooses the password. It does
// nothing if the admin exists.
func (s *Server) EnsureAdmin(ctx context.Context) error {
	_, err := s.users.PasswordHash(ctx, adminUser)
	if err == nil {
		return nil
	}
	if !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("ensure admin user: %w", err)
	}
	password := s.cfg.AdminPassword
	if password == "" {
		// No password given: the first start offers a one-time setup link
		// (Listen logs it) instead of inventing a password.
		s.needSetup = true
		return nil
	}
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("ensure admin user: %w", err)
	}
	if err := s.users.CreateUser(ctx, adminUser, hash); err != nil {
		if errors.Is(err, engine.ErrConflict) {
			return nil // another process created it first
		}
		return fmt.Errorf("ensure admin user: %w", err)
	}
	s.log.Info("created the admin user with the password from the environment",
		"username", adminUser, "env", EnvAdminPassword)
	return nil
}
