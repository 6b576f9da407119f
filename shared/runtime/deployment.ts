/**
 * A deployment's identities: one CA and one certificate per role (net/tls.ts reads the role from
 * the subject's OU). Made with the `openssl` command line (EC P-256 keys, SHA-256 signatures), so an
 * operator can inspect or reissue everything with the same tool:
 *
 *   ca.pem, ca.key                    the deployment CA (keep ca.key offline once certificates are issued)
 *   dealer.pem/.key, party0.pem/.key, party1.pem/.key, client.pem/.key
 *
 * Server certificates carry the host names or addresses the others dial (subjectAltName), and every
 * certificate may serve both ends of a link (serverAuth and clientAuth). `npm run ca` writes a
 * deployment for real machines; `npm start`, the benchmarks and the tests make a throwaway one in a
 * temporary folder per run.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { MpcError } from '../util/errors.js';
import { ROLES, roleUnit, type Role } from '../net/tls.js';

export interface RoleFiles {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint of the certificate (hex, no colons): what `--pin-<role>` takes. */
  readonly fingerprint: string;
}

export interface Deployment {
  readonly dir: string;
  readonly ca: string;
  readonly roles: Readonly<Record<Role, RoleFiles>>;
}

export interface DeploymentOptions {
  /** Host names or IP addresses each role's certificate is valid for (default localhost, 127.0.0.1). */
  hosts?: Partial<Record<Role, readonly string[]>>;
  /** Validity in days (default 825). */
  days?: number;
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT')
      throw new MpcError('E_CONFIG', 'the openssl command is needed to make certificates (apt-get install openssl)');
    throw new MpcError(
      'E_CONFIG',
      `openssl ${args[0]} failed: ${err.stderr?.toString().trim().slice(0, 500) ?? String(e)}`,
    );
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function fingerprintOf(pem: string): string {
  return new X509Certificate(readFileSync(pem)).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** Makes a CA (ca.pem, ca.key) in `dir`. */
export function makeCa(dir: string, name = 'mpcache deployment CA', days = 3650): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'ca.pem'),
    key = join(dir, 'ca.key');
  openssl([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    String(days),
    '-subj',
    `/O=mpcache/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(key, 0o600);
  return { cert, key };
}

/**
 * Issues `<file>.pem`/`<file>.key` in `dir` for `role`, signed by the CA at `ca`.
 * `role: null` issues a certificate with no mpcache role (for tests of refusals).
 */
export function issueCert(
  dir: string,
  ca: { cert: string; key: string },
  role: Role | null,
  file: string,
  hosts: readonly string[] = ['localhost', '127.0.0.1'],
  days = 825,
): RoleFiles {
  const cert = join(dir, `${file}.pem`),
    key = join(dir, `${file}.key`),
    csr = join(dir, `${file}.csr`),
    ext = join(dir, `${file}.ext`);
  const ou = role === null ? '' : `/OU=${roleUnit(role)}`;
  openssl(['req', ...EC, '-keyout', key, '-out', csr, '-subj', `/O=mpcache${ou}/CN=${file}`]);
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(
    ext,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`,
  );
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    '0x' + randomBytes(16).toString('hex'),
    '-days',
    String(days),
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  chmodSync(key, 0o600);
  rmSync(csr);
  rmSync(ext);
  return { cert, key, fingerprint: fingerprintOf(cert) };
}

/** A CA and one certificate per role in `dir`. */
export function createDeployment(dir: string, o: DeploymentOptions = {}): Deployment {
  if (existsSync(join(dir, 'ca.key')))
    throw new MpcError('E_CONFIG', `${dir} already holds a deployment CA; choose an empty folder`);
  const ca = makeCa(dir);
  const roles = {} as Record<Role, RoleFiles>;
  for (const role of ROLES)
    roles[role] = issueCert(dir, ca, role, role, o.hosts?.[role] ?? ['localhost', '127.0.0.1'], o.days);
  return { dir, ca: ca.cert, roles };
}

/** The TLS flags a process of `role` takes for a deployment (see runtime/entry.ts). */
export function tlsFlags(d: Deployment, role: Role): string[] {
  return ['--tls-ca', d.ca, '--tls-cert', d.roles[role].cert, '--tls-key', d.roles[role].key];
}
