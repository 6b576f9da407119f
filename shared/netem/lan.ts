/**
 * A flat LAN of named machines at fixed addresses: one network namespace per machine, each joined
 * by a veth pair to one bridge in a hub namespace, nothing shaped and no relay. Unlike the
 * benchmark's topology (topology.ts, where every dial goes through a delay-line relay and hosts
 * learn each other's addresses from it), machines here reach each other at the addresses and
 * ports a deployment's config files name, so a deployment can be run exactly as written
 * (test/runtime/deployment.test.ts). Root only; torn down like the topology's namespaces.
 */
import { checkPrivileges, destroyNamespaces, newRunId, removeStale, run } from './namespaces.js';
import { trackTeardown } from './teardown.js';

export interface FlatLan {
  /** Prepend to a command line to run it on `machine`: `['ip', 'netns', 'exec', ns]`. */
  exec(machine: string): string[];
  /** Kills whatever still runs on the machines and deletes the namespaces. Idempotent. */
  close(): void;
}

/**
 * Creates the machines, `name → IPv4 address` on one /24 (the addresses must share it).
 * @throws MpcError E_CONFIG without root or iproute2; E_INTERNAL if `ip` fails (nothing is left behind).
 */
export function createFlatLan(machines: Readonly<Record<string, string>>): FlatLan {
  checkPrivileges('a namespaced LAN');
  removeStale();
  const id = newRunId(),
    hub = `${id}-hub`,
    names = [hub];
  const untrack = trackTeardown(() => destroyNamespaces(names));
  const ns = new Map<string, string>();
  const close = () => {
    destroyNamespaces(names);
    untrack();
  };
  try {
    run('ip', ['netns', 'add', hub]);
    run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
    Object.entries(machines).forEach(([machine, ip], i) => {
      const host = `${id}-${i}`;
      names.push(host);
      ns.set(machine, host);
      run('ip', ['netns', 'add', host]);
      run('ip', ['-n', hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
      run('ip', ['-n', hub, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
      run('ip', ['-n', host, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      run('ip', ['-n', host, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
    });
  } catch (e) {
    close();
    throw e;
  }
  return {
    exec: (machine) => {
      const host = ns.get(machine);
      if (host === undefined) throw new Error(`no machine '${machine}' on this LAN`);
      return ['ip', 'netns', 'exec', host];
    },
    close,
  };
}
