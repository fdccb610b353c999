"""labreview job client: report runs and their series from a cluster job.

One file, Python 3.8+ standard library only: copy it next to the job script,
or install it from your server (pinned to its version):

    pip install "$LABREVIEW_URL/clients/python/labreview-<version>-py3-none-any.whl"

A job in a few lines:

    import labreview

    with labreview.run("sweep-12", params={"lr": lr}) as run:
        for step in range(steps):
            run.log("train/loss", train_step(), step)
        run.metrics(**{"val.loss": evaluate()})

The server and the API token come from LABREVIEW_URL and LABREVIEW_TOKEN (or
the url= and token= arguments of Client). Entering the block creates the run
(or finds it again by its external id, so a restarted job continues the same
run) and marks it running; a background thread sends a heartbeat every 30 s
and flushes logged points every few seconds; leaving the block marks the run
succeeded, or failed with the exception's type, message and traceback when
one escapes (cancelled on Ctrl-C).

Nothing is lost silently:

- Every batch is appended to a spool file (default ~/.labreview/spool/,
  synced to disk) before it is sent, and leaves it only after the server
  answered 2xx. While the server is unreachable the job goes on and the
  spool keeps what it logs; when the server is back the spool is sent in
  order. If it is still unreachable at exit, the job ends normally and the
  client prints where the spool is; `python -m labreview sync DIR` (or
  `labreview sync DIR`) sends it later, idempotently.
- A name or value the server would refuse raises LabreviewError at the call
  that logs it. A refusal of a background send (a 4xx answer) is raised at
  the next call and when the block ends, unless on_error="warn".

Network errors, 5xx and 429 answers are retried with growing waits (every
write is idempotent, so nothing is doubled). The token is sent only to the
server's own address: a redirect to another host is refused.
"""

import argparse
import glob
import json
import math
import os
import random
import re
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

try:
    import fcntl
except ImportError:  # not on Windows: spools are not locked there
    fcntl = None

__all__ = ["Client", "Run", "run", "sync", "LabreviewError", "Unreachable"]
# The server that serves this file writes its own version here.
__version__ = "0+dev"

# The server's rules (docs/ingest.md, "Names" and "Limits").
MAX_NAME = 200
MAX_STEP = 2**53 - 1
MAX_TIME = 253402300799  # the end of the year 9999, in Unix seconds
MAX_REASON = 500  # characters of a failure's reason
MAX_DETAIL = 16 * 1024  # bytes of a failure's detail
MAX_POINTS_PER_BATCH = 100000
MAX_SERIES_PER_BATCH = 100
SPOOL_VERSION = 1
JOB_ID_VARS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID", "FLUX_JOB_ID")


