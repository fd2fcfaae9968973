package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Download is one entry of a manifest's files section (schema 1.3.0, the
// file-sources feature): a file fetched at build time into the bundle.
type Download struct {
	URL         string
	Destination string
}

// MaxDownload caps one downloaded file.
const MaxDownload = 1 << 30

// StageDownloads copies the bundle folder's files (BundleFiles) into a new
// temporary folder and downloads each file there at its destination,
// relative to the bundle folder, so that it lands in the image under
// /cnab/app and counts in the bundle's digest. The bundle folder itself is
// left as it was. cleanup removes the temporary folder.
func StageDownloads(ctx context.Context, client *http.Client, dir string, files []Download) (staged string, cleanup func(), err error) {
	if client == nil {
		client = http.DefaultClient
	}
	tmp, err := os.MkdirTemp("", "stackhub-files-")
	if err != nil {
		return "", nil, fmt.Errorf("stage downloaded files: %w", err)
	}
	remove := func() { _ = os.RemoveAll(tmp) }
	defer func() {
		if err != nil {
			remove()
		}
	}()
	src := os.DirFS(dir)
	list, err := BundleFiles(src)
	if err != nil {
		return "", nil, err
	}
	for _, f := range list {
		data, err := fs.ReadFile(src, f)
		if err != nil {
			return "", nil, fmt.Errorf("read %s: %w", f, err)
		}
		mode := fs.FileMode(0o644)
		if fi, err := fs.Stat(src, f); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := writeFile(filepath.Join(tmp, filepath.FromSlash(f)), data, mode); err != nil {
			return "", nil, err
		}
	}
	for _, d := range files {
		clean := path.Clean(d.Destination)
		if d.Destination == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return "", nil, fmt.Errorf("file destination %q must be a relative path inside the bundle", d.Destination)
		}
		data, err := download(ctx, client, d.URL)
		if err != nil {
			return "", nil, err
		}
		if err := writeFile(filepath.Join(tmp, filepath.FromSlash(clean)), data, 0o644); err != nil {
			return "", nil, err
		}
	}
	return tmp, remove, nil
}

func download(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("download %s: only http and https URLs are allowed", url)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: %s", url, res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	if len(data) > MaxDownload {
		return nil, fmt.Errorf("download %s: %w", url, errors.New("larger than 1 GiB"))
	}
	return data, nil
}

func writeFile(p string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("stage %s: %w", p, err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return fmt.Errorf("stage %s: %w", p, err)
	}
	return nil
}
