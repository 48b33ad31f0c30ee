#!/usr/bin/env node
// SDK-compatibility checks for `cdnsim serve` with the official Node.js SDK, unmodified:
// @alicloud/cdn20180510 on @alicloud/openapi-client (Tea; signature V3, ACS3-HMAC-SHA256).
//
//   node test_node.js --mode MODE --port PORT --log LOG --cdnsim BIN --at T [--access-key ID:SECRET]
//
// Modes, as tests/sdk/test_sdk.py's for the Python Tea SDK:
//   open          server without --access-key: any credentials pass; reads compared with
//                 `cdnsim query LOG --at T Format=JSON ...` (RequestId ignored), paging, errors
//   auth          server with --access-key: the same, signed with the right key
//   wrong-secret  same server: a wrong secret is SignatureDoesNotMatch (echoing the server's
//                 string to sign), an unknown key InvalidAccessKeyId.NotFound (404)
//   writes        server --scenario tests/sdk/writes.toml: a refresh and a preload polled to
//                 Complete while the test moves the clock, the quota, write errors, an error
//                 rule (Throttling.User -> retryAfter) and a lifecycle rule (Failed)
// Prints one line per check; exits 1 on the first failure, 2 on bad usage.
// Run through tests/sdk/run.sh, which installs the SDK and starts the servers.
'use strict';

const { execFileSync } = require('child_process');
const http = require('http');
const Cdn = require('@alicloud/cdn20180510');
const OpenApi = require('@alicloud/openapi-client');

const SIGNATURE_MESSAGE = 'Specified signature is not matched with our calculation. server string to sign is:';

function parseArgs(argv) {
  const args = { host: '127.0.0.1', accessKey: 'testAKID:testSecret' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (argv[i + 1] === undefined) usage(`${argv[i]} needs a value`);
    args[key] = argv[i + 1];
  }
  for (const need of ['mode', 'port', 'log', 'cdnsim', 'at']) {
    if (!args[need]) usage(`--${need} is required`);
  }
  return args;
}

function usage(problem) {
  process.stderr.write(`test_node.js: ${problem}\n`);
  process.exit(2);
}

class CheckFailed extends Error {}

// JSON with object keys sorted: the SDK's models list fields in their own order.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// Request parameter -> the Node SDK's model field.
const FIELDS = {
  DomainName: 'domainName', EndTime: 'endTime', ObjectPath: 'objectPath', ObjectType: 'objectType',
  PageNumber: 'pageNumber', PageSize: 'pageSize', StartTime: 'startTime', Status: 'status',
  TaskId: 'taskId', Area: 'area', Force: 'force',
};
// Action -> [client method, request model].
const CALLS = {
  DescribeRefreshTasks: ['describeRefreshTasks', Cdn.DescribeRefreshTasksRequest],
  DescribeRefreshTaskById: ['describeRefreshTaskById', Cdn.DescribeRefreshTaskByIdRequest],
  DescribeRefreshQuota: ['describeRefreshQuota', Cdn.DescribeRefreshQuotaRequest],
  RefreshObjectCaches: ['refreshObjectCaches', Cdn.RefreshObjectCachesRequest],
  PushObjectCache: ['pushObjectCache', Cdn.PushObjectCacheRequest],
};

class Harness {
  constructor(args) {
    this.args = args;
    this.endpoint = `${args.host}:${args.port}`;
    this.at = args.at;
    this.checks = 0;
  }

  client(keyId, secret) {
    const config = new OpenApi.Config({
      accessKeyId: keyId, accessKeySecret: secret, endpoint: this.endpoint, protocol: 'http',
      connectTimeout: 5000, readTimeout: 30000,
    });
    return new Cdn.default(config);
  }

  // The SDK's answer: { body } on success, { error } with the SDK's exception otherwise.
  async call(client, action, params) {
    const [method, Model] = CALLS[action];
    const fields = {};
    for (const [k, v] of Object.entries(params)) fields[FIELDS[k]] = v;
    try {
      const resp = await client[method](new Model(fields));
      return { body: resp.body.toMap(), status: resp.statusCode };
    } catch (e) {
      if (e && e.code !== undefined && e.statusCode !== undefined) return { error: e };
      throw new CheckFailed(`the SDK failed without an answer: ${e && e.stack || e}`);
    }
  }

