/**
 * README.md's "Deploying on three machines", run as written (socket suite): the test reads the
 * section's `npm run ca` line, its four JSON config files, its copy table and its commands, and
 * runs them with the machines stood in by loopback addresses (10.0.0.2 → 127.0.0.2 the dealer,
 * 10.0.0.3 → 127.0.0.3 party 1, 10.0.0.4 → 127.0.0.4 party 0, the client on 127.0.0.1), one folder
 * per machine for /etc/mpcache, and free ports for the README's. Each server gets only
 * `--config <file>`; each machine only the files the table lists. A private generation by the
 * compiled client equals the fixed-point emulation; a party given another role's certificate
 * exits with E_CONFIG; the client's certificate on party 1's peer port is refused with E_AUTH.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dialWs, loadTls } from '../../shared/net/index.js';
import { MpcError, projectPath } from '../../shared/util/index.js';
import { spawnNode, stopProc, type Proc } from '../../shared/runtime/launch.js';
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

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof MpcError ? e.code : String(e);
  }
}

describe('README: deploying on three machines (socket suite, loopback addresses)', () => {
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

  /** README text on this machine: loopback addresses, free ports, a folder per machine. */
  const localise = (s: string, machine: string) =>
    s
      .replaceAll('/etc/mpcache', join(root, machine))
      .replace(/\b10\.0\.0\.(\d+)\b/g, '127.0.0.$1')
      .replace(/\b7(000|001|011|100)\b/g, (p) => String(ports.get(p)));

  beforeAll(async () => {
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
        await spawnNode(r.machine, script!.replace(/^dist\//, ''), args, { timeoutMs: 60000, logLevel: 'info' }),
      );
    }
  }, 120000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => stopProc(p)));
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
    const tls = loadTls({ ca: c.tlsCa, cert: c.tlsCert, key: c.tlsKey }, 'client');
    expect(
      await codeOf(dialWs(peer, 'party 1', { timeoutMs: 5000, maxFrameBytes: 1 << 20, tls, expect: 'party1' })),
    ).toBe('E_AUTH');
  });

  test("a party given another role's certificate exits with E_CONFIG", async () => {
    const wrong = {
      ...(JSON.parse(readFileSync(admin('party1.json'), 'utf8')) as object),
      tlsCert: admin('party0.pem'),
      tlsKey: admin('party0.key'),
    };
    writeFileSync(admin('party1-wrong.json'), JSON.stringify(wrong));
    const r = await runScript('party1/main.js', ['--config', admin('party1-wrong.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^party1: E_CONFIG: .*party0\.pem is a certificate for party0, but this process is the party1/,
    );
  }, 30000);

  test("the README's client command: a private generation equal to the fixed-point emulation", async () => {
    const client = table.find((r) => r.machine === 'client')!;
    const args = client.command.slice(client.command.indexOf('--') + 1).map((w) => localise(w, 'client'));
    const r = await runScript('scripts/client.js', [...args, '--json', '--max-new-tokens', '6'], { timeoutMs: 120000 });
    expect(r).toMatchObject({ code: 0 });
    const res = JSON.parse(r.stdout) as { tokens: number[] };
    const prompt = [tok.eot, ...tok.encode(args[args.indexOf('--prompt') + 1]!)];
    const ref = await referenceGenerate(loadGpt2(tiny.modelDir), prompt, res.tokens.length);
    expect(res.tokens.length).toBeGreaterThan(0);
    expect(res.tokens).toEqual(ref.fixed);
  }, 120000);
});