class LabreviewError(Exception):
    """The server refused a request (4xx), or an input breaks its rules.

    status and code are the HTTP status and the server's error code; details
    its per-field (or per-point) details; dropped the points the server
    refused from a batch whose other points were stored: (series, index,
    reason), index None for a whole series.
    """

    def __init__(self, message, status=None, code=None, details=None, dropped=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or []
        self.dropped = dropped or []


class Unreachable(LabreviewError):
    """The server could not be reached, or kept failing, for the whole retry time."""


_now = time.time  # log's parameter `time` hides the module there


def _printable(s):
    """No control, format, surrogate or unassigned characters, and no
    separator but the space: the server's rule (Go's unicode.IsPrint)."""
    return s.isprintable()


def name_problem(name):
    """Why a metric or series name breaks the server's rules (None: it does not)."""
    if not isinstance(name, str):
        return "a name is a str, not %s" % type(name).__name__
    if name == "":
        return "a name is 1 to 200 characters; this one is empty"
    if len(name) > MAX_NAME:
        return "a name is at most 200 characters"
    if not _printable(name):
        return "a name holds no control or format characters (tabs, line breaks, zero-width characters)"
    if name.startswith("$"):
        return "a name does not start with $"
    return None


def param_name_problem(name):
    """name_problem for a param name: a dot separates levels."""
    p = name_problem(name)
    if p:
        return p
    for level in name.split("."):
        if level == "":
            return ("a dot separates levels of a param name: it does not start or end one, "
                    "and two dots do not follow each other")
        if level.startswith("$"):
            return "no level of a param name starts with $"
    return None


def _scalar(v):
    """A numpy scalar (or 0-d array) as the Python number it holds."""
    item = getattr(v, "item", None)
    if callable(item) and not isinstance(v, (int, float, str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return v
    return v


def _number(v, what):
    """A value of a series or a metric as a float (NaN and infinities kept)."""
    v = _scalar(v)
    if v is None:
        raise LabreviewError("%s: None is not a number (log float('nan') for a missing value)" % what)
    if isinstance(v, bool):
        raise LabreviewError("%s: %r is not a number" % (what, v))
    if isinstance(v, (str, bytes)):
        raise LabreviewError("%s: the text %r is not a number" % (what, v[:40]))
    try:
        return float(v)
    except OverflowError:
        raise LabreviewError("%s: %s is beyond the range of a 64-bit float" % (what, str(v)[:40])) from None
    except (TypeError, ValueError):
        raise LabreviewError("%s: %s is not a number" % (what, type(v).__name__)) from None


def _step(v, what):
    v = _scalar(v)
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise LabreviewError("%s: the step %r is not a whole number" % (what, v))
    v = v.__index__()
    if not 0 <= v <= MAX_STEP:
        raise LabreviewError("%s: the step %d is not a whole number from 0 to 2^53 - 1" % (what, v))
    return v


def _time(v, what):
    t = _number(v, what + " time")
    if not 0 <= t <= MAX_TIME:
        raise LabreviewError("%s: the time %r is not Unix seconds from 0 to the year 9999" % (what, t))
    return round(t, 3)


def _value(v):
    """A float as the API takes it: NaN and infinities as strings."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _jsonable(v, path):
    """A params value as JSON: numpy scalars through .item(), arrays through
    .tolist(), tuples as lists; what JSON cannot hold raises, naming it."""
    tolist = getattr(v, "tolist", None)
    if callable(tolist) and not isinstance(v, (list, dict, str, bytes, int, float)) and getattr(v, "ndim", 1) != 0:
        v = tolist()
    else:
        v = _scalar(v)
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        if abs(v) > 1.7976931348623157e308:
            raise LabreviewError("%s: %s is beyond the range of a 64-bit float" % (path, str(v)[:40]))
        return v
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise LabreviewError("%s: %r is not a JSON number; params keep finite numbers (write it as a text)" % (path, v))
        return v
    if isinstance(v, dict):
        out = {}
        for k, e in v.items():
            if not isinstance(k, str):
                raise LabreviewError("%s: the name %r is not a str" % (path, k))
            p = param_name_problem(k)
            if p:
                raise LabreviewError("%s: %s (%r)" % (path, p, k[:40]))
            out[k] = _jsonable(e, path + "." + k)
        return out
    if isinstance(v, (list, tuple)):
        return [_jsonable(e, "%s[%d]" % (path, i)) for i, e in enumerate(v)]
    raise LabreviewError("%s: a %s is not JSON (params hold numbers, texts, booleans, lists and dicts)" % (path, type(v).__name__))


def _dumps(body):
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def _one_line(s, limit):
    s = " ".join("".join(c if c.isprintable() else " " for c in s).split())
    return s if len(s) <= limit else s[:limit - 1] + "\u2026"


def failure_of(exc_type, exc, tb):
    """The failure of a run that ended with an exception: its reason (the
    type and message, one line of at most 500 characters) and its detail
    (the end of the traceback, at most 16 KiB: the start is cut)."""
    msg = str(exc) if exc is not None else ""
    reason = _one_line(exc_type.__name__ + (": " + msg if msg else ""), MAX_REASON)
    detail = "".join(traceback.format_exception(exc_type, exc, tb))
    raw = detail.encode("utf-8", "replace")
    if len(raw) > MAX_DETAIL:
        mark = "[\u2026 the start of the traceback was cut]\n"
        keep = MAX_DETAIL - len(mark.encode())
        detail = mark + raw[-keep:].decode("utf-8", "ignore")
    return {"reason": reason, "detail": detail}


def _job_id():
    for v in JOB_ID_VARS:
        if os.environ.get(v):
            task = os.environ.get("SLURM_ARRAY_TASK_ID")
            return os.environ[v] + ("_" + task if v == "SLURM_JOB_ID" and task else "")
    return None


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect to the server's own scheme, host and port only,
    sending the token again there; any other is refused (issue 16.12)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.netloc) != (new.scheme, new.netloc):
            raise LabreviewError("the server redirected to %s://%s; the token is only sent to %s://%s "
                                 "(set LABREVIEW_URL to the address it redirects to)"
                                 % (new.scheme, new.netloc, old.scheme, old.netloc), code="redirect_refused")
        out = super().redirect_request(req, fp, code, msg, headers, newurl)
        if out is not None and req.unredirected_hdrs.get("Authorization"):
            out.add_unredirected_header("Authorization", req.unredirected_hdrs["Authorization"])
        return out


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
        self._opener = urllib.request.build_opener(_SameHostRedirects())

    def request(self, method, path, body=None, retry_for=None):
        """Send a request, retrying what may succeed later; return (status,
        decoded JSON or None). A refusal raises LabreviewError; when retrying
        did not help for retry_for seconds (default: the client's), Unreachable."""
        data = None if body is None else (body if isinstance(body, bytes) else _dumps(body))
        window = self.retry_for if retry_for is None else retry_for
        deadline = time.monotonic() + window
        wait = 0.5
        attempt = 0
        while True:
            attempt += 1
            req = urllib.request.Request(self.url + path, data=data, method=method)
            # Unredirected: urllib never carries it to a redirect's target
            # by itself (_SameHostRedirects adds it back for this server).
            req.add_unredirected_header("Authorization", "Bearer " + self.token)
            req.add_header("User-Agent", "labreview-python/" + __version__)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            retry_after = 0.0
            try:
                with self._opener.open(req, timeout=self.timeout) as resp:
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
                                         status=e.code, code=err.get("error"), details=err.get("details")) from None
                problem = "server answered %d %s" % (e.code, err.get("error", ""))
                try:
                    retry_after = float(e.headers.get("Retry-After") or 0)
                except ValueError:
                    retry_after = 0.0
            except LabreviewError:
                raise
            except (urllib.error.URLError, OSError) as e:
                problem = "cannot reach %s: %s" % (self.url, getattr(e, "reason", e))
            pause = max(retry_after, wait / 2 + random.random() * wait / 2)
            if time.monotonic() + pause > deadline:
                raise Unreachable("gave up after %d attempts in %.0f s: %s" % (attempt, window, problem))
            time.sleep(pause)
            wait = min(wait * 2, 30.0)

    def create_run(self, project, external_id, **fields):
        """Create a run, or return the existing run of the project with this external id."""
        body = dict(fields, project=project, external_id=external_id)
        if "params" in body:
            body["params"] = _jsonable(body["params"], "params")
        if "metrics" in body:
            body["metrics"] = {k: _value(_number(v, "metrics." + k)) for k, v in body["metrics"].items()}
        status, run = self.request("POST", "/api/runs", body)
        return run, status == 201

    def update_run(self, run_id, **fields):
        """Change a run: status, metrics (merged by name), params, tags, notes, heartbeat,
        finished_at, failure ({"reason", "detail"}, with the failed or cancelled status)."""
        if "metrics" in fields:
            fields["metrics"] = {k: _value(_number(v, "metrics." + k)) for k, v in fields["metrics"].items()}
        if "params" in fields:
            fields["params"] = _jsonable(fields["params"], "params")
        return self.request("PATCH", "/api/runs/%s" % run_id, fields)[1]

    def append_series(self, run_id, batch):
        """Append points: {"loss": [(step, value), ...], ...}, each point optionally with its wall
        time (step, value, unix_seconds); the server stamps points without one when it receives
        them. Returns how many steps were new."""
        body = {name: [_point(name, p) for p in points] for name, points in batch.items()}
        return self.request("POST", "/api/runs/%s/series" % run_id, body)[1]["added"]

    def truncate_series(self, run_id, name, from_step):
        """Remove the points of a series from step from_step on (a job restarted from a
        checkpoint); returns how many went."""
        path = "/api/runs/%s/series/%s?from_step=%d" % (run_id, urllib.parse.quote(name, safe=""), _step(from_step, name))
        return self.request("DELETE", path)[1]["removed"]

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
                # As in request: the token never follows a redirect to another host.
                req.add_unredirected_header("Authorization", "Bearer " + self.token)
                for k, v in (("User-Agent", "labreview-python/" + __version__), ("Content-Type", "application/octet-stream"),
                             ("Content-Length", str(os.fstat(f.fileno()).st_size))):
                    req.add_header(k, v)
                try:
                    with self._opener.open(req, timeout=self.timeout) as resp:
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
                    raise Unreachable("gave up after %d attempts: %s" % (attempt, problem))
                time.sleep(wait / 2 + random.random() * wait / 2)
                wait = min(wait * 2, 30.0)


def _point(name, p):
    if len(p) == 3:
        return [_step(p[0], name), _value(_number(p[1], name)), _time(p[2], name)]
    step, value = p
    return [_step(step, name), _value(_number(value, name))]


class _Spool:
    """A spool file being written (the format of `labreview sync`: a header
    line, then records {"seq", "op", "body"} and acknowledgements {"ack"}).
    Each record is synced to disk before it is sent."""

    def __init__(self, directory, header):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        label = header.get("run_id") or "%s-%s" % (header.get("project", ""), header.get("external_id", ""))
        label = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_.")[:80]
        header = dict(header, labreview_spool=SPOOL_VERSION, pid=os.getpid(), host=socket.gethostname(),
                      created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        for attempt in range(100):
            path = os.path.join(directory, "%s-%s-%d-%d.jsonl" % (label, time.strftime("%Y%m%dT%H%M%S", time.gmtime()),
                                                                os.getpid(), attempt))
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise LabreviewError("cannot create a spool file in %s" % directory)
        self.path = path
        self.directory = directory
        self._f = os.fdopen(fd, "ab")
        if fcntl is not None:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX)
        self.seq = 0
        self.acked = 0
        self.run_id = header.get("run_id")
        self._write(header)

    def _write(self, obj):
        self._f.write(_dumps(obj) + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def add(self, op, body):
        self.seq += 1
        self._write({"seq": self.seq, "op": op, "body": body})
        return self.seq

    def ack(self, seq):
        self.acked = max(self.acked, seq)
        self._write({"ack": seq})

    def created(self, run_id):
        if not self.run_id:
            self.run_id = run_id
            self._write({"run_id": run_id})

    def pending(self):
        return self.acked < self.seq or not self.run_id

    def finish(self):
        """Close; remove the file when everything arrived. Returns whether it was kept."""
        if fcntl is not None:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
        self._f.close()
        if self.pending():
            return True
        os.remove(self.path)
        return False


def _read_spool(path):
    """A spool file's header (with run_id once the run was created) and its
    records that were not acknowledged, in order."""
    header, records, acked = None, [], 0
    with open(path, "rb") as f:
        for n, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                if n == 0:
                    raise LabreviewError("%s is not a labreview spool" % path)
                continue  # cut short by a crash: never acknowledged
            if header is None:
                if not isinstance(obj, dict) or not obj.get("labreview_spool"):
                    raise LabreviewError("%s is not a labreview spool" % path)
                if obj["labreview_spool"] > SPOOL_VERSION:
                    raise LabreviewError("%s was written by a newer labreview" % path)
                header = obj
            elif obj.get("run_id"):
                header["run_id"] = obj["run_id"]
            elif obj.get("ack"):
                acked = max(acked, obj["ack"])
            elif obj.get("seq") and obj.get("op") in ("points", "patch"):
                records.append(obj)
    if header is None:
        raise LabreviewError("%s is empty" % path)
    return header, [r for r in records if r["seq"] > acked]


def _drop(body, details):
    """The batch without the points an error names, and those points as
    (series, index, reason); None when nothing is left."""
    body = {k: list(v) for k, v in body.items()}
    dropped, gone = [], {}
    for d in details:
        series = d.get("series")
        if series is None:
            continue
        if d.get("index") is None:
            body.pop(series, None)
            dropped.append((series, None, d.get("message", "")))
        else:
            gone.setdefault(series, set()).add(d["index"])
            dropped.append((series, d["index"], d.get("message", "")))
    for series, idx in gone.items():
        if series in body:
            body[series] = [p for i, p in enumerate(body[series]) if i not in idx]
    body = {k: v for k, v in body.items() if v}
    return (body or None), dropped


def _describe(dropped):
    return "; ".join("%s%s: %s" % (s, "" if i is None else " point %d" % i, m) for s, i, m in dropped[:20])


def _send(client, run_id, rec, retry_for=None):
    """Send one spool record; a series batch refused for bad points is sent
    again without them. Returns the dropped points."""
    path = "/api/runs/%s" % run_id
    if rec["op"] == "patch":
        client.request("PATCH", path, rec["body"], retry_for=retry_for)
        return []
    body, dropped = rec["body"], []
    for _ in range(3):
        try:
            client.request("POST", path + "/series", body, retry_for=retry_for)
            return dropped
        except Unreachable:
            raise
        except LabreviewError as e:
            if e.status != 400 or not any(d.get("series") is not None for d in e.details):
                raise
            body, more = _drop(body, e.details)
            dropped += more
            if body is None:
                return dropped
    raise LabreviewError("the server kept refusing points of a batch", dropped=dropped)


def default_spool_dir():
    return os.environ.get("LABREVIEW_SPOOL") or os.path.join(os.path.expanduser("~"), ".labreview", "spool")


def sync(directory=None, url=None, token=None, retry_for=120.0, out=None):
    """Send the spool files a job left in directory (default LABREVIEW_SPOOL,
    else ~/.labreview/spool): each file's records not yet acknowledged, in
    order, to the server the file names (or url). A file is removed once
    everything arrived; files of running jobs are skipped. Returns (sent,
    kept): lists of paths."""
    out = out or sys.stdout
    directory = directory or default_spool_dir()
    sent, kept = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.jsonl"))):
        try:
            with open(path, "ab") as lock:
                if fcntl is not None:
                    try:
                        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        print("%s: skipped: in use by a running job" % path, file=out)
                        continue
                header, records = _read_spool(path)
                client = Client(url or header.get("url"), token, retry_for=retry_for)
                run_id = header.get("run_id")

                def write(obj):
                    lock.write(_dumps(obj) + b"\n")
                    lock.flush()
                    os.fsync(lock.fileno())

                if not run_id:
                    run, _ = _create(client, header["create"])
                    run_id = run["id"]
                    write({"run_id": run_id})
                points = 0
                for rec in records:
                    dropped = _send(client, run_id, rec)
                    if dropped:
                        print("%s: the server refused %s; the other points were sent" % (path, _describe(dropped)), file=out)
                    write({"ack": rec["seq"]})
                    if rec["op"] == "points":
                        points += sum(len(v) for v in rec["body"].values())
            os.remove(path)
            sent.append(path)
            print("%s: sent %d records (%d points) to run %s of %s; removed" % (path, len(records), points, run_id, client.url), file=out)
        except LabreviewError as e:
            kept.append(path)
            print("%s: %s; kept" % (path, e), file=out)
    if not sent and not kept:
        print("nothing to send in %s" % directory, file=out)
    return sent, kept


def _create(client, create, retry_for=None):
    status, run = client.request("POST", "/api/runs", create, retry_for=retry_for)
    return run, status == 201


class Run:
    """A run reported while a block of code runs: use it with `with`.

    project, external_id: the run's identity; a second Run with the same
    pair continues the same run (a restarted job). external_id defaults to
    the batch system's job id (SLURM_JOB_ID and its array task, PBS_JOBID,
    LSB_JOBID, JOB_ID), else a new random one.
    spool: the spool folder (default LABREVIEW_SPOOL, else ~/.labreview/spool);
    False sends without one (what an outage holds is then kept in memory
    only).
    on_error: "raise" (default) raises a refusal of a background send at the
    next call and at the end; "warn" prints it instead.
    retry_for: how long a send at the end of the block keeps trying (default:
    the client's, 120 s); sends from the background thread try for
    background_retry_for (5 s) and try again at the next flush.
    """

    def __init__(self, project, external_id=None, params=None, name=None, tags=None, notes=None, host=None,
                 job_id=None, client=None, heartbeat_every=30.0, flush_every=5.0, batch_points=10000, spool=None,
                 on_error="raise", retry_for=None, background_retry_for=5.0):
        if on_error not in ("raise", "warn"):
            raise ValueError('on_error is "raise" or "warn"')
        self.client = client or Client()
        self.project = project
        job = job_id or _job_id()
        self.external_id = external_id or ("job-" + job if job else "run-%016x" % random.getrandbits(64))
        self._create = {"project": project, "external_id": self.external_id, "status": "running",
                        "host": host or socket.gethostname()}
        if params is not None:
            self._create["params"] = _jsonable(params, "params")
        for key, value in (("name", name), ("tags", tags), ("notes", notes), ("job_id", job)):
            if value is not None:
                self._create[key] = value
        self.heartbeat_every = heartbeat_every
        self.flush_every = flush_every
        self.batch_points = min(batch_points, MAX_POINTS_PER_BATCH)
        self.on_error = on_error
        self.retry_for = self.client.retry_for if retry_for is None else retry_for
        self.background_retry_for = background_retry_for
        self.spool_dir = default_spool_dir() if spool is None else spool
        self.id = None
        self._lock = threading.Lock()  # the buffer, the pending records, the spool file, the error
        self._send_lock = threading.Lock()  # one sender at a time, in order
        self._wake = threading.Event()  # records are waiting: the background thread sends them
        self._buffer = {}
        self._buffered = 0
        self._next_step = {}
        self._pending = []  # records not yet acknowledged, in order
        self._spool = None
        self._stop = threading.Event()
        self._thread = None
        self._error = None
        self._seq = 0
        self._dropped = []
        self._logged = 0
        self._sent = 0
        self._offline_since = None
        self._outages = 0
        self._finished = None
        self._halted = None  # a refusal that stops the sends: what is left stays in the spool

    # -- the block -----------------------------------------------------

    def __enter__(self):
        if self.spool_dir:
            self._spool = _Spool(self.spool_dir, {"url": self.client.url, "project": self.project,
                                                  "external_id": self.external_id, "create": self._create,
                                                  "writer": "labreview-python " + __version__})
        try:
            self._connect(min(self.retry_for, 10.0))
        except Unreachable as e:
            self._went_offline(e)
        except LabreviewError:
            # Refused (a wrong token or project): nothing was logged yet.
            if self._spool:
                os.remove(self._spool.path)
                self._spool.finish()
                self._spool = None
            raise
        self._thread = threading.Thread(target=self._background, name="labreview", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            status, failure = "succeeded", None
        elif issubclass(exc_type, KeyboardInterrupt):
            status, failure = "cancelled", {"reason": "KeyboardInterrupt", "detail": ""}
        elif issubclass(exc_type, SystemExit) and exc.code in (None, 0):
            status, failure = "succeeded", None
        else:
            status, failure = "failed", failure_of(exc_type, exc, tb)
        try:
            self.finish(status, failure)
        except LabreviewError as e:
            if exc_type is None:
                raise
            # The job's own exception goes on; this one is said.
            print("labreview: %s" % e, file=sys.stderr)
        return False

    def _connect(self, retry_for):
        """Create the run, or find it again and continue its series."""
        run, created = _create(self.client, self._create, retry_for=retry_for)
        self.id = run["id"]
        if self._spool:
            with self._lock:
                self._spool.created(self.id)
        if not created:
            # A restarted job: continue the same run and each series after its last step.
            self.client.request("PATCH", "/api/runs/%s" % self.id, {"status": "running", "heartbeat": True}, retry_for=retry_for)
            try:
                detail = self.client.get_run(self.id)
            except LabreviewError as e:
                if e.status != 403:
                    raise
                print("labreview: this token cannot read runs (runs:read): log() without a step starts each "
                      "series at 0 again; give steps, or a token with runs:read", file=sys.stderr)
                detail = {}
            with self._lock:
                for s in detail.get("series") or []:
                    if s.get("last_step") is not None:
                        self._next_step[s["name"]] = max(self._next_step.get(s["name"], 0), s["last_step"] + 1)

    # -- what a job calls ------------------------------------------------

    def log(self, name, value, step=None, time=None):
        """Record a point of a series; without step, the series' next step. The point carries
        its wall time for the plots' time axis: time (Unix seconds) when given, as when replaying
        a log, else the time of this call (not of the send). A name or value the server would
        refuse raises LabreviewError here."""
        self._raise_error()
        p = name_problem(name)
        if p:
            raise LabreviewError("log(%r): %s" % (name, p))
        v = _value(_number(value, name))
        at = round(_now(), 3) if time is None else _time(time, name)
        with self._lock:
            if step is None:
                step = self._next_step.get(name, 0)
            step = _step(step, name)
            self._next_step[name] = max(self._next_step.get(name, 0), step + 1)
            if name not in self._buffer and len(self._buffer) >= MAX_SERIES_PER_BATCH:
                self._enqueue_locked()  # a batch holds at most 100 series
            self._buffer.setdefault(name, []).append([step, v, at])
            self._buffered += 1
            self._logged += 1
            if self._buffered >= self.batch_points:
                self._enqueue_locked()

    def metrics(self, values=None, **more):
        """Set final scalars, merged by name with those already stored: metrics(loss=0.1), or
        metrics({"val.loss": 0.1}) for names that are no Python identifiers."""
        self._raise_error()
        values = dict(values or {}, **more)
        body = {}
        for k, v in values.items():
            p = name_problem(k)
            if p:
                raise LabreviewError("metrics(%r): %s" % (k, p))
            body[k] = _value(_number(v, "metrics." + k))
        with self._lock:
            self._enqueue_locked()
            self._add("patch", {"metrics": body})

    def flush(self):
        """Send the buffered points now (they stay in the spool if the server is unreachable)."""
        self._raise_error()
        self._enqueue_buffer()
        self._send_pending(self.background_retry_for, quiet=True)
        self._raise_error()

    def finish(self, status="succeeded", failure=None):
        """End the run: send what is left and set the status (and failure: {"reason", "detail"},
        with failed or cancelled). Returns what happened: {"points": logged, "sent": points that
        reached the server, "spooled": points kept in the spool, "dropped": points the server
        refused, "outages": times the server was unreachable, "spool": the spool file kept or
        None}, and says it on stderr when the job should know (an outage, a kept spool)."""
        if self._finished is not None:
            return self._finished
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._enqueue_buffer()
        change = {"status": status}
        if failure:
            change["failure"] = {"reason": _one_line(failure.get("reason") or status, MAX_REASON),
                                 "detail": failure.get("detail", "")}
        self._enqueue("patch", change)
        self._send_pending(self.retry_for, quiet=False)
        spooled = sum(sum(len(v) for v in r["body"].values()) for r in self._pending if r["op"] == "points")
        kept = self._spool.finish() if self._spool else bool(self._pending)
        report = {"points": self._logged, "sent": self._sent, "spooled": spooled,
                  "dropped": len(self._dropped), "outages": self._outages,
                  "spool": self._spool.path if self._spool and kept else None}
        self._finished = report
        if self._pending:
            where = ("kept in %s. Send them later with: python -m labreview sync %s (or: labreview sync %s)"
                     % (self._spool.path, self._spool.directory, self._spool.directory)) if self._spool else \
                "lost: this run has no spool (spool=False)"
            why = ("refused what was sent (%s)" % self._halted) if self._halted is not None else "could not be reached"
            print("labreview: the server at %s %s; %d points and the run's final status are %s"
                  % (self.client.url, why, spooled, where), file=sys.stderr)
        elif self._outages:
            print("labreview: all %d points reached the server (it was unreachable %d time%s meanwhile; the spool held them)"
                  % (self._sent, self._outages, "" if self._outages == 1 else "s"), file=sys.stderr)
        self._raise_error()
        return report

    # -- sending ---------------------------------------------------------

    def _raise_error(self):
        with self._lock:
            err, self._error = self._error, None
        if err is None:
            return
        if self.on_error == "warn":
            print("labreview: warning: %s" % err, file=sys.stderr)
            return
        raise err

    def _fail(self, err):
        with self._lock:
            if self._error is None:
                self._error = err

    def _enqueue_buffer(self):
        with self._lock:
            self._enqueue_locked()

    def _enqueue_locked(self):
        batch, self._buffer, self._buffered = self._buffer, {}, 0
        if batch:
            self._add("points", batch)

    def _enqueue(self, op, body):
        with self._lock:
            self._add(op, body)

    def _add(self, op, body):
        """Append a record to the spool (synced to disk) and to the pending ones; hold _lock."""
        self._seq += 1
        seq = self._spool.add(op, body) if self._spool else self._seq
        self._pending.append({"seq": seq, "op": op, "body": body})
        self._wake.set()

    def _went_offline(self, err):
        if self._offline_since is None:
            self._offline_since = time.monotonic()
            self._outages += 1
            print("labreview: %s; logging goes on into the spool and is sent when the server is back" % err, file=sys.stderr)

    def _send_pending(self, retry_for, quiet):
        """Send the pending records in order; stop at the first that cannot be sent."""
        with self._send_lock:
            if self._halted is not None:
                return
            try:
                if self.id is None:
                    self._connect(retry_for)
                while True:
                    with self._lock:
                        if not self._pending:
                            break
                        rec = self._pending[0]
                    dropped = _send(self.client, self.id, rec, retry_for=retry_for)
                    with self._lock:
                        self._pending.pop(0)
                        if self._spool:
                            self._spool.ack(rec["seq"])
                    if rec["op"] == "points":
                        self._sent += sum(len(v) for v in rec["body"].values()) - len(dropped)
                    if dropped:
                        self._dropped += dropped
                        self._fail(LabreviewError("the server refused %d point%s (the others were stored): %s"
                                                  % (len(dropped), "" if len(dropped) == 1 else "s", _describe(dropped)),
                                                  dropped=dropped))
                self._offline_since = None
            except Unreachable as e:
                if quiet:
                    self._went_offline(e)
                else:
                    self._offline_since = self._offline_since or time.monotonic()
            except LabreviewError as e:
                # Refused: sending the same again cannot help. What is
                # left stays in the spool, for a sync once it is fixed.
                self._halted = e
                self._fail(e)

    def _background(self):
        last_beat = time.monotonic()
        last_flush = time.monotonic()
        tick = max(0.05, min(self.flush_every, self.heartbeat_every) / 2)
        while not self._stop.is_set():
            self._wake.wait(tick)
            self._wake.clear()
            if self._stop.is_set():
                break
            now = time.monotonic()
            if now - last_flush >= self.flush_every or self._pending:
                last_flush = now
                self._enqueue_buffer()
                self._send_pending(self.background_retry_for, quiet=True)
            if now - last_beat >= self.heartbeat_every and self.id is not None and self._offline_since is None:
                last_beat = now
                try:
                    self.client.request("PATCH", "/api/runs/%s" % self.id, {"heartbeat": True},
                                        retry_for=self.background_retry_for)
                except Unreachable:
                    pass  # no data: the next one will do
                except LabreviewError as e:
                    self._fail(e)


def run(project, external_id=None, **kwargs):
    """A Run, to use with `with`: `with labreview.run("sweep-12", params=...) as run:`."""
    return Run(project, external_id, **kwargs)


def main(argv=None):
    """python -m labreview sync [DIR] [--url URL] [--retry-for SECONDS]"""
    parser = argparse.ArgumentParser(prog="python -m labreview", description="labreview job client")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="send the spool files jobs left when the server was unreachable")
    s.add_argument("dir", nargs="?", help="the spool folder (default LABREVIEW_SPOOL, else ~/.labreview/spool)")
    s.add_argument("--url", help="send to this server instead of the one each file names")
    s.add_argument("--retry-for", type=float, default=120.0, help="keep retrying network errors this long (seconds)")
    sub.add_parser("version", help="print the client's version")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(__version__)
        return 0
    try:
        _, kept = sync(args.dir, url=args.url, retry_for=args.retry_for)
    except LabreviewError as e:
        print("labreview: %s" % e, file=sys.stderr)
        return 1
    return 1 if kept else 0


if __name__ == "__main__":
    sys.exit(main())