  query(action, params) {
    const argv = ['query', this.args.log, '--at', this.at, 'Format=JSON', `Action=${action}`];
    for (const [k, v] of Object.entries(params)) argv.push(`${k}=${v}`);
    let out; let rc = 0;
    try {
      out = execFileSync(this.args.cdnsim, argv, { encoding: 'utf8' });
    } catch (e) {
      rc = e.status; out = e.stdout;
    }
    return { rc, body: JSON.parse(out) };
  }

  ok(label) {
    this.checks += 1;
    console.log(`ok   ${label}`);
  }

  async check(label, fn) {
    try {
      const note = await fn();
      this.ok(note ? `${label} ${note}` : label);
    } catch (e) {
      console.log(`FAIL ${label}`);
      for (const line of String(e instanceof CheckFailed ? e.message : e.stack).split('\n')) {
        console.log(`     ${line}`);
      }
      console.log(`test_node.js --mode ${this.args.mode}: FAILED after ${this.checks} passing checks`);
      process.exit(1);
    }
  }

  static withoutId(body) {
    const copy = { ...body };
    delete copy.RequestId;
    return copy;
  }

  static describe(action, params) {
    const shown = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');
    return shown ? `${action} ${shown}` : action;
  }

  // The SDK's answer equals `cdnsim query`'s, RequestId aside. Returns the body.
  async same(client, action, params) {
    let body;
    await this.check(`[node] ${Harness.describe(action, params)}`, async () => {
      const expected = this.query(action, params);
      if (expected.rc !== 0) throw new CheckFailed(`fixture: cdnsim query answered ${JSON.stringify(expected.body)}`);
      const got = await this.call(client, action, params);
      if (got.error) throw new CheckFailed(`error answer: ${got.error.code}: ${got.error.message}`);
      if (!got.body.RequestId) throw new CheckFailed('no RequestId');
      const want = canonical(Harness.withoutId(expected.body));
      const have = canonical(Harness.withoutId(got.body));
      if (want !== have) throw new CheckFailed(`differs from cdnsim query\n--- cdnsim query\n${want}\n--- node\n${have}`);
      body = got.body;
    });
    return body;
  }

  // The SDK raises the error `code` with `status`: ClientError for 4xx, ServerError for 5xx,
  // ThrottlingError when the answer carries x-acs-retry-after.
  async error(client, action, params, code, status, opts = {}) {
    const label = opts.label || Harness.describe(action, params);
    await this.check(`[node] ${label} -> HTTP ${status} ${code}`, async () => {
      const got = await this.call(client, action, params);
      if (!got.error) throw new CheckFailed(`succeeded: ${JSON.stringify(got.body)}`);
      const e = got.error;
      const kind = opts.kind || (status >= 500 ? 'ServerError' : 'ClientError');
      const problems = [];
      if (e.code !== code) problems.push(`code ${e.code}, expected ${code}`);
      if (e.statusCode !== status) problems.push(`status ${e.statusCode}, expected ${status}`);
      if (e.name !== kind) problems.push(`raised ${e.name}, expected ${kind}`);
      if (!e.requestId) problems.push('no RequestId');
      if (opts.retryAfter !== undefined && e.retryAfter !== opts.retryAfter) {
        problems.push(`retryAfter ${e.retryAfter}, expected ${opts.retryAfter}`);
      }
      const message = (e.data && e.data.Message) || '';
      if (opts.messagePrefix && !message.startsWith(opts.messagePrefix)) {
        problems.push(`Message ${JSON.stringify(message)} does not start with ${JSON.stringify(opts.messagePrefix)}`);
      }
      if (opts.compare !== false) {
        const expected = this.query(action, params);
        const data = { ...(e.data || {}) };
        delete data.statusCode;
        if (canonical(Harness.withoutId(data)) !== canonical(Harness.withoutId(expected.body))) {
          problems.push(`error body differs from cdnsim query:\n${JSON.stringify(expected.body)}\n${JSON.stringify(data)}`);
        }
      }
      if (problems.length) throw new CheckFailed(problems.join('\n'));
    });
  }

