package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/stackhub/stackhub/engine"
)

// Tags lists the tags of a repository (GET /v2/<name>/tags/list), with the
// Docker CLI's credentials for its registry when it asks for them. Loopback
// registries and, with insecure, any registry are reached over plain HTTP
// when HTTPS fails.
func (c *Client) Tags(ctx context.Context, repo string, insecure bool) ([]string, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("repository %q is not valid: %v", repo, err), "")
	}
	host, path := reference.Domain(named), reference.Path(named)
	if host == "docker.io" {
		host = "registry-1.docker.io"
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	schemes := []string{"https"}
	if insecure || isLoopback(host) {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		tags, err := c.tagsFrom(ctx, hc, scheme+"://"+host+"/v2/"+path+"/tags/list", host)
		if err == nil {
			return tags, nil
		}
		lastErr = err
	}
	return nil, unreachable(lastErr, repo)
}

func (c *Client) tagsFrom(ctx context.Context, hc *http.Client, endpoint, host string) ([]string, error) {
	get := func(auth string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return nil, err
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return hc.Do(req)
	}
	resp, err := get("")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		challenge := resp.Header.Get("Www-Authenticate")
		resp.Body.Close()
		auth, err := c.authorize(ctx, hc, challenge, host)
		if err != nil {
			return nil, err
		}
		if resp, err = get(auth); err != nil {
			return nil, err
		}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: repository not found (%s)", engine.ErrNotFound, endpoint)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("list tags: %s answered %s", endpoint, resp.Status)
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return body.Tags, nil
}

// authorize answers a registry's challenge: Basic with the stored
// credentials, or a Bearer token fetched from the realm with them.
func (c *Client) authorize(ctx context.Context, hc *http.Client, challenge, host string) (string, error) {
	a, _ := c.cfg.GetAuthConfig(host)
	scheme, params, _ := strings.Cut(challenge, " ")
	if strings.EqualFold(scheme, "Basic") {
		if a.Username == "" {
			return "", fmt.Errorf("%s needs credentials: run docker login %s", host, host)
		}
		req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
		req.SetBasicAuth(a.Username, a.Password)
		return req.Header.Get("Authorization"), nil
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok {
			fields[k] = strings.Trim(v, `"`)
		}
	}
	realm, err := url.Parse(fields["realm"])
	if err != nil || realm.Host == "" {
		return "", fmt.Errorf("%s asked for authentication this client does not understand: %s", host, challenge)
	}
	q := realm.Query()
	for _, k := range []string{"service", "scope"} {
		if fields[k] != "" {
			q.Set(k, fields[k])
		}
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	if a.Username != "" {
		req.SetBasicAuth(a.Username, a.Password)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token from %s: %s", realm.Host, resp.Status)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return "", fmt.Errorf("token from %s: %w", realm.Host, err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	return "Bearer " + tok.Token, nil
}

func isLoopback(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
