// Live updates: a job's events over Server-Sent Events (reconnecting with
// back-off, skipping events already seen), and polling that slows down
// on errors and pauses while the tab is hidden.

import { api, backoff, events as apiEvents } from "./api.js";

/**
 * watchJob follows job id. onEvent gets each event once, in order
 * ({type: status|step|log, status, step, progress, line}); onEnd gets the
 * final job. Returns a function that stops watching.
 */
export function watchJob(id, { onEvent, onEnd }) {
  let es = null, lastSeq = 0, attempt = 0, stopped = false, timer = 0;
  const finish = async () => {
    stop();
    try { onEnd?.(await api.job(id)); } catch (err) { onEnd?.(null, err); }
  };
  const open = () => {
    if (stopped) return;
    es = new EventSource(api.jobEventsURL(id));
    const handle = (ev) => {
      attempt = 0;
      const data = JSON.parse(ev.data);
      if (data.seq <= lastSeq) return;
      lastSeq = data.seq;
      onEvent?.(data);
      if (data.type === "status" && (data.status === "succeeded" || data.status === "failed")) finish();
    };
    for (const type of ["status", "step", "log"]) es.addEventListener(type, handle);
    es.onopen = () => apiEvents.dispatchEvent(new CustomEvent("connection", { detail: { online: true } }));
    es.onerror = async () => {
      es.close();
      if (stopped) return;
      // The stream ended or broke: ask whether the job is over, else reconnect.
      try {
        const job = await api.job(id);
        if (job.status === "succeeded" || job.status === "failed") {
          if (!stopped) { stopped = true; onEnd?.(job); }
          return;
        }
      } catch { /* the API client already reports a lost connection */ }
      timer = setTimeout(open, backoff(attempt++));
    };
  };
  const stop = () => { stopped = true; clearTimeout(timer); es?.close(); };
  open();
  return stop;
}

/**
 * poll calls fn now and then every interval(ms) — a number or a function
 * of the last result — waiting longer after failures and not at all while
 * the page is hidden. Returns stop.
 */
export function poll(fn, interval) {
  let stopped = false, timer = 0, failures = 0, last;
  const tick = async () => {
    if (stopped) return;
    if (document.hidden) { timer = setTimeout(tick, 1000); return; }
    try { last = await fn(); failures = 0; } catch { failures++; }
    if (stopped) return;
    const base = typeof interval === "function" ? interval(last) : interval;
    timer = setTimeout(tick, failures ? Math.max(base, backoff(failures - 1)) : base);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
