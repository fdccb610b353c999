"""Tests of labreview.py against a real server (LABREVIEW_URL, LABREVIEW_TOKEN).

Run by the Go test TestPythonClient, which starts the server and makes the token.
"""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labreview  # noqa: E402


class RunTest(unittest.TestCase):
    def setUp(self):
        self.client = labreview.Client()

    def series(self, run_id, names):
        status, data = self.client.request("GET", "/api/runs/%s/series?names=%s&max_points=100000" % (run_id, names))
        return {s["name"]: s for s in data["series"]}

    def test_success_with_series_heartbeat_and_metrics(self):
        import time
        started = time.time()
        with labreview.Run("py", external_id="ok", params={"lr": 0.01, "seed": 2**60}, tags=["py"],
                           heartbeat_every=0.2, flush_every=0.1, batch_points=1000) as run:
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
        done = self.client.get_run(run.id)
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(done["params"], {"lr": 0.01, "seed": 2**60})
        self.assertEqual(done["metrics"], {"loss": 0.0004, "acc": "-Infinity"})
        self.assertIsNotNone(done["finished_at"])
        series = self.series(run.id, "loss,odd")
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

    def test_exception_marks_failed_and_restart_continues(self):
        with self.assertRaises(ZeroDivisionError):
            with labreview.Run("py", external_id="crash", flush_every=0.1) as run:
                run.log("loss", 0.5)
                run.log("loss", 0.4)
                1 / 0
        first = run.id
        self.assertEqual(self.client.get_run(first)["status"], "failed")
        # The job is restarted: the same run, its series continues.
        with labreview.Run("py", external_id="crash") as run:
            run.log("loss", 0.3)
        self.assertEqual(run.id, first)
        self.assertEqual(self.client.get_run(first)["status"], "succeeded")
        self.assertEqual(self.series(first, "loss")["loss"]["points"], [[0, 0.5], [1, 0.4], [2, 0.3]])

    def test_replayed_times(self):
        with labreview.Run("py", external_id="replay", flush_every=0.1) as run:
            for step in range(3):
                run.log("loss", 1.0 / (step + 1), step, time=1700000000 + 60 * step)
        status, data = self.client.request("GET", "/api/runs/%s/series?names=loss&x=time" % run.id)
        self.assertEqual(data["series"][0]["points"], [[0, 1.0, 1700000000], [1, 0.5, 1700000060], [2, 1.0 / 3, 1700000120]])
        self.assertEqual(data["clock"], {"first": 1700000000, "last": 1700000120})

    def test_refusals_raise_with_the_servers_message(self):
        with self.assertRaises(labreview.LabreviewError) as ctx:
            self.client.create_run("", "x")
        self.assertEqual(ctx.exception.status, 400)
        self.assertIn("project", str(ctx.exception))
        bad = labreview.Client(token="lrt_" + "A" * 43)
        with self.assertRaises(labreview.LabreviewError) as ctx:
            bad.create_run("py", "y")
        self.assertEqual(ctx.exception.status, 401)

    def test_network_errors_are_retried_then_given_up(self):
        dead = labreview.Client(url="http://127.0.0.1:9", retry_for=1.0)
        with self.assertRaises(labreview.LabreviewError) as ctx:
            dead.create_run("py", "z")
        self.assertIn("gave up", str(ctx.exception))

    def test_values(self):
        self.assertEqual(labreview._value(float("nan")), "NaN")
        self.assertEqual(labreview._value(-math.inf), "-Infinity")
        self.assertEqual(labreview._value(3), 3.0)


if __name__ == "__main__":
    unittest.main()
