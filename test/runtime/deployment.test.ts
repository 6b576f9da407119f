/**
 * README.md's "Deploying on three machines", run as written (socket suite): the test reads the
 * section's `npm run ca` line, its four JSON config files, its copy table and its commands, and
 * runs them on four machines. As root (with iproute2) the machines are network namespaces on one
 * bridge at the README's own addresses and ports (dealer 10.0.0.2, party 1 10.0.0.3, party 0
 * 10.0.0.4, the client 10.0.0.5; shared/netem/lan.ts), so every process reaches the others only
 * over the LAN, by mutual TLS; without root they are stood in by loopback addresses (10.0.0.N →
 * 127.0.0.N) and free ports. Either way /etc/mpcache is one folder per
 * machine, each server gets only `--config <file>` and each machine only the files the table
 * lists. A private generation by the compiled client equals the fixed-point emulation; a party
 * given another role's certificate exits with E_CONFIG; the client's certificate on party 1's peer
 * port is refused with E_AUTH.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createFlatLan, type FlatLan } from '../../shared/netem/lan.js';
import { projectPath } from '../../shared/util/index.js';
import { LOOPBACK, spawnNode, stopProc, type Placement, type Proc } from '../../shared/runtime/launch.js';
import { referenceGenerate } from '../../shared/runtime/reference.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { byteTokenizer as tok } from '../../shared/model/tokenizer/index.js';
import { writeTinyShares } from '../util/party-fixture.js';
import { runScript } from '../util/run-script.js';
import { seeded } from '../util/rng.js';

const TITLE = '## Deploying on three machines';

/** The README section, from its title to the next one. */
function section(): string {
  const readme = readFileSync(projectPath('README.md'), 'utf8');
  const start = readme.indexOf(TITLE);
  if (start < 0) throw new Error(`README.md has no '${TITLE}'`);
  const end = readme.indexOf('\n## ', start + TITLE.length);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Shell words of a command line (double quotes group). */
const words = (line: string): string[] => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);

interface Row {
  machine: string;
  files: string[];
  command: string[];
}

/** The copy table: machine folder (dealer, party1, party0, client), its files and its command. */
function rows(text: string): Row[] {
  return [...text.matchAll(/^\| ([a-z0-9 ]+?)(?:, [\d.]+)? \| `([^`]+)` \| `([^`]+)` \|$/gm)].map((m) => ({
    machine: m[1]!.replace(' ', ''),
    files: m[2]!.split(' '),
    command: words(m[3]!),
  }));
}

/** The JSON config files: `name.json` → its text. */
function configs(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^`(\w+\.json)`[^\n]*\n+```json\n([\s\S]*?)\n```/gm)].map((m) => [m[1]!, m[2]!]));
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The README's machines and their addresses (the client's is this test's choice). */
const MACHINES = { dealer: '10.0.0.2', party1: '10.0.0.3', party0: '10.0.0.4', client: '10.0.0.5' };

