package mixin

import (
	"fmt"
	"io"
	"math/big"
	"strings"

	"crypto/rand"
)

// secretEnvName is the interpolation variable of a secret: its name
// upper-cased, with - as _.
func secretEnvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// portEnvName is the interpolation variable of a port's host port.
func portEnvName(name string) string {
	return "STACKHUB_PORT_" + secretEnvName(name)
}

// resolveSecrets returns every declared secret's value: the step's value
// when not empty, else the recorded one, else a new one. It reports
// whether anything was generated.
func resolveSecrets(decls []SecretDecl, recorded map[string]string, r io.Reader) (map[string]string, error) {
	out := make(map[string]string, len(decls))
	for _, d := range decls {
		v := strings.TrimSpace(d.Value)
		if v == "null" {
			v = ""
		}
		switch {
		case v != "":
			out[d.Name] = d.Value
		case recorded[d.Name] != "":
			out[d.Name] = recorded[d.Name]
		default:
			g, err := generate(d, r)
			if err != nil {
				return nil, err
			}
			out[d.Name] = g
		}
	}
	return out, nil
}

// generate makes a value for d: length characters drawn uniformly from the
// alphabet (rejection sampling, no modulo bias).
func generate(d SecretDecl, r io.Reader) (string, error) {
	alphabet := alphabets["alnum"]
	length := 24
	if d.Kind == "hex" {
		alphabet = alphabets["hex"]
		length = 32
	} else if d.Alphabet != "" {
		a, ok := alphabets[d.Alphabet]
		if !ok {
			return "", fmt.Errorf("secret %q: unknown alphabet %q", d.Name, d.Alphabet)
		}
		alphabet = a
	}
	if d.Length.N > 0 {
		length = d.Length.N
	}
	max := big.NewInt(int64(len(alphabet)))
	var sb strings.Builder
	for range length {
		n, err := rand.Int(r, max)
		if err != nil {
			return "", fmt.Errorf("generate secret %q: %w", d.Name, err)
		}
		sb.WriteByte(alphabet[n.Int64()])
	}
	return sb.String(), nil
}
