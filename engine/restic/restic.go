// Package restic is the engine's backup adapter over restic
// (https://restic.net), run as a program and read through its --json
// output: an encrypted, deduplicated repository in a local folder, over
// SFTP, on S3-compatible storage or a restic REST server. The repository
// key is a file kept in StackHub's data directory, apart from the
// repository, mode 0600. It imports nothing of Docker, SQL or cnab-go.
package restic

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// KeyFile is the repository key's file name in Options.Dir.
const KeyFile = "backup.key"

// tag prefixes on snapshots: every StackHub snapshot carries tagStackHub
// and tagInstallation+name; the others are "k=v" pairs.
const (
	tagStackHub     = "stackhub"
	tagInstallation = "installation="
	tagSize         = "size="
	tagAdded        = "added="
	tagFiles        = "files="
)

// Options configure the adapter.
type Options struct {
	// Repository is restic's repository string: a folder, sftp:HOST:/PATH,
	// s3:http://HOST/BUCKET, rest:http://HOST/ ... Empty: Dir/repository.
	Repository string
	// Dir holds the key, restic's cache and the staging files
	// (StackHub's data directory + /backups).
	Dir string
	// Extended are restic -o options (sftp.command=..., s3.region=...).
	Extended []string
	// Env is added to restic's environment (AWS_ACCESS_KEY_ID=...).
	Env []string
	// Binary is the restic program (default: restic on PATH).
	Binary string
}

// Restic is the engine.BackupEngine over restic.
type Restic struct {
	opts Options
	key  string
	log  *slog.Logger

	mu     sync.Mutex
	inited bool
}

var _ engine.BackupEngine = (*Restic)(nil)

// New prepares the adapter: the folder, and the key (created on first use,
// 0600). It does not touch the repository until it is used.
func New(opts Options, log *slog.Logger) (*Restic, error) {
	if opts.Dir == "" {
		return nil, errors.New("new restic adapter: a folder is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Binary == "" {
		opts.Binary = "restic"
	}
	if opts.Repository == "" {
		opts.Repository = filepath.Join(opts.Dir, "repository")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("make backup folder: %w", err)
	}
	key := filepath.Join(opts.Dir, KeyFile)
	if err := ensureKey(key); err != nil {
		return nil, err
	}
	return &Restic{opts: opts, key: key, log: log}, nil
}

func ensureKey(path string) error {
	st, err := os.Stat(path)
	if err == nil {
		if st.Mode().Perm()&0o077 != 0 {
			return engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("backup key %s can be read by others (mode %v)", path, st.Mode().Perm()),
				"chmod 600 "+path)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read backup key: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("make backup key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write backup key: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(b) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write backup key: %w", err)
	}
	return nil
}

// Target describes the repository; a URL's user information is left out.
func (r *Restic) Target() string {
	repo := r.opts.Repository
	if i := strings.Index(repo, "://"); i >= 0 {
		if at := strings.Index(repo[i+3:], "@"); at >= 0 {
			repo = repo[:i+3] + repo[i+3+at+1:]
		}
	}
	return repo
}

// KeyPath is the repository key's file.
func (r *Restic) KeyPath() string { return r.key }

// lockWait is how long a run waits for a repository lock held by another
// restic: this restic (0.14, Debian bookworm's) has no --retry-lock.
var lockWait = 30 * time.Second

// run runs restic with args and returns its stdout; a failure carries
// restic's last "Fatal:" line (or its last stderr line). A repository
// locked by another restic is waited for, up to lockWait: a restic of a
// StackHub killed a moment ago can hold it until its process is reaped
// (then `unlock` removes its lock), and a listing can overlap a backup.
func (r *Restic) run(ctx context.Context, args ...string) ([]byte, error) {
	deadline := time.Now().Add(lockWait)
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 4*time.Second) {
		out, err := r.runOnce(ctx, args...)
		var re *runError
		if err == nil || !errors.As(err, &re) || !re.locked() || args[0] == "unlock" || time.Now().Add(wait).After(deadline) {
			return out, err
		}
		r.log.Debug("backup repository is locked; waiting", "target", r.Target(), "command", args[0])
		if _, uerr := r.runOnce(ctx, "unlock"); uerr != nil {
			r.log.Debug("remove stale backup repository locks", "err", uerr)
		}
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
	}
}

func (r *Restic) runOnce(ctx context.Context, args ...string) ([]byte, error) {
	full := []string{"--cache-dir", filepath.Join(r.opts.Dir, "cache")}
	for _, o := range r.opts.Extended {
		full = append(full, "-o", o)
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, r.opts.Binary, full...)
	cmd.Env = append(os.Environ(), "RESTIC_REPOSITORY="+r.opts.Repository, "RESTIC_PASSWORD_FILE="+r.key, "RESTIC_PROGRESS_FPS=0.2")
	cmd.Env = append(cmd.Env, r.opts.Env...)
	cmd.WaitDelay = 5 * time.Second
	// restic dies with StackHub: a backup left running by a killed
	// StackHub would go on copying an app that recovery starts again.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, engine.NewUserError(engine.ErrUnavailable, "restic is not installed", "install it: apt-get install restic").WithCause(err)
	}
	if err != nil {
		return stdout.Bytes(), &runError{args: args, stderr: stderr.String(), err: err}
	}
	return stdout.Bytes(), nil
}

