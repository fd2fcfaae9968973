package engine

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Job event types.
const (
	// JobEventStatus reports a change of the job's status (queued, running,
	// succeeded, failed); the last event of a job is always one.
	JobEventStatus = "status"
	// JobEventStep reports the start of a step of the job.
	JobEventStep = "step"
	// JobEventLog is one log line of the job (bundle output, engine notes).
	JobEventLog = "log"
)

// JobEvent is one thing that happened in a job: a status change, a step,
// or a log line. Events are persisted (Store.AppendJobEvent) and broadcast
// to subscribers; Seq orders them within the job, from 1.
type JobEvent struct {
	Job      string    `json:"job"`
	Seq      int       `json:"seq"`
	Type     string    `json:"type"`
	Status   string    `json:"status,omitempty"`
	Step     string    `json:"step,omitempty"`
	Progress int       `json:"progress"`
	Line     string    `json:"line,omitempty"`
	Time     time.Time `json:"time"`
}

// Final reports whether the event ends its job.
func (ev *JobEvent) Final() bool {
	return ev.Type == JobEventStatus && (ev.Status == JobSucceeded || ev.Status == JobFailed)
}

// jobHub fans job events out to subscribers and persists them.
type jobHub struct {
	mu    sync.Mutex
	feeds map[string]*jobFeed
}

// jobFeed is the live state of one running job.
type jobFeed struct {
	mu       sync.Mutex
	id       string
	seq      int
	progress int
	step     string
	subs     map[chan JobEvent]struct{}
	partial  []byte
	done     bool
}

func newJobHub() *jobHub { return &jobHub{feeds: map[string]*jobFeed{}} }

func (h *jobHub) feed(id string) *jobFeed {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.feeds[id]
	if !ok {
		f = &jobFeed{id: id, subs: map[chan JobEvent]struct{}{}}
		h.feeds[id] = f
	}
	return f
}

func (h *jobHub) lookup(id string) (*jobFeed, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.feeds[id]
	return f, ok
}

func (h *jobHub) drop(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.feeds, id)
}

type jobCtxKey struct{}

// jobFrom returns the feed of the job ctx runs in, if any.
func jobFrom(ctx context.Context) *jobFeed {
	f, _ := ctx.Value(jobCtxKey{}).(*jobFeed)
	return f
}

// emit records and broadcasts one event. Progress never goes back.
func (e *Engine) emit(f *jobFeed, ev JobEvent) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return
	}
	f.seq++
	ev.Job, ev.Seq, ev.Time = f.id, f.seq, time.Now().UTC()
	if ev.Progress < f.progress {
		ev.Progress = f.progress
	}
	f.progress = ev.Progress
	if ev.Type == JobEventStep {
		f.step = ev.Step
	} else if ev.Step == "" {
		ev.Step = f.step
	}
	if ev.Final() {
		f.done = true
	}
	// Persist even when the server shuts down: the event says how the job
	// ended.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(e.base), 5*time.Second)
	defer cancel()
	if err := e.deps.Store.AppendJobEvent(wctx, &ev); err != nil {
		e.log.Warn("record job event", "job", f.id, "err", err)
	}
	for ch := range f.subs {
		select {
		case ch <- ev:
		default: // a subscriber too slow to keep up loses lines, never blocks the job
		}
	}
	if f.done {
		for ch := range f.subs {
			close(ch)
		}
		f.subs = map[chan JobEvent]struct{}{}
	}
}

// step starts a named step of the job ctx runs in, at progress pct.
func (e *Engine) step(ctx context.Context, name string, pct int) {
	e.emit(jobFrom(ctx), JobEvent{Type: JobEventStep, Step: name, Progress: pct})
}

// jobLog is an io.Writer that turns what it is given into log events of
// the job, one per line; every line nudges progress towards 90%.
type jobLog struct {
	e *Engine
	f *jobFeed
}

func (w jobLog) Write(p []byte) (int, error) {
	w.f.mu.Lock()
	w.f.partial = append(w.f.partial, p...)
	var lines []string
	for {
		i := bytes.IndexByte(w.f.partial, '\n')
		if i < 0 {
			break
		}
		if l := strings.TrimRight(string(w.f.partial[:i]), "\r"); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
		w.f.partial = w.f.partial[i+1:]
	}
	prog := w.f.progress
	w.f.mu.Unlock()
	for _, l := range lines {
		if prog < 90 {
			prog += max(1, (90-prog)/10)
		}
		w.e.emit(w.f, JobEvent{Type: JobEventLog, Line: l, Progress: prog})
	}
	return len(p), nil
}

// jobRuntime tees the output of every bundle action into the log of the
// job it runs for.
type jobRuntime struct {
	e    *Engine
	next BundleRuntime
}

func (r jobRuntime) Run(ctx context.Context, op *Operation) (*OperationResult, error) {
	f := jobFrom(ctx)
	if f == nil {
		return r.next.Run(ctx, op)
	}
	r.e.step(ctx, "run "+op.Action, 20)
	cp := *op
	w := jobLog{e: r.e, f: f}
	cp.Out = teeWriter(op.Out, w)
	cp.Err = teeWriter(op.Err, w)
	res, err := r.next.Run(ctx, &cp)
	r.e.step(ctx, "record "+op.Action, 92)
	return res, err
}

func teeWriter(a, b interface{ Write([]byte) (int, error) }) *tee {
	return &tee{a: a, b: b}
}

type tee struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (t *tee) Write(p []byte) (int, error) {
	if t.a != nil {
		if _, err := t.a.Write(p); err != nil {
			return 0, err
		}
	}
	_, _ = t.b.Write(p)
	return len(p), nil
}

