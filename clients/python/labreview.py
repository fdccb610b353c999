"""labreview job client: report runs and their series from a cluster job.

One file, Python 3.8+ standard library only: copy it next to the job script.

    import labreview

    with labreview.Run("sweep-12", external_id=f"job-{job_id}", params={"lr": lr}) as run:
        for step in range(steps):
            loss = train_step()
            run.log("loss", loss, step)
        run.metrics(loss=loss)

The server and the API token come from LABREVIEW_URL and LABREVIEW_TOKEN (or
the url= and token= arguments). Entering the block creates the run (or finds
it again by its external id, so a restarted job continues the same run) and
marks it running; a background thread sends a heartbeat every 30 s and
flushes logged points every few seconds; leaving the block marks the run
succeeded, or failed when an exception escapes (cancelled on Ctrl-C).

Network errors, 5xx and 429 answers are retried with growing waits for up
to two minutes (every write is idempotent, so nothing is doubled); any other
refusal raises LabreviewError with the server's message.
"""

import json
import math
import os
import random
import threading
import time
import urllib.error
import urllib.request

__all__ = ["Client", "Run", "LabreviewError"]
__version__ = "1"


class LabreviewError(Exception):
    """The server refused a request (4xx), or kept failing past the retry time."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


_now = time.time  # log's parameter `time` hides the module there


def _point(p):
    if len(p) == 3:
        return [int(p[0]), _value(p[1]), round(float(p[2]), 3)]
    step, value = p
    return [int(step), _value(value)]


def _value(v):
    """A number as the API takes it: NaN and infinities as strings."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


class Client:
    """A connection to a labreview server with an API token."""

    def __init__(self, url=None, token=None, retry_for=120.0, timeout=60.0):
        self.url = (url or os.environ.get("LABREVIEW_URL") or "").rstrip("/")
        self.token = token or os.environ.get("LABREVIEW_TOKEN") or ""
        if not self.url:
            raise LabreviewError("LABREVIEW_URL is not set (export LABREVIEW_URL=https://labreview.example.org)")
        if not self.token:
            raise LabreviewError("LABREVIEW_TOKEN is not set (create an API token on the Tokens page)")
        if not (self.url.startswith("http://") or self.url.startswith("https://")):
            raise LabreviewError("LABREVIEW_URL must start with http:// or https://")
        self.retry_for = retry_for
        self.timeout = timeout

    def request(self, method, path, body=None):
        """Send a request, retrying what may succeed later; return (status, decoded JSON or None)."""
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        deadline = time.monotonic() + self.retry_for
        wait = 0.5
        attempt = 0
        while True:
            attempt += 1
            req = urllib.request.Request(self.url + path, data=data, method=method)
            req.add_header("Authorization", "Bearer " + self.token)
            req.add_header("User-Agent", "labreview-python/" + __version__)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            retry_after = 0.0
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    return resp.status, (json.loads(raw) if raw else None)
            except urllib.error.HTTPError as e:
                raw = e.read()
                try:
                    err = json.loads(raw)
                except ValueError:
                    err = {"error": "", "message": raw[:200].decode("utf-8", "replace")}
                if e.code < 500 and e.code not in (408, 429):
                    raise LabreviewError("the server refused the request (%d %s): %s"
                                         % (e.code, err.get("error", ""), err.get("message", "")),
                                         status=e.code, code=err.get("error")) from None
                problem = "server answered %d %s" % (e.code, err.get("error", ""))
                try:
                    retry_after = float(e.headers.get("Retry-After") or 0)
                except ValueError:
                    retry_after = 0.0
            except (urllib.error.URLError, OSError) as e:
                problem = "cannot reach %s: %s" % (self.url, getattr(e, "reason", e))
            pause = max(retry_after, wait / 2 + random.random() * wait / 2)
            if time.monotonic() + pause > deadline:
                raise LabreviewError("gave up after %d attempts: %s" % (attempt, problem))
            time.sleep(pause)
            wait = min(wait * 2, 30.0)

    def create_run(self, project, external_id, **fields):
        """Create a run, or return the existing run of the project with this external id."""
        body = dict(fields, project=project, external_id=external_id)
        if "metrics" in body:
            body["metrics"] = {k: _value(v) for k, v in body["metrics"].items()}
        status, run = self.request("POST", "/api/runs", body)
        return run, status == 201

    def update_run(self, run_id, **fields):
        """Change a run: status, metrics (merged by name), params, tags, notes, heartbeat, finished_at."""
        if "metrics" in fields:
            fields["metrics"] = {k: _value(v) for k, v in fields["metrics"].items()}
        return self.request("PATCH", "/api/runs/%s" % run_id, fields)[1]

    def append_series(self, run_id, batch):
        """Append points: {"loss": [(step, value), ...], ...}, each point optionally with its wall
        time (step, value, unix_seconds); the server stamps points without one when it receives
        them. Returns how many steps were new."""
        body = {name: [_point(p) for p in points] for name, points in batch.items()}
        return self.request("POST", "/api/runs/%s/series" % run_id, body)[1]["added"]

    def get_run(self, run_id):
        return self.request("GET", "/api/runs/%s" % run_id)[1]

    def log_file(self, run_id, path, name=None):
        """Upload the file at path to a run as name (default: its file name; "plots/a.png" makes
        folders), replacing a file there. Streamed from disk; retried like every request (the same
        upload again leaves the same file). Returns the file's entry (path, size, sha256, url)."""
        name = "/".join(urllib.request.quote(p, safe="") for p in (name or os.path.basename(path)).strip("/").split("/"))
        deadline, wait, attempt = time.monotonic() + self.retry_for, 0.5, 0
        with open(path, "rb") as f:
            while True:
                attempt += 1
                f.seek(0)
                req = urllib.request.Request("%s/api/runs/%s/files/%s" % (self.url, run_id, name), data=f, method="PUT")
                for k, v in (("Authorization", "Bearer " + self.token), ("Content-Type", "application/octet-stream"),
                             ("Content-Length", str(os.fstat(f.fileno()).st_size))):
                    req.add_header(k, v)
                try:
                    with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                        return json.loads(resp.read())
                except urllib.error.HTTPError as e:
                    try:
                        err = json.loads(e.read())
                    except ValueError:
                        err = {}
                    if e.code < 500 and e.code not in (408, 429):
                        raise LabreviewError("the server refused the file (%d %s): %s" % (
                            e.code, err.get("error", ""), err.get("message", "")), status=e.code, code=err.get("error")) from None
                    problem = "server answered %d %s" % (e.code, err.get("error", ""))
                except (urllib.error.URLError, OSError) as e:
                    problem = "cannot reach %s: %s" % (self.url, getattr(e, "reason", e))
                if time.monotonic() + wait > deadline:
                    raise LabreviewError("gave up after %d attempts: %s" % (attempt, problem))
                time.sleep(wait / 2 + random.random() * wait / 2)
                wait = min(wait * 2, 30.0)


