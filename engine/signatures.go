package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Signed bundles: `stackhub bundle sign` signs a statement naming a
// published bundle's repository and the digest of its OCI index, and
// pushes the signature beside the bundle, as an OCI artifact tagged
// sha256-<hex>.sig in the same repository (the tag cosign uses). The index
// digest covers bundle.json, which pins the invocation image by digest,
// which covers its layers: changing any of them changes the digest, so the
// signature no longer applies. A registry whose bundles must be signed
// (Config.SignatureKeys) is installed from only after the signature
// verifies with its key, before the invocation image is pulled.

// SignatureMediaType is the media type of the signature artifact: a
// Sigstore bundle.
const SignatureMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Signer signs and verifies statements with a key pair; engine/signing
// implements it.
type Signer interface {
	// GenerateKey makes a key pair (PEM).
	GenerateKey() (private, public []byte, err error)
	// Sign returns the signature of payload by the PEM private key.
	Sign(ctx context.Context, privateKey, payload []byte) ([]byte, error)
	// Verify checks sig over payload with the PEM public key; a mismatch is
	// ErrForbidden.
	Verify(ctx context.Context, publicKey, payload, sig []byte) error
}

// bundleStatement is what a signature signs.
type bundleStatement struct {
	Type       string `json:"_type"`
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
}

func statementOf(repo, digest string) []byte {
	data, _ := json.Marshal(bundleStatement{Type: "https://stackhub.dev/bundle-signature/v1", Repository: repo, Digest: digest})
	return data
}

// SignatureReference is where the signature of the bundle at repo with
// index digest lives.
func SignatureReference(repo, digest string) string {
	return repo + ":" + strings.Replace(digest, ":", "-", 1) + ".sig"
}

func (e *Engine) signer() (Signer, error) {
	if e.deps.Signer == nil {
		return nil, NewUserError(ErrUnavailable, "bundle signing is not configured", "")
	}
	return e.deps.Signer, nil
}

// GenerateSigningKey makes a key pair for SignBundle and VerifyBundle.
func (e *Engine) GenerateSigningKey() (private, public []byte, err error) {
	s, err := e.signer()
	if err != nil {
		return nil, nil, err
	}
	return s.GenerateKey()
}

// SignOptions asks for a published bundle to be signed.
type SignOptions struct {
	Reference string
	// Key is the PEM private key.
	Key      []byte
	Insecure bool
}

// SignResult is what SignBundle pushed.
type SignResult struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	Signature string `json:"signature"`
}

// SignBundle signs the bundle published at Reference and pushes the
// signature beside it.
func (e *Engine) SignBundle(ctx context.Context, opts SignOptions) (*SignResult, error) {
	s, err := e.signer()
	if err != nil {
		return nil, err
	}
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	ref, _, err := ParseBundleReference(opts.Reference)
	if err != nil {
		return nil, err
	}
	b, err := reg.PullBundle(ctx, ref, opts.Insecure)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", ref, err)
	}
	repo := Repository(ref)
	sig, err := s.Sign(ctx, opts.Key, statementOf(repo, b.Digest))
	if err != nil {
		return nil, err
	}
	sigRef := SignatureReference(repo, b.Digest)
	if _, err := reg.PushArtifact(ctx, sigRef, SignatureMediaType, "signature", sig, opts.Insecure); err != nil {
		return nil, fmt.Errorf("push signature %s: %w", sigRef, err)
	}
	return &SignResult{Reference: ref, Digest: b.Digest, Signature: sigRef}, nil
}

// VerifyOptions asks for a published bundle's signature to be checked.
type VerifyOptions struct {
	Reference string
	// Key is the PEM public key.
	Key      []byte
	Insecure bool
}

// VerifyBundle checks the signature published beside the bundle at
// Reference; an unsigned or changed bundle is ErrForbidden.
func (e *Engine) VerifyBundle(ctx context.Context, opts VerifyOptions) (*SignResult, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	ref, _, err := ParseBundleReference(opts.Reference)
	if err != nil {
		return nil, err
	}
	b, err := reg.PullBundle(ctx, ref, opts.Insecure)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", ref, err)
	}
	sigRef, err := e.verifyPulled(ctx, ref, b, opts.Key, opts.Insecure)
	if err != nil {
		return nil, err
	}
	return &SignResult{Reference: ref, Digest: b.Digest, Signature: sigRef}, nil
}

// verifyPulled checks the signature of the pulled bundle b against key.
func (e *Engine) verifyPulled(ctx context.Context, ref string, b *RemoteBundle, key []byte, insecure bool) (string, error) {
	s, err := e.signer()
	if err != nil {
		return "", err
	}
	reg, err := e.registry()
	if err != nil {
		return "", err
	}
	if b.Digest == "" {
		return "", NewUserError(ErrForbidden, fmt.Sprintf("bundle %s has no digest to verify", ref), "")
	}
	repo := Repository(ref)
	sigRef := SignatureReference(repo, b.Digest)
	sig, _, err := reg.FetchArtifact(ctx, sigRef, SignatureMediaType, insecure)
	if errors.Is(err, ErrNotFound) {
		return "", NewUserError(ErrForbidden, fmt.Sprintf("bundle %s (%s) is not signed: there is no signature %s", ref, b.Digest, sigRef),
			"sign it with stackhub bundle sign --key KEY "+ref+"; if it was signed before, it was changed since")
	}
	if err != nil {
		return "", fmt.Errorf("fetch signature %s: %w", sigRef, err)
	}
	if err := s.Verify(ctx, key, statementOf(repo, b.Digest), sig); err != nil {
		return "", fmt.Errorf("bundle %s (%s): %w", ref, b.Digest, err)
	}
	return sigRef, nil
}

// requiredKey returns the public key bundles from ref's registry must be
// signed with, or nil.
func (e *Engine) requiredKey(ref string) []byte {
	return e.cfg.SignatureKeys[RegistryHost(ref)]
}
