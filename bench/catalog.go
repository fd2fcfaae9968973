package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// catalogApps is how many apps the catalog section serves.
const catalogApps = 1000

// catalogCategories are the categories the generated apps spread over.
var catalogCategories = []string{"cms", "collaboration", "devops", "database", "monitoring", "storage", "media",
	"communication", "analytics", "productivity", "security", "networking"}

// writeCatalog writes catalogApps bundle folders, copies of the fixture
// hello bundle with catalog metadata of their own, into a new folder.
func writeCatalog(fixtures string) (string, error) {
	manifest, err := os.ReadFile(filepath.Join(fixtures, "hello", "porter.yaml"))
	if err != nil {
		return "", err
	}
	compose, err := os.ReadFile(filepath.Join(fixtures, "hello", "docker-compose.yml"))
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "stackhub-bench-catalog")
	if err != nil {
		return "", err
	}
	for i := range catalogApps {
		name := fmt.Sprintf("app%04d", i)
		c := catalogCategories[i%len(catalogCategories)]
		meta := fmt.Sprintf("custom:\n  stackhub:\n    title: {en: \"App %d\", zh: \"应用 %d\"}\n"+
			"    description: {en: \"Does %s things, number %d\", zh: \"用于%s的应用\"}\n"+
			"    category: %s\n    keywords: [kw%d, %s]\n", i, i, c, i, c, c, i%13, c)
		m := strings.Replace(string(manifest), "name: hello\n", "name: "+name+"\n", 1)
		m = strings.Replace(m, "custom:\n", meta, 1)
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "porter.yaml"), []byte(m), 0o644); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "docker-compose.yml"), compose, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// benchCatalog measures GET /api/v1/apps on a server whose catalog holds
// catalogApps apps: a default page, searches in each language and a
// category sorted by title.
func benchCatalog(rep *report, bin, fixtures string, samples int) error {
	dir, err := writeCatalog(fixtures)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := startServer(bin, dir, "")
	if err != nil {
		return err
	}
	defer s.cleanup()
	paths := []struct{ name, path string }{
		{"list", "/api/v1/apps"},
		{"search", "/api/v1/apps?q=things+kw7"},
		{"search zh", "/api/v1/apps?q=%E5%BA%94%E7%94%A8&page=3"},
		{"category by title", "/api/v1/apps?category=media&sort=title&per_page=200"},
	}
	for _, p := range paths {
		// The first request builds the index; it is not a sample.
		if _, err := s.call("GET", p.path, nil); err != nil {
			return err
		}
		lat := make([]float64, 0, samples)
		for range samples {
			start := time.Now()
			if _, err := s.call("GET", p.path, nil); err != nil {
				continue
			}
			lat = append(lat, ms(time.Since(start)))
		}
		rep.add("catalog", fmt.Sprintf("%s p50, %d apps", p.name, catalogApps), percentile(lat, 50), "ms", "", "")
		rep.add("catalog", fmt.Sprintf("%s p99, %d apps", p.name, catalogApps), percentile(lat, 99), "ms", "<= 5", "")
	}
	return nil
}