  async readSuite(client) {
    const first = await this.same(client, 'DescribeRefreshTasks', {});
    const rows = first.Tasks.CDNTask;
    const ids = [...new Set(rows.map((r) => r.TaskId))];
    if (ids.length < 3) throw new Error(`fixture: fewer than 3 TaskIds at ${this.at}`);
    const regex = rows.find((r) => r.ObjectType === 'regex');
    const sets = [
      { ObjectType: 'file', Status: 'Complete' },
      { DomainName: 'img.example.com', ObjectType: 'preload' },
      { DomainName: 'static.example.com', ObjectType: 'regex', Status: 'Refreshing' },
      { ObjectType: 'preload', Status: 'Failed', PageSize: 1, PageNumber: 2 },
      { TaskId: ids[1] },
      { TaskId: ids[0], PageSize: 5 },
      { StartTime: '2026-11-20T09:00:00Z', EndTime: '2026-11-20T09:30:00Z' },
      { ObjectPath: rows[rows.length - 1].ObjectPath },
    ];
    // '*' and '\' in a path exercise the signature's percent-encoding: the fixture has one.
    if (!regex) throw new Error(`fixture: no regex row at ${this.at}`);
    sets.push({ ObjectPath: regex.ObjectPath });
    for (const params of sets) await this.same(client, 'DescribeRefreshTasks', params);
    const size = 2;
    const paged = [];
    for (let n = 1; n <= Math.ceil(first.TotalCount / size) + 1; n++) {
      const body = await this.same(client, 'DescribeRefreshTasks', { PageSize: size, PageNumber: n });
      paged.push(...body.Tasks.CDNTask);
    }
    await this.check('[node] pages add up to the unfiltered answer', async () => {
      if (canonical(paged) !== canonical(rows)) throw new CheckFailed('pages differ');
      return `(${paged.length} rows)`;
    });
    await this.same(client, 'DescribeRefreshTaskById', { TaskId: ids[0] });
    await this.same(client, 'DescribeRefreshTaskById', { TaskId: ids.slice(0, 3).join(',') });
    await this.same(client, 'DescribeRefreshQuota', {});
    await this.error(client, 'DescribeRefreshTasks', { PageSize: 0 }, 'InvalidParameter.PageSize', 400);
    await this.error(client, 'DescribeRefreshTasks', { ObjectType: 'bogus' }, 'InvalidObjectType.ValueNotSupported', 400);
    await this.error(client, 'DescribeRefreshTasks', { DomainName: 'static.example.com' }, 'MissingParameter.ObjectType', 400);
    const eleven = Array.from({ length: 11 }, (_, i) => String(9000000000 + i)).join(',');
    await this.error(client, 'DescribeRefreshTaskById', { TaskId: eleven }, 'InvalidTaskId', 400,
      { label: 'DescribeRefreshTaskById TaskId=<11 ids>' });
  }

  async rejectionSuite(keyId, secret) {
    await this.same(this.client(keyId, secret), 'DescribeRefreshTasks', { PageSize: 3 });
    const wrong = this.client(keyId, `${secret}-wrong`);
    const unknown = this.client('cdnsimUnknownKeyId', secret);
    for (const [action, params] of [['DescribeRefreshTasks', {}], ['DescribeRefreshTaskById', { TaskId: '9000000000' }]]) {
      await this.error(wrong, action, params, 'SignatureDoesNotMatch', 400,
        { compare: false, messagePrefix: `${SIGNATURE_MESSAGE}ACS3-HMAC-SHA256\n`, label: `wrong secret: ${action}` });
      await this.error(unknown, action, params, 'InvalidAccessKeyId.NotFound', 404,
        { compare: false, label: `unknown key id: ${action}` });
    }
  }

