/**
 * TLS on every link (socket suite): the three processes talk wss:// with certificates of one CA;
 * an op runs end to end, and a client whose certificate another CA signed is refused.
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../../shared/util/paths.js';
import { launchCluster, type Cluster } from '../../shared/runtime/launch.js';
import { runOpOnCluster } from '../../shared/runtime/op-runner.js';
import { connect } from '../../shared/runtime/client.js';
import { loadTls } from '../../shared/net/tls.js';
import { MpcError } from '../../shared/util/errors.js';

const dir = (f: string) => projectPath('test', 'fixtures', 'tls', f);

describe('TLS with mutual authentication (socket suite)', () => {
  let c: Cluster;
  const tls = loadTls({ ca: dir('ca.pem'), cert: dir('cert.pem'), key: dir('key.pem') })!;
  beforeAll(async () => { c = await launchCluster({ timeoutMs: 10000, tls: { ca: dir('ca.pem'), cert: dir('cert.pem'), key: dir('key.pem') } }); });
  afterAll(async () => { await c.stop(); });

  test('an op runs over wss:// between all three processes', async () => {
    expect(c.clientUrls[0]).toMatch(/^wss:/);
    const r = await runOpOnCluster(c.clientUrls, 'mul', { n: 64 }, 1, { timeoutMs: 10000, maxFrameBytes: 1 << 24, tls });
    expect(r.ok).toBe(true);
  });

  test('a client without a certificate of the CA is refused; plain ws is refused', async () => {
    const stranger = { ...tls, ca: readFileSync(dir('other-ca.pem')) };
    const code = async (p: Promise<unknown>) => { try { await p; return 'ok'; } catch (e) { return e instanceof MpcError ? e.code : String(e); } };
    expect(await code(connect(c.clientUrls[0], 'party 0', { timeoutMs: 5000, maxFrameBytes: 1 << 20, tls: stranger }))).toBe('E_PEER_CLOSED');
    expect(await code(connect(c.clientUrls[0].replace('wss:', 'ws:'), 'party 0', { timeoutMs: 5000, maxFrameBytes: 1 << 20 }))).toBe('E_PEER_CLOSED');
    expect(await code(connect(c.clientUrls[0], 'party 0', { timeoutMs: 5000, maxFrameBytes: 1 << 20 }))).toBe('E_CONFIG');
  });
});