// runError is a failed restic run.
type runError struct {
	args   []string
	stderr string
	err    error
}

func (e *runError) Error() string {
	return "restic " + e.args[0] + ": " + e.reason()
}

func (e *runError) Unwrap() error { return e.err }

// reason is restic's own words for the failure.
func (e *runError) reason() string {
	var last, fatal string
	sc := bufio.NewScanner(strings.NewReader(e.stderr))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "{") {
			continue
		}
		last = line
		if strings.HasPrefix(line, "Fatal:") {
			fatal = strings.TrimSpace(strings.TrimPrefix(line, "Fatal:"))
		}
	}
	if fatal != "" {
		return fatal
	}
	if last != "" {
		return last
	}
	return e.err.Error()
}

// locked reports whether the run failed on a lock another restic holds.
func (e *runError) locked() bool {
	return strings.Contains(e.stderr, "repository is already locked") || strings.Contains(e.stderr, "unable to create lock")
}

// noRepository reports whether restic found no repository at the target.
func (e *runError) noRepository() bool {
	return strings.Contains(e.stderr, "Is there a repository at the following location?")
}

// ready makes sure the repository exists, creating it on first use.
func (r *Restic) ready(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inited {
		return nil
	}
	_, err := r.run(ctx, "cat", "config")
	var re *runError
	if errors.As(err, &re) && re.noRepository() {
		r.log.Info("creating backup repository", "target", r.Target())
		_, err = r.run(ctx, "init")
	}
	if err != nil {
		return r.userError(err)
	}
	// Locks a killed restic left behind (its process gone) are removed;
	// restic keeps those of running processes.
	if _, err := r.run(ctx, "unlock"); err != nil {
		r.log.Warn("remove stale backup repository locks", "target", r.Target(), "err", err)
	}
	r.inited = true
	return nil
}

// userError adds the hint a failed restic run deserves.
func (r *Restic) userError(err error) error {
	var ue *engine.UserError
	if errors.As(err, &ue) {
		return err
	}
	hint := fmt.Sprintf("check that the backup target %s is reachable and writable", r.Target())
	if strings.Contains(err.Error(), "wrong password") || strings.Contains(err.Error(), "no key found") {
		hint = fmt.Sprintf("the repository at %s was made with another key than %s: use that key file", r.Target(), r.key)
	}
	return &engine.UserError{Msg: err.Error(), Hint: hint, Err: errors.Join(engine.ErrUnavailable, err)}
}

// summary is restic backup's last JSON line.
type summary struct {
	MessageType         string `json:"message_type"`
	SnapshotID          string `json:"snapshot_id"`
	DataAdded           int64  `json:"data_added"`
	TotalFilesProcessed int64  `json:"total_files_processed"`
	TotalBytesProcessed int64  `json:"total_bytes_processed"`
}

// Backup snapshots req.Paths plus req.Files (written into
// Dir/stage/<installation>/ first).
func (r *Restic) Backup(ctx context.Context, req engine.BackupRequest) (*engine.Backup, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	paths := append([]string(nil), req.Paths...)
	if len(req.Files) > 0 {
		stage := filepath.Join(r.opts.Dir, "stage", req.Installation)
		if err := os.RemoveAll(stage); err != nil {
			return nil, fmt.Errorf("clear staging folder: %w", err)
		}
		if err := os.MkdirAll(stage, 0o700); err != nil {
			return nil, fmt.Errorf("make staging folder: %w", err)
		}
		defer os.RemoveAll(stage)
		for name, b := range req.Files {
			p := filepath.Join(stage, filepath.Base(name))
			if err := os.WriteFile(p, b, 0o600); err != nil {
				return nil, fmt.Errorf("stage %s: %w", name, err)
			}
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, engine.NewUserError(engine.ErrInvalid, "nothing to back up", "")
	}
	args := []string{"backup", "--json", "--host", "stackhub", "--tag", tagStackHub, "--tag", tagInstallation + req.Installation}
	for k, v := range req.Tags {
		args = append(args, "--tag", k+"="+strings.ReplaceAll(v, ",", "_"))
	}
	args = append(args, paths...)
	out, err := r.run(ctx, args...)
	if err != nil {
		return nil, r.userError(err)
	}
	var sum summary
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		var s summary
		if json.Unmarshal(line, &s) == nil && s.MessageType == "summary" {
			sum = s
		}
	}
	if sum.SnapshotID == "" {
		return nil, errors.New("restic backup: no summary in its output")
	}
	// The sizes are recorded on the snapshot as tags, so that listing
	// needs no second pass over the repository. Tagging rewrites the
	// snapshot under a new id with the same time.
	made, err := r.snapshot(ctx, sum.SnapshotID)
	if err != nil {
		return nil, err
	}
	tags := append(tagList(req), tagSize+strconv.FormatInt(sum.TotalBytesProcessed, 10),
		tagAdded+strconv.FormatInt(sum.DataAdded, 10), tagFiles+strconv.FormatInt(sum.TotalFilesProcessed, 10))
	if _, err := r.run(ctx, "tag", "--set", strings.Join(tags, ","), made.ID); err != nil {
		return nil, r.userError(err)
	}
	list, err := r.snapshots(ctx, tagInstallation+req.Installation)
	if err != nil {
		return nil, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Created.Equal(made.Time.UTC()) {
			return &list[i], nil
		}
	}
	return nil, fmt.Errorf("restic backup: snapshot %s not found after tagging", sum.SnapshotID)
}

