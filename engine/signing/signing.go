// Package signing signs and verifies bundle statements with a key pair,
// offline: a Sigstore bundle (the JSON form of protobuf-specs' Bundle,
// media type application/vnd.dev.sigstore.bundle.v0.3+json) holding a
// message signature made with an ECDSA P-256 key, with no certificate
// authority, transparency log or timestamp service involved. engine.Signer
// is its interface.
//
// The format is written and read here with encoding/json: a key-signed
// message signature is a handful of fields, while a Sigstore client
// library brings gRPC, a transparency-log client and protobuf into every
// StackHub binary (7 MB, and memory that its package start-up touches in
// the long-running service). Bundles written by earlier versions, made with
// such a library, verify unchanged (testdata/sigstore-go.*).
package signing

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

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

// keyHint names a public key: base64 of the SHA-256 of its PKIX form.
func keyHint(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(sum[:])), nil
}

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

// Media types of Sigstore bundles in their JSON form; Sign writes the
// first, Verify reads them all (a message signature is the same in each).
var mediaTypes = []string{
	"application/vnd.dev.sigstore.bundle.v0.3+json",
	"application/vnd.dev.sigstore.bundle+json;version=0.3",
	"application/vnd.dev.sigstore.bundle+json;version=0.2",
	"application/vnd.dev.sigstore.bundle+json;version=0.1",
}

// sigBundle is the part of a Sigstore bundle a key-signed message
// signature uses. Field names are protobuf-specs' JSON names.
type sigBundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial verificationMaterial `json:"verificationMaterial"`
	MessageSignature     *messageSignature    `json:"messageSignature,omitempty"`
	// DSSEEnvelope is only read, to say that such a bundle is refused.
	DSSEEnvelope json.RawMessage `json:"dsseEnvelope,omitempty"`
}

type verificationMaterial struct {
	PublicKey *struct {
		Hint string `json:"hint"`
	} `json:"publicKey,omitempty"`
	// Certificate and X509CertificateChain are only read: a bundle signed
	// through a certificate authority is refused.
	Certificate          json.RawMessage `json:"certificate,omitempty"`
	X509CertificateChain json.RawMessage `json:"x509CertificateChain,omitempty"`
}

type messageSignature struct {
	MessageDigest struct {
		Algorithm string `json:"algorithm"`
		Digest    []byte `json:"digest"`
	} `json:"messageDigest"`
	Signature []byte `json:"signature"`
}

// Sign signs payload with the PEM private key and returns the Sigstore
// bundle (JSON) that carries the signature and the public key's hint.
func (Signer) Sign(_ context.Context, privateKey, payload []byte) ([]byte, error) {
	k, err := parsePrivate(privateKey)
	if err != nil {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("signing key: %v", err),
			"pass the private key stackhub bundle keygen wrote (PKCS#8 or SEC 1 PEM)")
	}
	hint, err := keyHint(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b := sigBundle{MediaType: mediaTypes[0], MessageSignature: &messageSignature{Signature: sig}}
	b.VerificationMaterial.PublicKey = &struct {
		Hint string `json:"hint"`
	}{Hint: string(hint)}
	b.MessageSignature.MessageDigest.Algorithm = "SHA2_256"
	b.MessageSignature.MessageDigest.Digest = sum[:]
	out, err := json.Marshal(b)
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
	var b sigBundle
	if err := json.Unmarshal(sig, &b); err != nil {
		return engine.NewUserError(engine.ErrForbidden, fmt.Sprintf("the signature is not a Sigstore bundle: %v", err), "sign the bundle again")
	}
	if err := b.check(); err != nil {
		return engine.NewUserError(engine.ErrForbidden, "the signature is not a valid Sigstore bundle: "+err.Error(), "sign the bundle again with stackhub bundle sign")
	}
	doesNot := func(why string) error {
		return engine.NewUserError(engine.ErrForbidden, "the signature does not verify: "+why,
			"the bundle was changed after it was signed, or signed with another key: publish and sign it again, or check the key")
	}
	if b.VerificationMaterial.PublicKey.Hint != string(hint) {
		return doesNot("it names another key")
	}
	sum := sha256.Sum256(payload)
	if !bytes.Equal(b.MessageSignature.MessageDigest.Digest, sum[:]) {
		return doesNot("it signs another content (digest mismatch)")
	}
	if !ecdsa.VerifyASN1(pub, sum[:], b.MessageSignature.Signature) {
		return doesNot("the ECDSA signature is not the key's")
	}
	return nil
}

// check says what makes a bundle other than a key-signed SHA-256 message
// signature.
func (b *sigBundle) check() error {
	known := false
	for _, mt := range mediaTypes {
		known = known || b.MediaType == mt
	}
	switch {
	case !known:
		return fmt.Errorf("unknown media type %q", b.MediaType)
	case b.VerificationMaterial.Certificate != nil || b.VerificationMaterial.X509CertificateChain != nil:
		return errors.New("it is signed through a certificate; StackHub verifies signatures made with a key (stackhub bundle keygen)")
	case b.VerificationMaterial.PublicKey == nil:
		return errors.New("it names no public key")
	case b.DSSEEnvelope != nil || b.MessageSignature == nil:
		return errors.New("it holds no message signature (an attestation envelope is not read)")
	case b.MessageSignature.MessageDigest.Algorithm != "SHA2_256":
		return fmt.Errorf("digest algorithm %q; SHA2_256 is read", b.MessageSignature.MessageDigest.Algorithm)
	case len(b.MessageSignature.Signature) == 0:
		return errors.New("the signature is empty")
	}
	return nil
}