/** Namespaces need root and iproute2; without them the machines are loopback addresses. */
function canNamespace(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const NAMESPACES = canNamespace();

/** A module that dials `url` with the client's certificate expecting party 1, and prints `ok` or the error code. */
const dialProbe = (url: string, tls: { tlsCa: string; tlsCert: string; tlsKey: string }) => `
  import { dialWs, loadTls } from ${JSON.stringify(pathToFileURL(projectPath('dist', 'shared', 'net', 'index.js')).href)};
  const tls = loadTls({ ca: ${JSON.stringify(tls.tlsCa)}, cert: ${JSON.stringify(tls.tlsCert)}, key: ${JSON.stringify(tls.tlsKey)} }, 'client');
  try {
    await dialWs(${JSON.stringify(url)}, 'party 1', { timeoutMs: 5000, maxFrameBytes: 1 << 20, tls, expect: 'party1' });
    console.log('ok');
  } catch (e) {
    console.log(e.code ?? String(e));
  }`;

const MODE = NAMESPACES ? "namespaces at the README's addresses" : 'loopback addresses';
describe(`README: deploying on three machines (socket suite, ${MODE})`, () => {
  const text = section();
  const table = rows(text),
    files = configs(text);
  const tiny = writeTinyShares(
    'mpc-deploy-model-',
    { nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 64, vocab: 257 },
    seeded(),
  );
  const root = mkdtempSync(join(tmpdir(), 'mpc-deploy-'));
  const ports = new Map<string, number>();
  const procs: Proc[] = [];
  const admin = (...p: string[]) => join(root, 'mpc', ...p);
  let lan: FlatLan | undefined;
  /** The prefix that runs a command on `machine` (none on loopback addresses). */
  const on = (machine: string): string[] => lan?.exec(machine) ?? [];
  const place: Placement = {
    ...LOOPBACK,
    command: (role, file, args) => {
      const argv = [...on(role), file, ...args];
      return { file: argv[0]!, args: argv.slice(1) };
    },
  };

  /** README text on this machine: a folder per machine; on loopback also its addresses and free ports. */
  const localise = (s: string, machine: string) => {
    const local = s.replaceAll('/etc/mpcache', join(root, machine));
    if (NAMESPACES) return local;
    return local
      .replace(/\b10\.0\.0\.(\d+)\b/g, '127.0.0.$1')
      .replace(/\b7(000|001|011|100)\b/g, (p) => String(ports.get(p)));
  };

  beforeAll(async () => {
    if (NAMESPACES) lan = createFlatLan(MACHINES);
    else
      for (const [p, host] of [
        ['7100', '127.0.0.2'],
        ['7011', '127.0.0.3'],
        ['7001', '127.0.0.3'],
        ['7000', '127.0.0.4'],
      ] as const)
        ports.set(p, await freePort(host));
    // 1. identities (the README's line) and shares (a small random model instead of share-model on models/tiny-gpt2)
    const ca = /^npm run ca -- (.*)$/m.exec(text);
    const made = await runScript('scripts/ca.js', words(localise(ca![1]!, 'admin')), { cwd: root });
    expect(made).toMatchObject({ code: 0 });
    cpSync(tiny.sharesDir, admin('shares'), { recursive: true });
    cpSync(tiny.modelDir, admin('model'), { recursive: true });
    // 2. the config files; 3. each machine's files, then the servers in the table's order
    for (const [name, json] of files) writeFileSync(admin(name), localise(json, name.replace('.json', '')));
    for (const r of table) {
      for (const f of r.files) {
        mkdirSync(dirname(join(root, r.machine, f)), { recursive: true });
        cpSync(admin(f), join(root, r.machine, f), { recursive: true });
      }
      if (r.command[0] !== 'node') continue;
      const [, script, ...args] = r.command.map((w) => localise(w, r.machine));
      procs.push(
        await spawnNode(r.machine, script!.replace(/^dist\//, ''), args, {
          timeoutMs: 60000,
          logLevel: 'info',
          place,
          role: r.machine as 'dealer' | 'party0' | 'party1',
        }),
      );
    }
  }, 120000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => stopProc(p)));
    lan?.close();
    rmSync(root, { recursive: true, force: true });
    tiny.remove();
  });

  test('the section has the ca line, four config files, a row per machine, and servers given only --config', () => {
    expect([...files.keys()].sort()).toEqual(['client.json', 'dealer.json', 'party0.json', 'party1.json']);
    expect(table.map((r) => r.machine)).toEqual(['dealer', 'party1', 'party0', 'client']);
    for (const r of table.slice(0, 3))
      expect(r.command).toEqual(['node', `dist/${r.machine}/main.js`, '--config', `/etc/mpcache/${r.machine}.json`]);
    expect(procs.map((p) => p.ready['role'])).toEqual(['dealer', 'party1', 'party0']);
  });

  test("the client's certificate on party 1's peer port (posing as party 0) is refused with E_AUTH", async () => {
    const peer = (JSON.parse(readFileSync(join(root, 'party0', 'party0.json'), 'utf8')) as { peer: string }).peer;
    const c = JSON.parse(readFileSync(join(root, 'client', 'client.json'), 'utf8')) as {
      tlsCa: string;
      tlsCert: string;
      tlsKey: string;
    };
    const r = await runScript('-', ['--input-type=module', '-e', dialProbe(peer, c)], { exec: on('client') });
    expect(r).toMatchObject({ code: 0, stdout: 'E_AUTH\n' });
  });

  test("a party given another role's certificate exits with E_CONFIG", async () => {
    const wrong = {
      ...(JSON.parse(readFileSync(admin('party1.json'), 'utf8')) as object),
      tlsCert: admin('party0.pem'),
      tlsKey: admin('party0.key'),
    };
    writeFileSync(admin('party1-wrong.json'), JSON.stringify(wrong));
    const r = await runScript('party1/main.js', ['--config', admin('party1-wrong.json')], { exec: on('party1') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^party1: E_CONFIG: .*party0\.pem is a certificate for party0, but this process is the party1/,
    );
  }, 30000);

  test("the README's client command: a private generation equal to the fixed-point emulation", async () => {
    const client = table.find((r) => r.machine === 'client')!;
    const args = client.command.slice(client.command.indexOf('--') + 1).map((w) => localise(w, 'client'));
    const r = await runScript('scripts/client.js', [...args, '--json', '--max-new-tokens', '6'], {
      timeoutMs: 120000,
      exec: on('client'),
    });
    expect(r).toMatchObject({ code: 0 });
    const res = JSON.parse(r.stdout) as { tokens: number[] };
    const prompt = [tok.bos, ...tok.encode(args[args.indexOf('--prompt') + 1]!)];
    const ref = await referenceGenerate(loadGpt2(tiny.modelDir), prompt, res.tokens.length);
    expect(res.tokens.length).toBeGreaterThan(0);
    expect(res.tokens).toEqual(ref.fixed);
  }, 120000);
});
