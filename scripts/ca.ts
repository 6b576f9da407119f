/**
 * `npm run ca -- --out <dir> [--dealer-hosts h1,h2] [--party0-hosts …] [--party1-hosts …] [--days n]`
 *
 * Makes a deployment's identities (runtime/deployment.ts): a CA and one certificate per role
 * (dealer, party 0, party 1, client), the role in the subject's OU. Server certificates are valid for
 * the host names or addresses the others dial (default localhost, 127.0.0.1). Give each machine its
 * role's .pem/.key and ca.pem only; keep ca.key offline. Prints the files and each certificate's
 * SHA-256 fingerprint (for the optional --pin-<role> flags).
 */
import { z } from 'zod';
import { commandFlags } from '../shared/config/cli.js';
import { toMpcError } from '../shared/util/errors.js';
import { ROLES } from '../shared/net/tls.js';
import { createDeployment } from '../shared/runtime/deployment.js';
import { resolve } from 'node:path';

const hosts = (role: string) =>
  z.array(z.string().min(1)).optional().describe(`names or addresses of the ${role} machine (comma-separated)`);

const CA = {
  usage: 'npm run ca -- --out <dir> [flags]',
  summary: 'Makes a deployment CA and the dealer, party 0, party 1 and client certificates (openssl, EC P-256).',
  flags: z.object({
    out: z.string().describe('an empty folder for the certificates'),
    dealerHosts: hosts('dealer'),
    party0Hosts: hosts('party 0'),
    party1Hosts: hosts('party 1'),
    days: z.number().int().positive().default(825).describe('validity of the role certificates'),
  }),
};

try {
  const { flags: f } = commandFlags(CA);
  const d = createDeployment(resolve(f.out), {
    days: f.days,
    hosts: {
      ...(f.dealerHosts ? { dealer: f.dealerHosts } : {}),
      ...(f.party0Hosts ? { party0: f.party0Hosts } : {}),
      ...(f.party1Hosts ? { party1: f.party1Hosts } : {}),
    },
  });
  process.stdout.write(`CA: ${d.ca} (its key ca.key: keep it offline)\n`);
  for (const r of ROLES)
    process.stdout.write(`${r.padEnd(7)} ${d.roles[r].cert}  ${d.roles[r].key}  sha256 ${d.roles[r].fingerprint}\n`);
} catch (e) {
  process.stderr.write(`ca: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
}
