package sqlite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackhub/stackhub/engine"
)

// KeyFile is the name of the key that encrypts parameter values and
// sensitive outputs at rest, kept beside the database. A copy of the
// database without it holds no readable secret; back it up separately.
const KeyFile = "secrets.key"

// sealedPrefix marks an encrypted value: sealedPrefix + base64(nonce +
// AES-256-GCM ciphertext). Values written before encryption existed have
// no prefix and are read as they are.
const sealedPrefix = "enc:v1:"

// sealer encrypts and decrypts values at rest.
type sealer struct {
	aead cipher.AEAD
}

// loadSealer reads the key beside dbPath, creating it (mode 0600) on first
// use.
func loadSealer(dbPath string) (*sealer, error) {
	path := filepath.Join(filepath.Dir(dbPath), KeyFile)
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate %s: %w", path, err)
		}
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if cerr == nil {
			_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
			if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
				_ = os.Remove(path)
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		} else if !errors.Is(cerr, fs.ErrExist) { // else another process made it first
			return nil, fmt.Errorf("create %s: %w", path, cerr)
		}
		text, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(key) != 32 {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("%s is not a 64-digit hex key", path),
			"restore the file from the backup taken with the database; without it the stored secrets cannot be read")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts plain.
func (s *sealer) seal(plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	sealed := s.aead.Seal(nonce, nonce, plain, nil)
	out := make([]byte, len(sealedPrefix)+base64.StdEncoding.EncodedLen(len(sealed)))
	copy(out, sealedPrefix)
	base64.StdEncoding.Encode(out[len(sealedPrefix):], sealed)
	return out
}

// open decrypts a sealed value; a value without the prefix is returned
// unchanged.
func (s *sealer) open(v []byte) ([]byte, error) {
	text, ok := strings.CutPrefix(string(v), sealedPrefix)
	if !ok {
		return v, nil
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, errors.New("decrypt: malformed value")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w (was %s replaced?)", err, KeyFile)
	}
	return plain, nil
}

// sealJSON encrypts a JSON document into a JSON string, so that columns
// checked with json_valid accept it.
func (s *sealer) sealJSON(doc []byte) string {
	b, _ := json.Marshal(string(s.seal(doc)))
	return string(b)
}

// openJSON reverses sealJSON; a plain JSON document is returned unchanged.
func (s *sealer) openJSON(col string) ([]byte, error) {
	if !strings.HasPrefix(col, `"`+sealedPrefix) {
		return []byte(col), nil
	}
	var text string
	if err := json.Unmarshal([]byte(col), &text); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return s.open([]byte(text))
}
