/**
 * The one command-line parser (shared/config/cli.ts) and every command built on it: each compiled
 * script and server answers --help with its usage line; values keep the type their flag declares
 * (the old parser turned `--host 8080` into a number and `--seed abc` into a null seed); unknown
 * flags and config keys, missing flags and bad op parameters are E_CONFIG errors that name them;
 * command line > environment > config file; lists, negations and the --no-share ablation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseCommand, type CommandSpec } from '../../shared/config/index.js';
import { OPS, getOp } from '../../shared/runtime/ops/index.js';
import { parseOpParams } from '../../shared/runtime/op-runner.js';
import { POLICY_FLAGS, givenPolicyFlags, policyOptionsOf } from '../../scripts/eval/policy-flags.js';
import { commandOf, opCommand, splitOpFlags } from '../../scripts/op/command.js';
import { runScript } from '../util/run-script.js';
import { errorOf } from '../util/errors-of.js';

const SCRIPTS = [
  'start',
  'client',
  'op',
  'bench',
  'share-model',
  'eviction-costs',
  'eval',
  'study',
  'gen-train-data',
  'bench-kernels',
  'bench-ops',
  'ca',
];
const SERVERS = ['dealer/main.js', 'party0/main.js', 'party1/main.js'];
/** Every command as [compiled file, words before --help]: the netem probe's modes are commands of their own. */
const COMMANDS: Array<[string, string[]]> = [
  ...SCRIPTS.map((s): [string, string[]] => [`scripts/${s}.js`, []]),
  ...SERVERS.map((s): [string, string[]] => [s, []]),
  ...['serve', 'measure', 'bench', 'clock'].map((m): [string, string[]] => ['scripts/netem-probe.js', [m]]),
];

const run = (script: string, args: readonly string[], env: Record<string, string> = {}) =>
  runScript(script, args, { env });

const SERVER_LIKE = {
  usage: 'test-server',
  summary: 'a server',
  configFile: true,
  flags: z.object({
    host: z.string().default('127.0.0.1').describe('address'),
    port: z.number().int().default(7000).describe('port'),
    tlsCert: z.string().describe('certificate'),
    hosts: z.array(z.string()).optional().describe('names'),
    check: z.boolean().default(true).describe('check'),
  }),
} satisfies CommandSpec<Record<string, z.ZodType>>;

const flagsOf = <S extends Record<string, z.ZodType>>(
  cmd: CommandSpec<S>,
  argv: string[],
  env: NodeJS.ProcessEnv = {},
) => {
  const p = parseCommand(cmd, argv, env);
  if (p.help) throw new Error('help');
  return p.flags;
};