class Run:
    """A run reported while a block of code runs: use it with `with`."""

    def __init__(self, project, external_id, params=None, name=None, tags=None, notes=None, host=None,
                 job_id=None, client=None, heartbeat_every=30.0, flush_every=5.0, batch_points=10000):
        self.client = client or Client()
        self.project = project
        self.external_id = external_id
        self._create = {"status": "running"}
        for key, value in (("params", params), ("name", name), ("tags", tags), ("notes", notes),
                           ("host", host or os.uname().nodename), ("job_id", job_id or os.environ.get("SLURM_JOB_ID")
                                                                   or os.environ.get("PBS_JOBID"))):
            if value is not None:
                self._create[key] = value
        self.heartbeat_every = heartbeat_every
        self.flush_every = flush_every
        self.batch_points = batch_points
        self.id = None
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._buffer = {}
        self._buffered = 0
        self._next_step = {}
        self._stop = threading.Event()
        self._thread = None
        self._error = None

    def __enter__(self):
        run, created = self.client.create_run(self.project, self.external_id, **self._create)
        self.id = run["id"]
        if not created:
            # A restarted job: continue the same run and each series after its last step.
            run = self.client.update_run(self.id, status="running", heartbeat=True)
            detail = self.client.get_run(self.id)
            for s in detail.get("series") or []:
                if s.get("last_step") is not None:
                    self._next_step[s["name"]] = s["last_step"] + 1
        self._thread = threading.Thread(target=self._background, name="labreview-heartbeat", daemon=True)
        self._thread.start()
        return self

    def log(self, name, value, step=None, time=None):
        """Record a point of a series; without step, the series' next step. The point carries
        its wall time for the plots' time axis: time (Unix seconds) when given, as when replaying
        a log, else the time of this call (not of the send)."""
        with self._lock:
            if step is None:
                step = self._next_step.get(name, 0)
            self._next_step[name] = max(self._next_step.get(name, 0), int(step) + 1)
            at = _now() if time is None else float(time)
            self._buffer.setdefault(name, []).append((int(step), value, at))
            self._buffered += 1
            full = self._buffered >= self.batch_points
        if full:
            self.flush()

    def metrics(self, **values):
        """Set final scalars (merged by name with those already stored)."""
        self.client.update_run(self.id, metrics=values)

    def flush(self):
        """Send the buffered points now."""
        with self._send_lock:
            with self._lock:
                batch, self._buffer, self._buffered = self._buffer, {}, 0
            if batch:
                self.client.append_series(self.id, batch)

    def _background(self):
        last_beat = time.monotonic()
        while not self._stop.wait(min(self.flush_every, self.heartbeat_every)):
            try:
                self.flush()
                if time.monotonic() - last_beat >= self.heartbeat_every:
                    self.client.update_run(self.id, heartbeat=True)
                    last_beat = time.monotonic()
            except LabreviewError as e:  # kept for the end of the block; the job goes on
                self._error = e

    def __exit__(self, exc_type, exc, tb):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        if exc_type is None:
            status = "succeeded"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "cancelled"
        else:
            status = "failed"
        self.client.update_run(self.id, status=status)
        return False
