// Package signing signs and verifies bundle statements with a key pair,
// offline: a Sigstore bundle (sigstore-go) holding a message signature made
// with an ECDSA P-256 key, with no certificate authority, transparency log
// or timestamp service involved. engine.Signer is its interface; only this
// package imports sigstore-go.
package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/stackhub/stackhub/engine"
)

// Signer implements engine.Signer.
type Signer struct{}

var _ engine.Signer = Signer{}

// GenerateKey makes an ECDSA P-256 key pair: the private key as PKCS#8
// PEM, the public key as PKIX PEM.
func (Signer) GenerateKey() (private, public []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}

// keypair is a sign.Keypair over a stored ECDSA P-256 key.
type keypair struct {
	key  *ecdsa.PrivateKey
	hint []byte
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (k *keypair) GetPublicKey() crypto.PublicKey { return &k.key.PublicKey }

func (k *keypair) GetPublicKeyPem() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

func (k *keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, sum[:])
	if err != nil {
		return nil, nil, err
	}
	return sig, sum[:], nil
}

// keyHint names a public key: base64 of the SHA-256 of its PKIX form.
func keyHint(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(sum[:])), nil
}

// timeZero leaves a key's validity unbounded.
var timeZero time.Time

var errKey = errors.New("not an ECDSA P-256 key in PEM")

func parsePrivate(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errKey
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w (found %s)", errKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKey, err)
	}
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errKey
	}
	return k, nil
}

func parsePublic(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errKey
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKey, err)
	}
	k, ok := key.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errKey
	}
	return k, nil
}

// Sign signs payload with the PEM private key and returns the Sigstore
// bundle (JSON) that carries the signature and the public key's hint.
func (Signer) Sign(ctx context.Context, privateKey, payload []byte) ([]byte, error) {
	k, err := parsePrivate(privateKey)
	if err != nil {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("signing key: %v", err),
			"pass the private key stackhub bundle keygen wrote (PKCS#8 or SEC 1 PEM)")
	}
	hint, err := keyHint(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b, err := sign.Bundle(&sign.PlainData{Data: payload}, &keypair{key: k, hint: hint}, sign.BundleOptions{Context: ctx})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode signature: %w", err)
	}
	return out, nil
}

// Verify checks that sig (a Sigstore bundle) signs payload with the PEM
// public key. A bad signature, another key or another payload are
// engine.ErrForbidden.
func (Signer) Verify(_ context.Context, publicKey, payload, sig []byte) error {
	pub, err := parsePublic(publicKey)
	if err != nil {
		return engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("verification key: %v", err),
			"pass the public key stackhub bundle keygen wrote (PKIX PEM)")
	}
	hint, err := keyHint(pub)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(sig, &pb); err != nil {
		return engine.NewUserError(engine.ErrForbidden, fmt.Sprintf("the signature is not a Sigstore bundle: %v", err), "sign the bundle again")
	}
	b, err := bundle.NewBundle(&pb)
	if err != nil {
		return engine.NewUserError(engine.ErrForbidden, fmt.Sprintf("the signature is not a valid Sigstore bundle: %v", err), "sign the bundle again")
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	trusted := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
		string(hint): root.NewExpiringKey(v, timeZero, timeZero),
	})
	verifier, err := verify.NewVerifier(trusted, verify.WithNoObserverTimestamps())
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if _, err := verifier.Verify(b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(payload)), verify.WithKey())); err != nil {
		return engine.NewUserError(engine.ErrForbidden, fmt.Sprintf("the signature does not verify: %v", err),
			"the bundle was changed after it was signed, or signed with another key: publish and sign it again, or check the key").WithCause(err)
	}
	return nil
}
