// The npm package `mlflow` (2.0.7), an independent MLflow REST client,
// against the labreview binary (LABREVIEW_BIN, default ../../bin/labreview):
// a job written for MLflow reports into labreview with only the server's
// URL and an API token. The client's quirks: it prints every request body
// (silenced here), sends run_uuid beside run_id, lists experiments with
// MLflow 1.x's experiments/list, and posts set-experiment-tag to
// …/experimentsset-experiment-tag (a slash missing). It cannot upload
// artifacts; the test PUTs one through MLflow's artifact proxy as MLflow's
// Python client does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const MLflow = require('mlflow');

const bin = resolve(process.env.LABREVIEW_BIN ?? '../../bin/labreview');
const dir = mkdtempSync(join(tmpdir(), 'labreview-mlflow-'));
const env = {
  ...process.env,
  LABREVIEW_DATA_DIR: join(dir, 'data'),
  LABREVIEW_SERVER_ADDR: '127.0.0.1:0',
  LABREVIEW_LOG_FORMAT: 'json',
};
let server;
let base;
let token;
let ownerID;

// quiet runs fn with console.log silenced: the client prints each body.
async function quiet(fn) {
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
  }
}

// mlError is the status and MLflow error code of a rejected call (the
// client throws the answer as JSON text inside its message).
function mlError(err) {
  const text = String(err.message).replace(/^Error: /, '');
  const { status, data } = JSON.parse(text);
  return { status, code: data?.error_code };
}

before(async () => {
  server = spawn(bin, ['serve'], { env, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  base = await new Promise((ok, fail) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error('no "listening" line in 30 s:\n' + buf)), 30_000);
    server.stderr.on('data', (chunk) => {
      buf += chunk;
      for (const line of buf.split('\n')) {
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          ok('http://' + JSON.parse(line).addr);
        }
      }
    });
    server.on('exit', (code) => fail(new Error(`labreview exited with ${code}:\n${buf}`)));
  });
  const pw = 'amber-falcon-quartz-58';
  const made = spawnSync(bin, ['user', 'create', '--email', 'ml@lab.org', '--name', 'ML', '--role', 'reviewer', '--password-stdin'],
    { env, cwd: dir, input: pw + '\n' });
  assert.equal(made.status, 0, String(made.stderr));
  const login = await fetch(base + '/api/auth/login', { method: 'POST', body: new URLSearchParams({ username: 'ml@lab.org', password: pw }) });
  const { access_token } = await login.json();
  const me = await (await fetch(base + '/api/me', { headers: { Authorization: 'Bearer ' + access_token } })).json();
  ownerID = me.id;
  const tok = await fetch(base + '/api/tokens', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + access_token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'mlflow-node', scopes: ['runs:read', 'runs:write'] }),
  });
  assert.equal(tok.status, 201);
  token = (await tok.json()).token;
});

