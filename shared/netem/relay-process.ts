/**
 * The relay as its own process (scripts/netem-relay.ts), run inside the hub namespace where it
 * can reach every host. The harness drives it with JSON lines: each request on its stdin gets one
 * reply on its stdout. It exits when its stdin closes, so it never outlives the harness.
 */
import { z } from 'zod';
import { MpcError } from '../util/errors.js';
import { withTimeout } from '../util/time.js';
import { spawnScript } from './child.js';

export const RelayRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('open'),
    id: z.number().int(),
    listenHost: z.string(),
    targetHost: z.string(),
    targetPort: z.number().int().min(1).max(65535),
    delayMs: z.number().min(0),
    jitterMs: z.number().min(0),
  }),
  z.object({ op: z.literal('stats'), id: z.number().int() }),
]);
export type RelayRequest = z.infer<typeof RelayRequest>;

export const RelayStats = z.object({
  cpuUserMs: z.number(),
  cpuSystemMs: z.number(),
  relays: z.number(),
  connections: z.number(),
});
export type RelayStats = z.infer<typeof RelayStats>;

export const RelayReply = z.object({
  id: z.number().int(),
  port: z.number().int().optional(),
  stats: RelayStats.optional(),
  error: z.string().optional(),
});
export type RelayReply = z.infer<typeof RelayReply>;

/** A request without its id (the process numbers them). */
type Request = RelayRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export interface RelayProcess {
  request(req: Request): Promise<RelayReply>;
  /** Closes its stdin and waits for it to exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts scripts/netem-relay.js (from dist/) behind `exec` (e.g. `ip netns exec <hub>`).
 * @throws MpcError E_INTERNAL if it exits at start-up, E_TIMEOUT if it does not answer within 10 s.
 */
export async function startRelayProcess(exec: readonly string[]): Promise<RelayProcess> {
  const c = spawnScript(exec, 'netem-relay', []);
  const pending = new Map<number, { resolve: (r: RelayReply) => void; reject: (e: Error) => void }>();
  const failAll = (why: string): void => {
    for (const p of pending.values()) p.reject(new MpcError('E_INTERNAL', `netem relay ${why}: ${c.stderrTail()}`));
    pending.clear();
  };
  void c.exited.then(() => failAll(`exited (${c.child.signalCode ?? c.child.exitCode})`));
  c.onLine((value, line) => {
    const r = RelayReply.safeParse(value);
    if (!r.success) {
      failAll(`printed '${line.slice(0, 200)}'`);
      return;
    }
    pending.get(r.data.id)?.resolve(r.data);
    pending.delete(r.data.id);
  });
  let nextId = 0;
  const request = (req: Request): Promise<RelayReply> =>
    new Promise((resolve, reject) => {
      if (c.child.exitCode !== null || c.child.signalCode !== null) {
        reject(new MpcError('E_INTERNAL', 'netem relay is not running'));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      c.child.stdin!.write(JSON.stringify({ ...req, id }) + '\n');
    });
  await withTimeout(request({ op: 'stats' }), 10_000, 'netem relay start-up'); // answers once it is up
  return { request, stop: c.stop };
}