  admin(method, path, body) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request({ host: this.args.host, port: this.args.port, method, path,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
      (res) => {
        let raw = '';
        res.on('data', (c) => { raw += c; });
        res.on('end', () => resolve({ status: res.statusCode, body: raw ? JSON.parse(raw) : null }));
      });
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async advance(step) {
    const answer = await this.admin('POST', '/_cdnsim/clock', { advance: step });
    if (answer.status !== 200) throw new CheckFailed(`clock: ${JSON.stringify(answer)}`);
    this.at = answer.body.now;
  }

  async pollUntilDone(client, taskId, path) {
    for (let i = 0; i < 20; i++) {
      await this.advance('2m');
      const got = await this.call(client, 'DescribeRefreshTaskById', { TaskId: taskId });
      if (got.error) throw new CheckFailed(`poll: ${got.error.code}`);
      const row = got.body.Tasks.find((r) => r.ObjectPath === path);
      if (row && (row.Status === 'Complete' || row.Status === 'Failed')) return row;
    }
    throw new CheckFailed(`task ${taskId} never ended`);
  }

  async writeSuite(keyId, secret) {
    const client = this.client(keyId, secret);
    // The scenario's quotas, which `cdnsim query` on the bare log does not know.
    const quota = (await this.call(client, 'DescribeRefreshQuota', {})).body;
    if (!quota || !/^\d+$/.test(quota.UrlRemain || '')) throw new Error(`quota: ${JSON.stringify(quota)}`);
    for (const [action, idField, path] of [
      ['RefreshObjectCaches', 'RefreshTaskId', 'http://static.example.com/node/app.js'],
      ['PushObjectCache', 'PushTaskId', 'https://img.example.com/node/hero.png'],
    ]) {
      await this.check(`[node] ${action} ${path}, polled to Complete as the clock moves`, async () => {
        const got = await this.call(client, action, { ObjectPath: path });
        if (got.error) throw new CheckFailed(`${got.error.code}: ${got.error.message}`);
        const id = got.body[idField];
        if (!/^\d+$/.test(id || '')) throw new CheckFailed(`${idField} ${id}`);
        const row = await this.pollUntilDone(client, id, path);
        if (row.Status !== 'Complete' || row.Process !== '100%') throw new CheckFailed(JSON.stringify(row));
        return `(task ${id})`;
      });
    }
    await this.check('[node] DescribeRefreshQuota counts the two writes', async () => {
      const now = (await this.call(client, 'DescribeRefreshQuota', {})).body;
      if (Number(now.UrlRemain) !== Number(quota.UrlRemain) - 1) throw new CheckFailed(`UrlRemain ${now.UrlRemain}`);
      if (Number(now.PreloadRemain) !== Number(quota.PreloadRemain) - 1) throw new CheckFailed(`PreloadRemain ${now.PreloadRemain}`);
    });
    await this.error(client, 'RefreshObjectCaches', { ObjectPath: 'http://nosuch.example.org/a.js' },
      'InvalidDomain.NotFound', 404, { compare: false });
    await this.error(client, 'RefreshObjectCaches', { ObjectPath: 'http://static.example.com/d', ObjectType: 'Directory' },
      'InvalidObjectPath.Malformed', 400, { compare: false });
    // Rules: a throttled write the app must retry, and its own refresh failing.
    await this.check('[node] add rule busy (Throttling.User, times 1)', async () => {
      const r = await this.admin('POST', '/_cdnsim/rules',
        { name: 'node-busy', action: 'RefreshObjectCaches', error: 'Throttling.User', times: 1 });
      if (r.status !== 201) throw new CheckFailed(JSON.stringify(r));
    });
    await this.error(client, 'RefreshObjectCaches', { ObjectPath: 'http://static.example.com/node/b.js' },
      'Throttling.User', 400, { compare: false, kind: 'ThrottlingError', retryAfter: 1000 });
    await this.check('[node] a lifecycle rule fails the refresh with Origin timeout', async () => {
      const path = 'http://static.example.com/node-down/app.js';
      const r = await this.admin('POST', '/_cdnsim/rules',
        { name: 'node-down', match: { path }, outcome: 'failed', reason: 'origin_timeout', processing: '1m' });
      if (r.status !== 201) throw new CheckFailed(JSON.stringify(r));
      const got = await this.call(client, 'RefreshObjectCaches', { ObjectPath: path });
      if (got.error) throw new CheckFailed(`${got.error.code}: the throttle should be spent`);
      const row = await this.pollUntilDone(client, got.body.RefreshTaskId, path);
      if (row.Status !== 'Failed' || row.Description !== 'Origin timeout') throw new CheckFailed(JSON.stringify(row));
    });
  }

  async run() {
    const mode = this.args.mode;
    let [keyId, secret] = this.args.accessKey.split(':');
    console.log(`# test_node.js --mode ${mode}: server ${this.endpoint}, log ${this.args.log}, at ${this.at}`);
    if (mode === 'open') [keyId, secret] = ['cdnsimAnyKeyId', 'anySecret'];
    if (mode === 'open' || mode === 'auth') await this.readSuite(this.client(keyId, secret));
    else if (mode === 'wrong-secret') await this.rejectionSuite(keyId, secret);
    else if (mode === 'writes') await this.writeSuite(keyId, secret);
    else usage(`unknown mode ${mode}`);
    console.log(`# test_node.js --mode ${mode}: all ${this.checks} checks passed`);
  }
}

new Harness(parseArgs(process.argv)).run().catch((e) => {
  console.log(`test_node.js: ${e.stack || e}`);
  process.exit(1);
});
