/**
 * A cluster's placement on an emulated network: each process in its host's namespace, listening
 * on the host's address, and every dial through the shaped link (runtime/launch.ts `Placement`).
 */
import type { Placement } from '../runtime/launch.js';
import { commandIn, type Topology } from './topology.js';

export function placementOf(topo: Topology): Placement {
  return {
    listenHost: (role) => topo.hosts[role].listenHost,
    command: (role, file, args) => commandIn(topo.hosts[role], file, args),
    endpoint: (src, dst, port) => topo.connect(src, dst, port),
    names: (role) => topo.hosts[role].dialedAt,
  };
}