func tagList(req engine.BackupRequest) []string {
	tags := []string{tagStackHub, tagInstallation + req.Installation}
	for k, v := range req.Tags {
		tags = append(tags, k+"="+strings.ReplaceAll(v, ",", "_"))
	}
	return tags
}

// snapshot is one entry of restic snapshots --json.
type snapshot struct {
	Time  time.Time `json:"time"`
	Paths []string  `json:"paths"`
	Tags  []string  `json:"tags"`
	ID    string    `json:"id"`
}

func (r *Restic) snapshots(ctx context.Context, tag string) ([]engine.Backup, error) {
	out, err := r.run(ctx, "snapshots", "--json", "--tag", tag)
	if err != nil {
		return nil, r.userError(err)
	}
	var list []snapshot
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("restic snapshots: read its output: %w", err)
	}
	bs := make([]engine.Backup, 0, len(list))
	for _, s := range list {
		b := engine.Backup{ID: s.ID, Created: s.Time.UTC(), Paths: s.Paths, Tags: map[string]string{}, Target: r.Target()}
		for _, t := range s.Tags {
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k + "=" {
			case tagInstallation:
				b.Installation = v
			case tagSize:
				b.Size = n
			case tagAdded:
				b.Added = n
			case tagFiles:
				b.Files = n
			default:
				b.Tags[k] = v
			}
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// snapshot returns one snapshot by id.
func (r *Restic) snapshot(ctx context.Context, id string) (*snapshot, error) {
	out, err := r.run(ctx, "snapshots", "--json", id)
	if err != nil {
		return nil, r.userError(err)
	}
	var list []snapshot
	if err := json.Unmarshal(out, &list); err != nil || len(list) != 1 {
		return nil, fmt.Errorf("restic snapshots %s: read its output: %w", id, errors.Join(err, engine.ErrNotFound))
	}
	return &list[0], nil
}

// List returns the installation's snapshots, oldest first.
func (r *Restic) List(ctx context.Context, installation string) ([]engine.Backup, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	return r.snapshots(ctx, tagInstallation+installation)
}

// ReadFile returns a file that Backup staged, found by base name among
// the snapshot's paths.
func (r *Restic) ReadFile(ctx context.Context, id, name string) ([]byte, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	snap, err := r.snapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, p := range snap.Paths {
		if filepath.Base(p) == name {
			b, err := r.run(ctx, "dump", id, p)
			if err != nil {
				return nil, r.userError(err)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("snapshot %s holds no %s: %w", id, name, engine.ErrNotFound)
}

// Restore writes path of snapshot id below target.
func (r *Restic) Restore(ctx context.Context, id, path, target string) error {
	if err := r.ready(ctx); err != nil {
		return err
	}
	if _, err := r.run(ctx, "restore", id, "--target", target, "--include", path); err != nil {
		return r.userError(err)
	}
	return nil
}

// Delete forgets the snapshot and prunes the data only it used.
func (r *Restic) Delete(ctx context.Context, id string) error {
	if err := r.ready(ctx); err != nil {
		return err
	}
	if _, err := r.run(ctx, "forget", "--prune", id); err != nil {
		return r.userError(err)
	}
	return nil
}

// Forget removes the installation's snapshots keep does not keep, then
// prunes the data only they used.
func (r *Restic) Forget(ctx context.Context, installation string, keep engine.KeepPolicy) ([]string, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	args := []string{"forget", "--json", "--tag", tagInstallation + installation, "--group-by", ""}
	for flag, n := range map[string]int{"--keep-last": keep.Last, "--keep-daily": keep.Daily, "--keep-weekly": keep.Weekly, "--keep-monthly": keep.Monthly} {
		if n > 0 {
			args = append(args, flag, strconv.Itoa(n))
		}
	}
	out, err := r.run(ctx, args...)
	if err != nil {
		return nil, r.userError(err)
	}
	var groups []struct {
		Remove []snapshot `json:"remove"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &groups); err != nil {
		return nil, fmt.Errorf("restic forget: read its output: %w", err)
	}
	removed := []string{}
	for _, g := range groups {
		for _, s := range g.Remove {
			removed = append(removed, s.ID)
		}
	}
	if len(removed) > 0 {
		if _, err := r.run(ctx, "prune"); err != nil {
			return removed, r.userError(err)
		}
	}
	return removed, nil
}