// queueJob records a new queued job for installation and runs fn as it.
func (e *Engine) queueJob(ctx context.Context, installation, action string, fn func(ctx context.Context) error) (*Job, error) {
	job := &Job{ID: NewID(), Installation: installation, Action: action, Status: JobQueued, Created: time.Now().UTC()}
	if err := e.deps.Store.CreateJob(ctx, job); err != nil {
		return nil, fmt.Errorf("record %s job of %s: %w", action, installation, err)
	}
	cp := *job
	e.startJob(job, fn)
	return &cp, nil
}

// startJob runs fn on the engine's lifetime context, bounded by the job
// semaphore, and records the job's progress and end. The job's events go
// to the store and to every subscriber.
func (e *Engine) startJob(job *Job, fn func(ctx context.Context) error) {
	f := e.hub.feed(job.ID)
	e.emit(f, JobEvent{Type: JobEventStatus, Status: JobQueued})
	e.jobs.Add(1)
	go func() {
		defer e.jobs.Done()
		defer e.hub.drop(job.ID)
		ctx := context.WithValue(e.base, jobCtxKey{}, f)
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			e.endJob(ctx, f, job, fmt.Errorf("interrupted: StackHub stopped before the job started"))
			return
		}
		defer func() { <-e.sem }()
		job.Status = JobRunning
		_ = e.deps.Store.UpdateJob(ctx, job)
		e.emit(f, JobEvent{Type: JobEventStatus, Status: JobRunning, Progress: 5})
		err := fn(ctx)
		e.endJob(ctx, f, job, err)
	}()
}

func (e *Engine) endJob(ctx context.Context, f *jobFeed, job *Job, err error) {
	done := time.Now().UTC()
	job.Finished = &done
	job.Status = JobSucceeded
	if err != nil {
		job.Status = JobFailed
		job.Message = err.Error()
		e.emit(f, JobEvent{Type: JobEventLog, Line: "error: " + err.Error()})
		if h := HintOf(err); h != "" {
			e.emit(f, JobEvent{Type: JobEventLog, Line: "hint: " + h})
		}
	}
	// Record the end even when the server is shutting down.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if uerr := e.deps.Store.UpdateJob(wctx, job); uerr != nil {
		e.log.Error("record job end", "job", job.ID, "err", uerr)
	}
	e.pruneHistory(wctx, job.Installation)
	pct := 100
	if err != nil {
		pct = 0 // emit keeps the highest progress reached
	}
	e.emit(f, JobEvent{Type: JobEventStatus, Status: job.Status, Progress: pct})
}

// pruneHistory keeps the installation's newest runs and jobs (Config.History).
func (e *Engine) pruneHistory(ctx context.Context, installation string) {
	if installation == "" {
		return
	}
	keep := e.cfg.History
	if keep <= 0 {
		keep = DefaultHistory
	}
	st, err := e.deps.Store.PruneHistory(ctx, e.cfg.Namespace, installation, keep)
	if err != nil {
		e.log.Warn("prune history", "installation", installation, "err", err)
		return
	}
	if st.Runs+st.Jobs > 0 {
		e.log.Debug("pruned history", "installation", installation, "runs", st.Runs, "jobs", st.Jobs)
	}
}

// Jobs lists jobs, newest first, at most limit (0: all).
func (e *Engine) Jobs(ctx context.Context, limit int) ([]*Job, error) {
	all, err := e.deps.Store.ListJobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// JobEvents returns the events the job has had so far and, while it runs,
// a channel of those to come (closed after the final event, or when ctx
// ends); the channel is nil for a finished job. stop releases the
// subscription.
func (e *Engine) JobEvents(ctx context.Context, id string) (past []JobEvent, next <-chan JobEvent, stop func(), err error) {
	if _, err := e.deps.Store.GetJob(ctx, id); err != nil {
		return nil, nil, nil, fmt.Errorf("get job %s: %w", id, err)
	}
	stop = func() {}
	f, live := e.hub.lookup(id)
	if live {
		// Hold the feed while reading the history so that no event falls
		// between the history and the subscription.
		f.mu.Lock()
		defer f.mu.Unlock()
	}
	list, err := e.deps.Store.ListJobEvents(ctx, id)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("job %s events: %w", id, err)
	}
	past = make([]JobEvent, 0, len(list))
	for _, ev := range list {
		past = append(past, *ev)
	}
	if !live || f.done {
		if n := len(past); n == 0 || !past[n-1].Final() {
			// A job a crash interrupted ended without its final event.
			if job, err := e.deps.Store.GetJob(ctx, id); err == nil && (job.Status == JobSucceeded || job.Status == JobFailed) {
				ev := JobEvent{Job: id, Seq: n + 1, Type: JobEventStatus, Status: job.Status, Line: job.Message, Time: job.Created}
				if job.Finished != nil {
					ev.Time = *job.Finished
				}
				past = append(past, ev)
			}
		}
		return past, nil, stop, nil
	}
	ch := make(chan JobEvent, 1024)
	f.subs[ch] = struct{}{}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.subs[ch]; ok {
				delete(f.subs, ch)
				close(ch)
			}
		})
	}
	return past, ch, stop, nil
}

// JobProgress returns the job's progress (0-100) and current step.
func (e *Engine) JobProgress(job *Job) (int, string) {
	if f, ok := e.hub.lookup(job.ID); ok {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.progress, f.step
	}
	if job.Status == JobSucceeded {
		return 100, ""
	}
	return 0, ""
}
