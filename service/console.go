package service

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/service/web"
)

// The web console: index.html at / (and at /setup, which the one-time
// setup link opens), every other file under /ui/. Files are read from the
// embedded folder once (on first use), compressed once, and answered with a strong ETag:
// browsers revalidate (Cache-Control: no-cache) and get 304 while the
// binary is the same.

// consoleCSP lets the page load only its own files and talk only to its
// own origin: no inline script or style, no other origin.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// asset is one console file, ready to send.
type asset struct {
	body, gz    []byte
	etag, ctype string
}

// consoleAssets reads every console file; paths are relative to static/.
func consoleAssets(files fs.FS) (map[string]*asset, error) {
	out := map[string]*asset{}
	// One compressor for every file: each gzip.Writer at BestCompression
	// allocates about a megabyte of state.
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestCompression)
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return fmt.Errorf("read console file %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		a.ctype = mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			a.ctype = "text/javascript; charset=utf-8"
		case ".json":
			a.ctype = "application/json; charset=utf-8"
		case ".svg":
			a.ctype = "image/svg+xml"
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		if len(body) > 512 && path.Ext(p) != ".png" {
			var buf bytes.Buffer
			zw.Reset(&buf)
			_, _ = zw.Write(body)
			_ = zw.Close()
			a.gz = buf.Bytes()
		}
		out[p] = a
		return nil
	})
	return out, err
}

// consoleFiles is the embedded console, read and compressed on first use:
// not at start (every command of the binary would pay for it), and not at
// all by a service nobody opens the console of.
var consoleFiles = sync.OnceValue(func() map[string]*asset {
	a, err := consoleAssets(web.Files())
	if err != nil {
		panic(err) // embedded files are readable
	}
	return a
})

// consoleIndex serves the console's page.
func (s *Server) consoleIndex(c *fiber.Ctx) error {
	return sendAsset(c, consoleFiles()["index.html"])
}

// consoleFile serves one console file under /ui/.
func (s *Server) consoleFile(c *fiber.Ctx) error {
	p := strings.TrimPrefix(c.Params("*"), "/")
	a, ok := consoleFiles()[p]
	if !ok || p == "index.html" {
		return fiber.ErrNotFound
	}
	return sendAsset(c, a)
}

func sendAsset(c *fiber.Ctx, a *asset) error {
	c.Set("Content-Security-Policy", consoleCSP)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("X-Frame-Options", "DENY")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderETag, a.etag)
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, a.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.ctype)
	if a.gz != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gz)
	}
	return c.Send(a.body)
}
