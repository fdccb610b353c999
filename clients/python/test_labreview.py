"""Tests of labreview.py against a real server (LABREVIEW_URL, LABREVIEW_TOKEN).

Run by the Go test TestPythonClient, which starts the server, makes the token
and gives a spool folder of the test's own (LABREVIEW_SPOOL).

Outages are simulated by a TCP proxy the tests control (Proxy): while it is
down it closes every connection at once. A client's retry window is a
parameter, so an outage three times longer than the window (3 s against 1 s)
stands for the three-minute outage of a job whose client retries for two
minutes, without waiting minutes.
"""

import contextlib
import glob
import hashlib
import http.server
import io
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import zipfile
import base64

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labreview  # noqa: E402

URL = os.environ.get("LABREVIEW_URL", "")


class Proxy:
    """A TCP proxy to the server that the test takes down and brings back."""

    def __init__(self, target):
        u = urllib.parse.urlsplit(target)
        self.target = (u.hostname, u.port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.up = True
        self.refused = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                self.refused += 1
                conn.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._closed = True
        self.sock.close()


class Base(unittest.TestCase):
    def setUp(self):
        self.client = labreview.Client()
        self.spool = tempfile.mkdtemp(prefix="spool-")
        self.addCleanup(shutil.rmtree, self.spool, True)

    def series(self, run_id, names):
        q = "&".join("name=" + urllib.parse.quote(n) for n in names)
        status, data = self.client.request("GET", "/api/runs/%s/series?%s&max_points=100000" % (run_id, q))
        return {s["name"]: s for s in data["series"]}

    def count(self, run_id, name):
        return self.series(run_id, [name])[name]["count"]

    def query(self, q):
        status, data = self.client.request("GET", "/api/runs?q=" + urllib.parse.quote(q))
        return [r["id"] for r in data["runs"]]


class RunTest(Base):
    def test_success_with_series_heartbeat_and_metrics(self):
        started = time.time()
        with labreview.Run("py", external_id="ok", params={"lr": 0.01, "seed": 2**60, "whole": 2.0}, tags=["py"],
                           heartbeat_every=0.2, flush_every=0.1, batch_points=1000, spool=self.spool) as run:
            for step in range(2500):
                run.log("loss", 1.0 / (step + 1))
                if step == 1999:
                    time.sleep(0.3)  # the last 500 points are logged later
            run.log("odd", float("nan"), 7)
            run.log("odd", float("inf"), 8)
            run.metrics(loss=0.0004, acc=float("-inf"))
            time.sleep(0.5)  # heartbeats go out meanwhile
            mid = self.client.get_run(run.id)
            self.assertEqual(mid["status"], "running")
            self.assertIsNotNone(mid["heartbeat_at"])
            self.assertEqual(len(glob.glob(os.path.join(self.spool, "*.jsonl"))), 1)  # the run's spool
        report = run.finish()
        self.assertEqual(report, {"points": 2502, "sent": 2502, "spooled": 0, "dropped": 0, "outages": 0, "spool": None})
        self.assertEqual(glob.glob(os.path.join(self.spool, "*")), [])  # everything arrived: no spool left
        done = self.client.get_run(run.id)
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(done["params"], {"lr": 0.01, "seed": 2**60, "whole": 2.0})
        self.assertIsInstance(done["params"]["whole"], float)  # 2.0 stays a float
        self.assertEqual(done["metrics"], {"loss": 0.0004, "acc": "-Infinity"})
        self.assertIsNone(done["failure"])
        self.assertIsNotNone(done["finished_at"])
        series = self.series(run.id, ["loss", "odd"])
        self.assertEqual(series["loss"]["count"], 2500)
        self.assertEqual(series["loss"]["points"][0], [0, 1.0])
        self.assertEqual(series["loss"]["points"][-1], [2499, 1.0 / 2500])
        self.assertEqual(series["odd"]["points"], [[7, "NaN"], [8, "Infinity"]])
        # Each point carries the time it was logged: the time axis.
        status, data = self.client.request("GET", "/api/runs/%s/series?names=loss&x=time&max_points=100000" % run.id)
        times = [p[2] for p in data["series"][0]["points"]]
        self.assertTrue(started - 0.01 <= times[0] <= times[1999] < times[2000] - 0.29, (started, times[0], times[1999], times[2000]))
        self.assertEqual(times, sorted(times))

    def test_log_file(self):
        import tempfile
        with labreview.Run("py", external_id="files", flush_every=0.1) as run:
            data = bytes(range(256)) * 1000
            with tempfile.NamedTemporaryFile(suffix=".bin") as f:
                f.write(data)
                f.flush()
                entry = self.client.log_file(run.id, f.name, name="model/ep 1.bin")
                self.client.log_file(run.id, f.name, name="model/ep 1.bin")  # a retry changes nothing
        self.assertEqual((entry["path"], entry["size"]), ("model/ep 1.bin", len(data)))
        import urllib.request
        req = urllib.request.Request(self.client.url + entry["url"], headers={"Authorization": "Bearer " + self.client.token})
        with urllib.request.urlopen(req) as resp:
            self.assertEqual(resp.read(), data)
            self.assertTrue(resp.headers["Content-Disposition"].startswith("attachment"))
        with self.assertRaises(labreview.LabreviewError) as e:
            self.client.log_file("000000000000000000000000", __file__)
        self.assertEqual(e.exception.status, 404)

    def test_exception_marks_failed_with_reason_and_restart_continues(self):
        with self.assertRaises(ZeroDivisionError):
            with labreview.Run("py", external_id="crash", flush_every=0.1, spool=self.spool) as run:
                run.log("loss", 0.5)
                run.log("loss", 0.4)
                1 / 0
        first = run.id
        failed = self.client.get_run(first)
        self.assertEqual(failed["status"], "failed")
        self.assertEqual(failed["failure"]["reason"], "ZeroDivisionError: division by zero")
        self.assertIn("Traceback (most recent call last)", failed["failure"]["detail"])
        self.assertIn("1 / 0", failed["failure"]["detail"])
        self.assertIn(first, self.query('failure.reason ~ "ZeroDivision"'))
        # The job is restarted: the same run, its series continues, the failure is gone.
        with labreview.Run("py", external_id="crash", spool=self.spool) as run:
            run.log("loss", 0.3)
        self.assertEqual(run.id, first)
        done = self.client.get_run(first)
        self.assertEqual(done["status"], "succeeded")
        self.assertIsNone(done["failure"])
        self.assertEqual(self.series(first, ["loss"])["loss"]["points"], [[0, 0.5], [1, 0.4], [2, 0.3]])

    def test_a_long_failure_is_cut_to_the_documented_sizes(self):
        with self.assertRaises(ValueError):
            with labreview.Run("py", external_id="deep", spool=self.spool) as run:
                raise ValueError("x" * 2000 + "\n" + "y" * 20000 + "\nsecond line")
        f = self.client.get_run(run.id)["failure"]
        self.assertEqual(len(f["reason"]), 500)
        self.assertTrue(f["reason"].startswith("ValueError: xxx") and f["reason"].endswith("\u2026"), f["reason"][-20:])
        self.assertLessEqual(len(f["detail"].encode()), 16 * 1024)
        self.assertTrue(f["detail"].startswith("[\u2026 the start of the traceback was cut]"))
        self.assertIn("second line", f["detail"])  # the end is kept

    def test_ctrl_c_cancels(self):
        with self.assertRaises(KeyboardInterrupt):
            with labreview.Run("py", external_id="interrupted", spool=self.spool) as run:
                raise KeyboardInterrupt
        got = self.client.get_run(run.id)
        self.assertEqual((got["status"], got["failure"]["reason"]), ("cancelled", "KeyboardInterrupt"))

    def test_replayed_times(self):
        with labreview.Run("py", external_id="replay", flush_every=0.1, spool=self.spool) as run:
            for step in range(3):
                run.log("loss", 1.0 / (step + 1), step, time=1700000000 + 60 * step)
        status, data = self.client.request("GET", "/api/runs/%s/series?names=loss&x=time" % run.id)
        self.assertEqual(data["series"][0]["points"], [[0, 1.0, 1700000000], [1, 0.5, 1700000060], [2, 1.0 / 3, 1700000120]])
        self.assertEqual(data["clock"], {"first": 1700000000, "last": 1700000120})

    def test_truncate_a_series_from_a_step(self):
        with labreview.Run("py", external_id="checkpoint", spool=self.spool) as run:
            for step in range(100):
                run.log("train/loss", 1.0, step)
        self.assertEqual(self.client.truncate_series(run.id, "train/loss", 50), 50)
        # Restarted from the checkpoint at step 50: the series goes on from there.
        with labreview.Run("py", external_id="checkpoint", spool=self.spool) as again:
            again.log("train/loss", 0.5)
        points = self.series(run.id, ["train/loss"])["train/loss"]["points"]
        self.assertEqual((len(points), points[-1]), (51, [50, 0.5]))


class NamesAndValuesTest(Base):
    def test_bad_names_and_values_raise_at_their_call(self):
        with labreview.Run("py", external_id="names", spool=self.spool) as run:
            for name, value, step, says in (
                ("bad\tname", 1, None, "no control or format characters"),
                ("", 1, None, "empty"),
                ("$time", 1, None, "does not start with $"),
                ("x" * 201, 1, None, "at most 200 characters"),
                ("loss", None, None, "None is not a number"),
                ("loss", "high", None, "is not a number"),
                ("loss", True, None, "is not a number"),
                ("loss", 10**400, None, "beyond the range"),
                ("loss", 1.0, -1, "from 0 to 2^53"),
                ("loss", 1.0, 2**53, "from 0 to 2^53"),
                ("loss", 1.0, 1.5, "not a whole number"),
            ):
                with self.assertRaises(labreview.LabreviewError) as ctx:
                    run.log(name, value, step)
                self.assertIn(says, str(ctx.exception))
            with self.assertRaises(labreview.LabreviewError):
                run.log("loss", 1.0, 3, time=-5)
            with self.assertRaises(labreview.LabreviewError):
                run.metrics({"a\nb": 1})
            # Names as scientists write them are fine, and can be queried.
            for name in ("val.loss", "train/loss", "acc@5", "layer:0 weight", "Verlust (ü)"):
                run.log(name, 0.25, 0)
            run.metrics({"val.loss": 0.125, "top-1": 0.5})
        for q in ('metrics."val.loss" < 0.3', 'metrics.val.loss = 0.125', 'count("train/loss") = 1',
                  'last("layer:0 weight") = 0.25', 'min("Verlust (ü)") exists', 'metrics."top-1" = 0.5'):
            self.assertEqual(self.query(q), [run.id], q)
        self.assertEqual(self.client.get_run(run.id)["status"], "succeeded")
        for params, says in (({"x": float("nan")}, "not a JSON number"), ({"a..b": 1}, "a dot separates levels"),
                             ({"a": {"$gt": 1}}, "start with $"), ({1: 2}, "is not a str"), ({"f": object()}, "is not JSON"),
                             ({"big": 10**400}, "beyond the range")):
            with self.assertRaises(labreview.LabreviewError) as ctx:
                labreview.Run("py", external_id="p", params=params)
            self.assertIn(says, str(ctx.exception))

    def test_numpy_values_are_logged(self):
        class Scalar:  # numpy.float64, numpy.int64: .item() gives the Python number
            def __init__(self, v):
                self.v = v

            def item(self):
                return self.v

        class Array:  # numpy.ndarray: .tolist()
            ndim = 1

            def __init__(self, v):
                self.v = v

            def tolist(self):
                return list(self.v)

            def item(self):
                raise ValueError("can only convert an array of size 1")

        kinds = [("duck", Scalar, Array)]
        try:
            import numpy  # noqa: F401
            kinds.append(("numpy", numpy.float64, numpy.array))
        except ImportError:
            pass
        for kind, scalar, array in kinds:
            params = {"lr": scalar(0.5), "layers": array([64, 32]), "seed": scalar(7) if kind == "duck" else numpy.int64(7)}
            with labreview.Run("py", external_id="numpy-" + kind, params=params, spool=self.spool) as run:
                step = scalar(3) if kind == "duck" else numpy.int64(3)
                run.log("loss", scalar(0.25), step)
                run.metrics(acc=scalar(0.75))
            got = self.client.get_run(run.id)
            self.assertEqual(got["params"], {"lr": 0.5, "layers": [64, 32], "seed": 7}, kind)
            self.assertEqual(got["metrics"], {"acc": 0.75}, kind)
            self.assertEqual(self.series(run.id, ["loss"])["loss"]["points"], [[3, 0.25]], kind)

    def test_points_the_server_refuses_are_dropped_and_raised_at_the_next_call(self):
        # The local rules let everything through: the server's refusal shows.
        real = labreview.name_problem
        labreview.name_problem = lambda name: None
        self.addCleanup(setattr, labreview, "name_problem", real)
        with self.assertRaises(labreview.LabreviewError) as ctx:
            with labreview.Run("py", external_id="refused", spool=self.spool, flush_every=60) as run:
                run.log("bad\tname", 1.0, 0)
                run.log("good", 1.0, 0)
                run.flush()
        self.assertEqual(ctx.exception.dropped[0][:2], ("bad\tname", None))
        self.assertEqual(self.count(run.id, "good"), 1)  # the good point was stored
        # Raised inside the block, the error ended the job: the run says why.
        got = self.client.get_run(run.id)
        self.assertEqual(got["status"], "failed")
        self.assertTrue(got["failure"]["reason"].startswith("LabreviewError: the server refused 1 point"), got["failure"])
        # on_error="warn" says it and goes on.
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            with labreview.Run("py", external_id="refused-warn", spool=self.spool, on_error="warn") as run:
                run.log("bad\tname", 1.0, 0)
                run.log("good", 2.0, 0)
        self.assertIn("warning: the server refused 1 point", err.getvalue())
        self.assertEqual(run.finish()["dropped"], 1)


    def test_a_refusal_stops_the_sends_and_keeps_the_spool(self):
        real = labreview._send

        def refuse(client, run_id, rec, retry_for=None):
            if rec["op"] == "points":
                raise labreview.LabreviewError("the server refused the request (409 run_deleted): …", status=409, code="run_deleted")
            return real(client, run_id, rec, retry_for)

        labreview._send = refuse
        self.addCleanup(setattr, labreview, "_send", real)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            with self.assertRaises(labreview.LabreviewError) as ctx:
                with labreview.Run("py", external_id="refused-later", spool=self.spool, flush_every=0.05) as run:
                    run.log("loss", 1.0, 0)
                    time.sleep(0.3)  # the background send is refused
                    run.log("loss", 2.0, 1)
        self.assertEqual(ctx.exception.code, "run_deleted")
        self.assertIn("refused what was sent", err.getvalue())
        report = run.finish()
        self.assertTrue(report["spool"] and os.path.exists(report["spool"]), report)
        self.assertEqual(report["sent"], 0)


class OutageTest(Base):
    def proxy(self):
        p = Proxy(URL)
        self.addCleanup(p.close)
        return p

    def test_an_outage_in_the_middle_loses_no_point(self):
        p = self.proxy()
        client = labreview.Client(url=p.url, retry_for=1.0)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            with labreview.Run("py", external_id="outage", client=client, spool=self.spool, flush_every=0.05,
                               heartbeat_every=0.2, background_retry_for=0.2) as run:
                for step in range(300):
                    run.log("loss", step, step)
                time.sleep(0.3)
                p.up = False  # the server is gone for 3 s: three times the client's retry window
                t0 = time.monotonic()
                step = 300
                while time.monotonic() - t0 < 3.0:
                    run.log("loss", step, step)
                    step += 1
                    time.sleep(0.002)
                self.assertGreater(p.refused, 3)
                spooled = sum(1 for _ in open(glob.glob(os.path.join(self.spool, "*.jsonl"))[0]))
                self.assertGreater(spooled, 3)  # batches wait in the spool, synced to disk
                p.up = True
                for _ in range(300):
                    run.log("loss", step, step)
                    step += 1
        report = run.finish()
        self.assertEqual((report["sent"], report["spooled"], report["spool"]), (step, 0, None), report)
        self.assertGreaterEqual(report["outages"], 1)
        self.assertIn("all %d points reached the server" % step, err.getvalue())
        self.assertEqual(self.count(run.id, "loss"), step)
        self.assertEqual(self.client.get_run(run.id)["status"], "succeeded")
        self.assertEqual(glob.glob(os.path.join(self.spool, "*")), [])

    def test_down_at_the_end_the_spool_is_kept_then_synced(self):
        p = self.proxy()
        client = labreview.Client(url=p.url, retry_for=1.0)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            with labreview.Run("py", external_id="down-at-end", client=client, spool=self.spool, flush_every=0.05,
                               background_retry_for=0.2) as run:
                for step in range(100):
                    run.log("loss", step, step)
                time.sleep(0.3)
                p.up = False
                for step in range(100, 250):
                    run.log("loss", step, step)
                run.metrics({"val.loss": 0.5})
        report = run.finish()  # the job ends normally, saying where the data is
        self.assertEqual(report["spooled"], 150)
        self.assertTrue(os.path.exists(report["spool"]))
        self.assertIn("kept in %s" % report["spool"], err.getvalue())
        self.assertIn("python -m labreview sync %s" % self.spool, err.getvalue())
        self.assertEqual(self.client.get_run(run.id)["status"], "running")  # the end never arrived
        # Later, from a node that reaches the server: python -m labreview sync.
        sync = subprocess.run([sys.executable, "-m", "labreview", "sync", self.spool, "--url", URL],
                              cwd=os.path.dirname(os.path.abspath(__file__)), capture_output=True, text=True, timeout=60)
        self.assertEqual(sync.returncode, 0, sync.stdout + sync.stderr)
        self.assertIn("(150 points)", sync.stdout)
        done = self.client.get_run(run.id)
        self.assertEqual((done["status"], done["metrics"]), ("succeeded", {"val.loss": 0.5}))
        self.assertEqual(self.count(run.id, "loss"), 250)
        self.assertEqual(glob.glob(os.path.join(self.spool, "*")), [])
        # Again: nothing left, nothing sent twice.
        again = subprocess.run([sys.executable, "-m", "labreview", "sync", self.spool], capture_output=True, text=True,
                               cwd=os.path.dirname(os.path.abspath(__file__)), timeout=60)
        self.assertIn("nothing to send", again.stdout)

    def test_offline_from_the_start(self):
        p = self.proxy()
        p.up = False
        client = labreview.Client(url=p.url, retry_for=0.5)
        with contextlib.redirect_stderr(io.StringIO()):
            with labreview.Run("py", external_id="offline-node", client=client, spool=self.spool, params={"lr": 0.1}) as run:
                for step in range(10):
                    run.log("loss", step, step)
        self.assertIsNone(run.id)
        self.assertEqual(run.finish()["spooled"], 10)
        sent, kept = labreview.sync(self.spool, url=URL, out=io.StringIO())
        self.assertEqual((len(sent), kept), (1, []))
        ids = self.query('params.lr = 0.1 and count(loss) = 10 and status = succeeded')
        self.assertEqual(len(ids), 1)


class ClientTest(Base):
    def test_refusals_raise_with_the_servers_message(self):
        with self.assertRaises(labreview.LabreviewError) as ctx:
            self.client.create_run("", "x")
        self.assertEqual(ctx.exception.status, 400)
        self.assertIn("project", str(ctx.exception))
        bad = labreview.Client(token="lrt_" + "A" * 43)
        with self.assertRaises(labreview.LabreviewError) as ctx:
            bad.create_run("py", "y")
        self.assertEqual(ctx.exception.status, 401)
        self.assertIn("not known to this server", str(ctx.exception))

    def test_network_errors_are_retried_then_given_up(self):
        dead = labreview.Client(url="http://127.0.0.1:9", retry_for=1.0)
        with self.assertRaises(labreview.Unreachable) as ctx:
            dead.create_run("py", "z")
        self.assertIn("gave up", str(ctx.exception))

    def test_a_redirect_to_another_host_does_not_carry_the_token(self):
        seen = []

        class Other(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                seen.append(self.headers.get("Authorization"))
                self.send_response(201)
                self.end_headers()
                self.wfile.write(b'{"id": "x"}')

            def log_message(self, *args):
                pass

        other = http.server.HTTPServer(("127.0.0.1", 0), Other)
        threading.Thread(target=other.serve_forever, daemon=True).start()
        self.addCleanup(other.server_close)
        self.addCleanup(other.shutdown)
        target = "http://localhost:%d/api/runs" % other.server_address[1]  # another host name

        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.send_response(307)
                self.send_header("Location", target)
                self.end_headers()

            def log_message(self, *args):
                pass

        redirect = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
        threading.Thread(target=redirect.serve_forever, daemon=True).start()
        self.addCleanup(redirect.server_close)
        self.addCleanup(redirect.shutdown)
        client = labreview.Client(url="http://127.0.0.1:%d" % redirect.server_address[1], retry_for=0.5)
        with self.assertRaises(labreview.LabreviewError) as ctx:
            client.create_run("py", "redirected")
        self.assertEqual(ctx.exception.code, "redirect_refused")
        self.assertIn("the token is only sent to", str(ctx.exception))
        self.assertEqual(seen, [])

    def test_values(self):
        self.assertEqual(labreview._value(float("nan")), "NaN")
        self.assertEqual(labreview._value(-math.inf), "-Infinity")
        self.assertEqual(labreview._value(3.0), 3.0)

    def test_the_server_serves_this_client_and_a_wheel(self):
        version = self.client.request("GET", "/api/health")[1]["version"]
        with urllib.request.urlopen(URL + "/clients/python/labreview.py") as r:
            source = r.read().decode()
        served = [line for line in source.splitlines() if line.startswith("__version__ = ")][0]
        pep440 = served.split('"')[1]
        self.assertTrue(pep440.startswith(version.lstrip("v").split("-")[0]), (pep440, version))
        with open(labreview.__file__) as f:
            mine = f.read()
        self.assertEqual(source.replace(served, '__version__ = "0+dev"'), mine)
        wheel_name = "labreview-%s-py3-none-any.whl" % pep440
        with urllib.request.urlopen(URL + "/clients/python/" + wheel_name) as r:
            wheel = r.read()
        path = os.path.join(self.spool, wheel_name)
        with open(path, "wb") as f:
            f.write(wheel)
        with zipfile.ZipFile(path) as z:
            info = "labreview-%s.dist-info/" % pep440
            self.assertEqual(z.read("labreview.py").decode(), source)
            for line in z.read(info + "RECORD").decode().splitlines():
                name, digest, size = line.split(",")
                if name == info + "RECORD":
                    continue
                data = z.read(name)
                want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), (want, len(data)), name)
        # pip installs it from the server's index, and the module says the server's version.
        target = os.path.join(self.spool, "site")
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                              "--target", target, "--index-url", URL + "/clients/python/simple", "labreview==" + pep440],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(pip.returncode, 0, pip.stdout + pip.stderr)
        out = subprocess.run([sys.executable, "-c", "import labreview; print(labreview.__version__, labreview.__file__)"],
                             env=dict(os.environ, PYTHONPATH=target), capture_output=True, text=True, timeout=60, cwd=self.spool)
        self.assertTrue(out.stdout.startswith(pep440 + " " + target), out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