after(() => {
  server?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('a job written for the npm MLflow client reports into labreview', async () => {
  const client = new MLflow({ endpoint: base, headers: { Authorization: 'Bearer ' + token } });
  const { Experiments, Runs, Metrics, Artifacts } = client;
  const t0 = Date.now();

  const { experiment_id } = await quiet(() => Experiments.create({ name: 'node-sweep' }));
  const { experiment } = await Experiments.get({ experiment_id });
  assert.equal(experiment.name, 'node-sweep');
  assert.equal(experiment.lifecycle_stage, 'active');
  const { experiments } = await Experiments.list();
  assert.ok(experiments.some((e) => e.experiment_id === experiment_id));
  await quiet(() => Experiments.setExperimentTag({ experiment_id, key: 'team', value: 'vision' }));

  const { run } = await quiet(() => Runs.create({
    experiment_id, start_time: t0,
    tags: [{ key: 'mlflow.runName', value: 'node-run' }, { key: 'mlflow.user', value: 'mallory' }, { key: 'env', value: 'ci' }],
  }));
  const run_id = run.info.run_id;
  assert.equal(run.info.status, 'RUNNING');
  assert.equal(run.info.run_name, 'node-run');

  await quiet(async () => {
    await Runs.logParameter({ run_id, key: 'lr', value: '0.01' });
    await Runs.logParameter({ run_id, key: 'lr', value: '0.01' }); // the same again is fine
    await Runs.logMetric({ run_id, key: 'loss', value: 0.5, timestamp: t0, step: 0 });
    await Runs.logMetric({ run_id, key: 'loss', value: 0.4, timestamp: t0 + 1000, step: 0 });
    await Runs.logBatch({
      run_id,
      metrics: [{ key: 'loss', value: 0.3, timestamp: t0 + 2000, step: 5 }, { key: 'acc', value: 0.9, timestamp: t0 + 2000, step: 5 }],
      params: [{ key: 'optimizer', value: 'adam' }],
      tags: [{ key: 'stage', value: 'train' }],
    });
    await Runs.setTag({ run_id, key: 'scratch', value: 'x' });
    await Runs.deleteTag({ run_id, key: 'scratch' });
  });
  const changed = await quiet(() => Runs.logParameter({ run_id, key: 'lr', value: '0.02' })).catch(mlError);
  assert.deepEqual(changed, { status: 400, code: 'INVALID_PARAMETER_VALUE' });

  // An artifact, as MLflow's Python client uploads it (the npm client
  // has no upload), then listed through the npm client.
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
  const artifactRoot = run.info.artifact_uri.replace('mlflow-artifacts:/', '');
  const put = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/weights.bin`, {
    method: 'PUT', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/octet-stream' }, body: bytes,
  });
  assert.equal(put.status, 200);
  const listed = await Artifacts.list({ run_id });
  assert.deepEqual(listed.files.map((f) => [f.path, f.file_size]), [['weights.bin', 70_000]]);
  const got = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/weights.bin`, { headers: { Authorization: 'Bearer ' + token } });
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes), 'the artifact comes back byte for byte');

  await quiet(() => Runs.update({ run_id, status: 'FINISHED', end_time: Date.now() }));

  const { run: back } = await Runs.get({ run_id });
  const tags = Object.fromEntries(back.data.tags.map((t) => [t.key, t.value]));
  assert.equal(tags['mlflow.user'], ownerID, 'mlflow.user is the token owner, not what the client sent');
  assert.equal(tags.env, 'ci');
  assert.equal(tags.stage, 'train');
  assert.equal(tags.scratch, undefined);
  assert.deepEqual(Object.fromEntries(back.data.params.map((p) => [p.key, p.value])), { lr: '0.01', optimizer: 'adam' });
  assert.equal(back.info.status, 'FINISHED');

  const { metrics } = await Metrics.getHistory({ run_id, metric_key: 'loss' });
  assert.deepEqual(metrics.map((m) => [m.step, m.value]), [[0, 0.5], [1, 0.4], [5, 0.3]]);
  assert.deepEqual(metrics.map((m) => m.timestamp), [t0, t0 + 1000, t0 + 2000]);

  const found = await quiet(() => Runs.search({
    experiment_ids: [experiment_id], filter: "metrics.loss < 0.35 and params.lr = '0.01' and tags.env = 'ci'",
    run_view_type: 'ACTIVE_ONLY', max_results: 100,
  }));
  assert.deepEqual(found.runs.map((r) => r.info.run_id), [run_id]);

  // The same run in labreview's own API and query language.
  const q = encodeURIComponent('project = "node-sweep" and params.lr < 0.05 and tag = "env=ci" and status = succeeded');
  const page = await (await fetch(`${base}/api/runs?q=${q}`, { headers: { Authorization: 'Bearer ' + token } })).json();
  assert.deepEqual(page.runs.map((r) => r.id), [run_id]);
  assert.equal(page.runs[0].metrics.loss, 0.3);
});