describe('one command-line parser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mpc-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };

  test('every compiled script and server answers --help with its usage line, exit 0', async () => {
    const ran = await Promise.all(
      COMMANDS.map(async ([file, words]) => ({
        s: [file, ...words].join(' '),
        r: await run(file, [...words, '--help']),
      })),
    );
    for (const { s, r } of ran) {
      // a flag without a description leaves its help line blank at the end
      const undescribed = r.stdout
        .split('\nflags:\n')[1]
        ?.split('\n')
        .filter((l) => /\s$/.test(l));
      expect({ s, code: r.code, usage: /^usage: \S/.test(r.stdout), undescribed }).toEqual({
        s,
        code: 0,
        usage: true,
        undescribed: [],
      });
    }
  }, 60000);

  test("every op's command (its parameters as flags) has --help, and every flag a description", () => {
    for (const op of OPS) {
      const cmd = opCommand(op);
      expect(parseCommand(cmd, [op.name, '--help'])).toMatchObject({
        help: true,
        text: expect.stringContaining(`usage: npm run op -- ${op.name}`),
      });
      for (const [k, f] of Object.entries(cmd.flags.shape))
        expect({ op: op.name, k, described: (f.description ?? '').length > 0 }).toEqual({
          op: op.name,
          k,
          described: true,
        });
    }
  });

  test('a string flag keeps digits as text (--host 8080); a number flag converts them', () => {
    expect(flagsOf(SERVER_LIKE, ['--host', '8080', '--port', '8080', '--tls-cert', '1'])).toMatchObject({
      host: '8080',
      port: 8080,
      tlsCert: '1',
    });
  });

  test('--seed abc is E_CONFIG naming --seed (it was a null seed), in the op and start commands', async () => {
    for (const [script, args] of [
      ['scripts/op.js', ['mul', '--seed', 'abc']],
      ['scripts/start.js', ['--seed', 'abc']],
    ] as const) {
      const r = await run(script, args);
      expect({ script, code: r.code }).toEqual({ script, code: 2 });
      expect(r.stderr).toMatch(/E_CONFIG: --seed must be a number/);
    }
  }, 30000);

  test('unknown flags and unknown config-file keys are E_CONFIG naming them', async () => {
    expect(errorOf(() => flagsOf(SERVER_LIKE, ['--tls-cert', 'c', '--hots', 'x'])).message).toMatch(
      /E_CONFIG: .*'--hots'/,
    );
    const cfg = file('typo.json', { tlsCert: 'c', prot: 7001 });
    expect(errorOf(() => flagsOf(SERVER_LIKE, ['--config', cfg])).message).toMatch(
      /E_CONFIG: config file .*typo\.json: unknown key 'prot'/,
    );
    const r = await run('scripts/eval.js', ['--task', 'passkey', '--ctx', '64', '--budgte', '8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_CONFIG: .*'--budgte'/);
  }, 30000);

  test('a missing required flag names the flag, and for config-file commands the config key and the environment variable', async () => {
    expect(errorOf(() => flagsOf(SERVER_LIKE, [])).message).toBe(
      "E_CONFIG: --tls-cert is required (flag --tls-cert, config key 'tlsCert' or MPC_TLS_CERT)",
    );
    const r = await run('scripts/client.js', ['--prompt', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("E_CONFIG: --parties is required (flag --parties, config key 'parties' or MPC_PARTIES)");
    const none = await run('scripts/client.js', [
      '--config',
      file('client.json', { parties: ['wss://a:1', 'wss://b:2'] }),
    ]);
    expect(none.stderr).toContain(
      "--share-config is required (flag --share-config, config key 'shareConfig' or MPC_SHARE_CONFIG)",
    );
  }, 30000);

  test('command line > environment > config file > defaults', () => {
    const cfg = file('server.json', { tlsCert: 'file.pem', port: 1, host: 'file-host' });
    expect(flagsOf(SERVER_LIKE, ['--config', cfg])).toMatchObject({
      tlsCert: 'file.pem',
      port: 1,
      host: 'file-host',
      check: true,
    });
    expect(flagsOf(SERVER_LIKE, ['--config', cfg], { MPC_PORT: '2', MPC_CHECK: 'false' })).toMatchObject({
      tlsCert: 'file.pem',
      port: 2,
      host: 'file-host',
      check: false,
    });
    expect(
      flagsOf(SERVER_LIKE, ['--config', cfg, '--port', '3', '--check'], { MPC_PORT: '2', MPC_CHECK: 'false' }),
    ).toMatchObject({ port: 3, check: true });
    // environment variables are read only by commands that take a config file
    const plain = { ...SERVER_LIKE, configFile: false };
    expect(errorOf(() => flagsOf(plain, [], { MPC_TLS_CERT: 'env.pem' })).message).toBe(
      'E_CONFIG: --tls-cert is required',
    );
  });

  test('lists are comma-separated; booleans take --no-x and --x=false; a number flag takes a negative value', () => {
    const cmd = {
      usage: 'test',
      summary: 'test',
      flags: z.object({
        ...POLICY_FLAGS,
        check: z.boolean().default(true).describe('c'),
        lo: z.number().describe('lo'),
      }),
    };
    expect(flagsOf(cmd, ['--clusters', '8,4,2', '--lo', '-4'])).toMatchObject({
      clusters: [8, 4, 2],
      lo: -4,
      check: true,
    });
    expect(flagsOf(cmd, ['--no-check', '--lo=-1'])).toMatchObject({ check: false, lo: -1 });
    expect(flagsOf(cmd, ['--check=false', '--lo', '0'])).toMatchObject({ check: false });
    expect(errorOf(() => flagsOf(cmd, ['--check', 'false', '--lo', '0'])).code).toBe('E_CONFIG');
    expect(errorOf(() => flagsOf(cmd, ['--clusters', '8,x', '--lo', '0'])).message).toMatch(
      /--clusters must be a number/,
    );
  });

  test('the ablation switches, --no-share included (a flag of its own, not a negation), reach the policy options', () => {
    const cmd = { usage: 'test', summary: 'test', flags: z.object(POLICY_FLAGS) };
    expect(policyOptionsOf(flagsOf(cmd, []))).toMatchObject({
      shareLayers: 1,
      static: true,
      score: 'blend',
      staticScore: 'max',
      clusters: [4, 2],
    });
    const all = flagsOf(cmd, [
      '--share-layers',
      '2',
      '--no-share',
      '--no-static',
      '--quest-score',
      '--static-sum',
      '--single-level',
    ]);
    expect(policyOptionsOf(all)).toMatchObject({
      shareLayers: 1,
      static: false,
      score: 'bound',
      staticScore: 'sum',
      clusters: [2],
    });
    expect(policyOptionsOf(flagsOf(cmd, ['--share-layers', '2', '--no-share=false']))).toMatchObject({
      shareLayers: 2,
    });
    expect(givenPolicyFlags(flagsOf(cmd, ['--no-share', '--budget', '8']))).toEqual(['--budget', '--no-share']);
    // a command may not declare both x and noX: --no-x would mean two things
    const clash = {
      usage: 'clash',
      summary: 'clash',
      flags: z.object({ share: z.boolean().describe('s'), noShare: z.boolean().describe('n') }),
    };
    expect(errorOf(() => parseCommand(clash, [])).code).toBe('E_INTERNAL');
  });

  test('a bad op parameter is E_CONFIG naming it, never E_INTERNAL', async () => {
    expect(errorOf(() => parseOpParams(getOp('mul'), { n: -3 })).message).toBe(
      'E_CONFIG: op mul: --n: Too small: expected number to be >0',
    );
    const rsqrt = getOp('rsqrt');
    const argv = ['rsqrt', '--lo', '1'];
    expect(errorOf(() => splitOpFlags(rsqrt, flagsOf(commandOf(argv).spec, argv), ['rsqrt'])).message).toBe(
      'E_CONFIG: op rsqrt: lo and hi must be even',
    );
    const [bad, odd, extra] = await Promise.all([
      run('scripts/op.js', ['mul', '--n', 'x']),
      run('scripts/op.js', ['rsqrt', '--lo', '1']),
      run('scripts/op.js', ['mul', 'more']),
    ]);
    expect([bad.code, odd.code, extra.code]).toEqual([2, 2, 2]);
    expect(bad.stderr).toMatch(/E_CONFIG: --n must be a number/);
    expect(odd.stderr).toMatch(/E_CONFIG: op rsqrt: lo and hi must be even/);
    expect(extra.stderr).toMatch(/E_CONFIG: unexpected argument 'more'/);
  }, 30000);

  test('policy flags without --policy are refused by npm start, naming them', async () => {
    const r = await run('scripts/start.js', ['--budget', '8', '--no-static']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_CONFIG: policy flags need --policy <name> \(given: --budget, --no-static\)/);
  }, 30000);
});
