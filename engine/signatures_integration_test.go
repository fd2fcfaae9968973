//go:build integration

package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/registry"
	"github.com/stackhub/stackhub/engine/signing"
)

// TestSignedBundles signs a bundle published to a real registry, installs
// it from a registry that requires signatures, then republishes it with
// one layer of its invocation image changed: the install is refused,
// whether the changed bundle carries no signature or the old one.
func TestSignedBundles(t *testing.T) {
	reg := startRegistry(t)
	ctx := t.Context()
	ref := reg.Host + "/signed-hello:v0.1.0"
	repo := reg.Host + "/signed-hello"

	pub := newRealEngine(t)
	api := withRegistry(t, pub)
	pub.UseSigner(signing.Signer{})
	res, err := pub.Publish(ctx, engine.PublishOptions{Dir: os.DirFS("../testdata/bundles/hello"), Reference: ref})
	require.NoError(t, err)
	signedDigest := res.Digest
	privKey, pubKey, err := pub.GenerateSigningKey()
	require.NoError(t, err)
	_, otherKey, err := pub.GenerateSigningKey()
	require.NoError(t, err)

	e := newRealEngineWith(t, func(cfg *engine.Config) {
		cfg.RestrictRegistries = true
		cfg.AllowedRegistries = []string{reg.Host}
		cfg.SignatureKeys = map[string][]byte{reg.Host: pubKey}
	})
	withRegistry(t, e)
	e.UseSigner(signing.Signer{})

	// Unsigned: refused, and nothing is recorded.
	_, err = e.Install(ctx, engine.InstallOptions{Reference: ref})
	require.ErrorIs(t, err, engine.ErrForbidden)
	assert.Contains(t, err.Error(), "is not signed")
	assert.Contains(t, engine.HintOf(err), "stackhub bundle sign")
	_, err = e.Get(ctx, "hello")
	require.ErrorIs(t, err, engine.ErrNotFound)

	// Sign; the signature sits beside the bundle and verifies with its key
	// only.
	sr, err := pub.SignBundle(ctx, engine.SignOptions{Reference: ref, Key: privKey})
	require.NoError(t, err)
	assert.Equal(t, signedDigest, sr.Digest)
	assert.Equal(t, repo+":"+strings.Replace(signedDigest, ":", "-", 1)+".sig", sr.Signature)
	_, err = pub.VerifyBundle(ctx, engine.VerifyOptions{Reference: ref, Key: pubKey})
	require.NoError(t, err)
	_, err = pub.VerifyBundle(ctx, engine.VerifyOptions{Reference: ref, Key: otherKey})
	require.ErrorIs(t, err, engine.ErrForbidden)

	inst, err := e.Install(ctx, engine.InstallOptions{Reference: ref})
	require.NoError(t, err)
	inst = e.wait(t, inst.Name)
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	assert.Contains(t, getHello(t, inst.Ports["port"]), "hello")
	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: inst.Name}))

	// Tamper: one more file in the bundle folder is one changed layer of
	// the invocation image; republished over the signed tag.
	dir := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../testdata/bundles/hello")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tampered.sh"), []byte("#!/bin/sh\necho owned\n"), 0o755))
	res, err = pub.Publish(ctx, engine.PublishOptions{Dir: os.DirFS(dir), Reference: ref, Force: true})
	require.NoError(t, err)
	require.NotEqual(t, signedDigest, res.Digest)

	_, err = e.Install(ctx, engine.InstallOptions{Reference: ref})
	require.ErrorIs(t, err, engine.ErrForbidden)
	assert.Contains(t, err.Error(), "is not signed")

	// The old signature copied beside the changed bundle does not verify.
	reg2 := registry.New(api, nil)
	oldSig, _, err := reg2.FetchArtifact(ctx, engine.SignatureReference(repo, signedDigest), engine.SignatureMediaType, false)
	require.NoError(t, err)
	_, err = reg2.PushArtifact(ctx, engine.SignatureReference(repo, res.Digest), engine.SignatureMediaType, "signature", oldSig, false)
	require.NoError(t, err)
	_, err = e.Install(ctx, engine.InstallOptions{Reference: ref})
	require.ErrorIs(t, err, engine.ErrForbidden)
	assert.Contains(t, err.Error(), "the signature does not verify")
	_, err = pub.VerifyBundle(ctx, engine.VerifyOptions{Reference: ref, Key: pubKey})
	require.ErrorIs(t, err, engine.ErrForbidden)
}
