package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/signing"
)

// readSignatureKeys reads the public key file of each registry of the
// signature-keys setting.
func readSignatureKeys(files map[string]string) (map[string][]byte, error) {
	keys := map[string][]byte{}
	for reg, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, &engine.UserError{Msg: fmt.Sprintf("public key of registry %s: %v", reg, err), Kind: engine.ErrInvalid,
				Hint: "pass --signature-keys REGISTRY=KEYFILE with the .pub file stackhub bundle keygen wrote"}
		}
		keys[reg] = data
	}
	return keys, nil
}

func readKeyFile(flag, file string) ([]byte, error) {
	if file == "" {
		return nil, &FlagError{Err: fmt.Errorf("--%s is required", flag)}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &engine.UserError{Msg: fmt.Sprintf("key %s cannot be read: %v", file, err), Kind: engine.ErrInvalid,
			Hint: "make a key pair with stackhub bundle keygen"}
	}
	return data, nil
}

func newBundleKeygenCmd(f *Factory) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a key pair to sign bundles with",
		Long: "Write an ECDSA P-256 key pair: PREFIX.key, the private key that signs (keep it secret, mode 0600),\n" +
			"and PREFIX.pub, the public key that StackHub verifies with (--signature-keys).",
		Example: "  stackhub bundle keygen --out stackhub-signing",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pub, err := signing.Signer{}.GenerateKey()
			if err != nil {
				return err
			}
			for _, k := range []struct {
				file string
				data []byte
				mode os.FileMode
			}{{out + ".key", priv, 0o600}, {out + ".pub", pub, 0o644}} {
				fh, err := os.OpenFile(k.file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, k.mode)
				if errors.Is(err, os.ErrExist) {
					return &engine.UserError{Msg: fmt.Sprintf("%s exists", k.file), Kind: engine.ErrConflict,
						Hint: "keep the existing key, or choose another --out"}
				}
				if err != nil {
					return fmt.Errorf("write %s: %w", k.file, err)
				}
				_, err = fh.Write(k.data)
				if cerr := fh.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return fmt.Errorf("write %s: %w", k.file, err)
				}
			}
			fmt.Fprintf(f.IO.Out, "Wrote %s.key (private: keep it secret) and %s.pub (public)\n", out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "stackhub-signing", "path prefix of the two key files")
	return cmd
}

func newBundleSignCmd(f *Factory) *cobra.Command {
	var key string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "sign REFERENCE",
		Short: "Sign a published bundle and push the signature beside it",
		Long: "Sign the bundle published at REFERENCE with a private key (stackhub bundle keygen), offline: no\n" +
			"certificate authority or transparency log is asked. The signature covers the digest of the\n" +
			"bundle's OCI index, and through it bundle.json, the invocation image and every layer. It is pushed\n" +
			"to the bundle's repository, tagged sha256-<digest>.sig, as a Sigstore bundle.",
		Example: "  stackhub bundle sign --key stackhub-signing.key localhost:5000/hello:v0.1.0",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readKeyFile("key", key)
			if err != nil {
				return err
			}
			eng, done, err := registryEngine(cmd.Context(), f, cmd)
			if err != nil {
				return err
			}
			defer done()
			res, err := eng.SignBundle(cmd.Context(), engine.SignOptions{Reference: args[0], Key: data, Insecure: insecure})
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Signed %s@%s; signature pushed to %s\n", res.Reference, res.Digest, res.Signature)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "private key file (PEM)")
	cmd.Flags().BoolVar(&insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS")
	addLocalFlags(cmd)
	return cmd
}

func newBundleVerifyCmd(f *Factory) *cobra.Command {
	var key string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "verify REFERENCE",
		Short: "Check the signature published beside a bundle",
		Long: "Check that the bundle published at REFERENCE is signed with the private key of the given public\n" +
			"key and unchanged since. Exit 1 with the reason if it is unsigned or changed.",
		Example: "  stackhub bundle verify --key stackhub-signing.pub localhost:5000/hello:v0.1.0",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readKeyFile("key", key)
			if err != nil {
				return err
			}
			eng, done, err := registryEngine(cmd.Context(), f, cmd)
			if err != nil {
				return err
			}
			defer done()
			res, err := eng.VerifyBundle(cmd.Context(), engine.VerifyOptions{Reference: args[0], Key: data, Insecure: insecure})
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Verified %s@%s (signature %s)\n", res.Reference, res.Digest, res.Signature)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "public key file (PEM)")
	cmd.Flags().BoolVar(&insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS")
	addLocalFlags(cmd)
	return cmd
}
