/**
 * The netem relay process (shared/netem/relay-process.ts starts it inside the hub namespace).
 * Reads JSON requests on stdin, one per line, and answers each on stdout:
 *   {"op":"open","id":1,"listenHost":"10.200.1.254","targetHost":"10.200.2.1","targetPort":4000,"delayMs":20,"jitterMs":0}
 *     → {"id":1,"port":37551}   (a new delay-line relay listening on listenHost:port)
 *   {"op":"stats","id":2} → {"id":2,"stats":{"cpuUserMs":…,"cpuSystemMs":…,"relays":…,"connections":…}}
 * Errors answer {"id":…,"error":"…"}. Exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { Clock } from '../shared/netem/delay-line.js';
import { startRelay, type Relay } from '../shared/netem/relay.js';
import { RelayRequest, type RelayReply } from '../shared/netem/relay-process.js';

const clock = new Clock();
const relays: Relay[] = [];

async function answer(line: string): Promise<RelayReply> {
  let req: RelayRequest;
  try {
    req = RelayRequest.parse(JSON.parse(line));
  } catch (e) {
    return { id: -1, error: `bad request: ${(e as Error).message.slice(0, 300)}` };
  }
  try {
    if (req.op === 'stats') {
      const cpu = process.cpuUsage();
      const connections = relays.reduce((n, r) => n + r.connections(), 0);
      return {
        id: req.id,
        stats: { cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, relays: relays.length, connections },
      };
    }
    const relay = await startRelay(req, clock);
    relays.push(relay);
    return { id: req.id, port: relay.port };
  } catch (e) {
    return { id: req.id, error: (e as Error).message };
  }
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  void answer(line).then((r) => process.stdout.write(JSON.stringify(r) + '\n'));
});
input.once('close', () => {
  void Promise.all(relays.map((r) => r.close())).then(() => process.exit(0));
});
