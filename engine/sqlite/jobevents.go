package sqlite

import (
	"context"
	"fmt"

	"github.com/stackhub/stackhub/engine"
)

// AppendJobEvent records one event of a job.
func (s *Store) AppendJobEvent(ctx context.Context, ev *engine.JobEvent) error {
	_, err := s.exec(ctx, `INSERT INTO job_events (job_id, seq, type, status, step, progress, line, time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.Job, ev.Seq, ev.Type, ev.Status, ev.Step, ev.Progress, ev.Line, fmtTime(ev.Time))
	if isUnique(err) {
		return fmt.Errorf("record event %d of job %s: %w", ev.Seq, ev.Job, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("record event %d of job %s: %w", ev.Seq, ev.Job, err)
	}
	return nil
}

// ListJobEvents returns a job's events in Seq order.
func (s *Store) ListJobEvents(ctx context.Context, jobID string) ([]*engine.JobEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT job_id, seq, type, status, step, progress, line, time
		FROM job_events WHERE job_id = ? ORDER BY seq`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list events of job %s: %w", jobID, err)
	}
	defer rows.Close()
	var out []*engine.JobEvent
	for rows.Next() {
		var (
			ev engine.JobEvent
			t  string
		)
		if err := rows.Scan(&ev.Job, &ev.Seq, &ev.Type, &ev.Status, &ev.Step, &ev.Progress, &ev.Line, &t); err != nil {
			return nil, fmt.Errorf("list events of job %s: %w", jobID, err)
		}
		if ev.Time, err = parseTime(t); err != nil {
			return nil, fmt.Errorf("list events of job %s: %w", jobID, err)
		}
		out = append(out, &ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events of job %s: %w", jobID, err)
	}
	return out, nil
}
