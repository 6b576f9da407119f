/**
 * Socket suite: the dealer, party 0 and party 1 as separate OS processes over real WebSockets.
 * Runs ops end to end, then feeds bad input and kills the dealer mid-stream; every failure must
 * reach the client as a coded error before the deadline, and the parties must keep serving.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { launchCluster, type Cluster } from '../../shared/runtime/launch.js';
import { projectPath } from '../../shared/util/index.js';
import { runOpOnCluster } from '../../shared/runtime/op-runner.js';
import { connect, runJob, type ClientOptions } from '../../shared/runtime/client.js';
import { INPUT_FRAME } from '../../shared/runtime/wire.js';
import { MpcError } from '../../shared/util/errors.js';

const BASE = { timeoutMs: 8000, maxFrameBytes: 1 << 26 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof MpcError ? e.code : String(e);
  }
}

describe('three processes over real sockets (socket suite)', () => {
  let c: Cluster, OPTS: ClientOptions;
  beforeAll(async () => {
    c = await launchCluster({ timeoutMs: BASE.timeoutMs });
    OPTS = { ...BASE, tls: c.clientTls };
  });
  afterAll(async () => {
    await c.stop();
  });

  test('matvec: correct, online bytes ≈ input + output openings, weight opened once', async () => {
    const rows = 96,
      cols = 512;
    const one = await runOpOnCluster(c.clientUrls, 'matvec', { rows, cols }, 11, OPTS);
    expect(one.ok).toBe(true);
    expect(one.online.p0_to_p1).toBeLessThanOrEqual(1.25 * (rows + cols) * 8 + 1024);
    expect(one.online.p1_to_p0).toBeLessThanOrEqual(1.25 * (rows + cols) * 8 + 1024);
    expect(one.setup!.p0_to_p1).toBeGreaterThanOrEqual(rows * cols * 8);
    expect(one.dealer.to_p0).toBeLessThan(200); // party 0 gets a seed only
    const four = await runOpOnCluster(c.clientUrls, 'matvec', { rows, cols, repeat: 4 }, 12, OPTS);
    expect(four.ok).toBe(true);
    expect(four.online.p0_to_p1).toBeLessThanOrEqual(4 * one.online.p0_to_p1 + 256);
    expect(four.setup!.p0_to_p1).toBe(one.setup!.p0_to_p1);
  });

  test('mul, matmul and exact trunc', async () => {
    for (const [op, params] of [
      ['mul', { n: 500 }],
      ['matmul', { k: 3, rows: 40, cols: 64 }],
      ['trunc', { n: 500 }],
    ] as const) {
      const r = await runOpOnCluster(c.clientUrls, op, params, 3, OPTS);
      expect({ op, ok: r.ok }).toEqual({ op, ok: true });
    }
  });

  test('unknown op and bad parameters: E_INPUT to the client, servers stay up', async () => {
    expect(await codeOf(runJob(c.clientUrls, { kind: 'op', op: 'nope', params: {} }, [], OPTS))).toBe('E_INPUT');
    expect(await codeOf(runJob(c.clientUrls, { kind: 'op', op: 'mul', params: { n: -3 } }, [], OPTS))).toBe('E_INPUT');
    expect((await runOpOnCluster(c.clientUrls, 'mul', { n: 10 }, 1, OPTS)).ok).toBe(true);
  });

  test('wrong input shape: E_SHAPE', async () => {
    const wrong = [new BigUint64Array(9), new BigUint64Array(10)];
    expect(await codeOf(runJob(c.clientUrls, { kind: 'op', op: 'mul', params: { n: 10 } }, wrong, OPTS))).toBe(
      'E_SHAPE',
    );
    expect((await runOpOnCluster(c.clientUrls, 'mul', { n: 10 }, 2, OPTS)).ok).toBe(true);
  });

  test('malformed frames and wrong first messages: coded errors, no hang', async () => {
    const l = await connect(c.clientUrls[0], 'party 0', 'party0', OPTS);
    l.sendTensor({ type: INPUT_FRAME, seq: 0n, tag: 0, check: 0, parts: [] }); // a tensor before any request
    expect(await codeOf(l.nextControl((await import('zod')).z.unknown(), 'reply'))).toBe('E_PROTOCOL');
    const l2 = await connect(c.clientUrls[1], 'party 1', 'party1', OPTS);
    (l2 as unknown as { transport: { send(b: Buffer): void } }).transport.send(Buffer.from('not a frame at all'));
    expect(await codeOf(l2.nextControl((await import('zod')).z.unknown(), 'reply'))).toBe('E_FRAME');
    expect((await runOpOnCluster(c.clientUrls, 'trunc', { n: 10 }, 4, OPTS)).ok).toBe(true);
  });
});

describe('dealer dies mid-stream (socket suite)', () => {
  test('the session aborts on every process with a clear error; parties keep serving', async () => {
    const c = await launchCluster({ timeoutMs: 8000 });
    const OPTS = { ...BASE, tls: c.clientTls };
    try {
      const run = runOpOnCluster(c.clientUrls, 'matvec', { rows: 256, cols: 1024, repeat: 200 }, 5, OPTS);
      await new Promise((r) => setTimeout(r, 400));
      c.dealer.child.kill('SIGKILL');
      const t0 = Date.now();
      const code = await codeOf(run);
      expect(['E_PEER_CLOSED', 'E_ABORTED']).toContain(code);
      expect(Date.now() - t0).toBeLessThan(BASE.timeoutMs + 2000);
      for (const p of [c.party0, c.party1]) expect(p.child.exitCode).toBeNull();
      // each party logs the abort with its code (pino writes asynchronously: poll briefly)
      for (const p of [c.party0, c.party1]) {
        for (let i = 0; i < 40 && !/session aborted/.test(p.stderr.join('')); i++)
          await new Promise((r) => setTimeout(r, 50));
        expect(p.stderr.join('')).toMatch(/"code":"E_(PEER_CLOSED|ABORTED)".*session aborted/);
      }
    } finally {
      await c.stop();
    }
  });
});

describe('logs at debug level (socket suite)', () => {
  test('a whole session logged at debug level contains no seed, share or mask bytes', async () => {
    const c = await launchCluster({ timeoutMs: 8000, logLevel: 'debug' });
    try {
      expect((await runOpOnCluster(c.clientUrls, 'mul', { n: 16 }, 9, { ...BASE, tls: c.clientTls })).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // pino writes asynchronously
      const logs = [c.dealer, c.party0, c.party1].map((p) => p.stderr.join('')).join('\n');
      expect(logs).toMatch(/"msg":"round"/); // debug level really was on
      for (const line of logs.split('\n').filter((l) => l.startsWith('{'))) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        for (const k of ['seed', 'share', 'shares', 'mask', 'data', 'tokens', 'weights']) {
          if (k in rec) expect({ k, v: rec[k] }).toEqual({ k, v: '[redacted]' });
        }
        // no long runs of hex or digit arrays (raw key or ring material) anywhere in a record
        expect(line).not.toMatch(/(?<![A-Za-z0-9_-])[0-9a-f]{32,}(?![A-Za-z0-9_-])/i);
        expect(line).not.toMatch(/\[(\d+,){16,}/);
      }
    } finally {
      await c.stop();
    }
  });
});

describe('a harness that dies (socket suite)', () => {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  test('killed with SIGKILL, it leaves no server behind: each ends when its standard input closes', async () => {
    const launch = pathToFileURL(projectPath('dist', 'shared', 'runtime', 'launch.js')).href;
    const script = `const { launchCluster } = await import(${JSON.stringify(launch)});
      const c = await launchCluster({ timeoutMs: 8000 });
      console.log(JSON.stringify([c.dealer, c.party0, c.party1].map((p) => p.child.pid)));
      setInterval(() => {}, 1000);`;
    const harness = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: harness.stdout }).once('line', resolve),
    );
    const pids = JSON.parse(line) as number[];
    expect(pids.every(alive)).toBe(true);
    harness.kill('SIGKILL');
    const deadline = Date.now() + 10000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const left = pids.filter(alive);
    for (const pid of left) process.kill(pid, 'SIGKILL'); // a failing run leaves nothing running either
    expect(left).toEqual([]);
  }, 30000);
});
