/**
 * Party 0 keeps the served model loaded across restarts of party 1 and the dealer.
 *
 * It holds a presence connection to each (they carry nothing; a closed one means that process is
 * gone), loads the model with both (a load session: every weight matrix is opened once under a
 * fresh fixed mask), and when either presence connection closes it drops the load and retries,
 * every second, until both are back and a new load has succeeded. Sessions that arrive meanwhile
 * wait for the load up to their deadline and then fail with E_MODEL naming the reason.
 */
import { MpcError, toMpcError } from '../util/index.js';
import { Meter, type Link } from '../net/index.js';
import { newSessionId, shortId } from './wire.js';
import { runPartySession } from './party-session.js';
import type { PartyService } from './party-service.js';

const RETRY_MS = 1000;

export class PartyModel {
  private stopped = false;
  private waiters: Array<() => void> = [];
  private reason = 'the model has not been loaded yet';
  private presence: Link[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly svc: PartyService) {}

  /** Starts the keeper; resolves after the first successful load. */
  async start(): Promise<void> {
    void this.loop();
    await new Promise<void>((r) => this.waiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    for (const l of this.presence) l.close('party 0 stops');
    this.wake?.();
  }

  /** Resolves when a model load is current; rejects with E_MODEL after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (this.svc.loads.loadId !== undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new MpcError('E_MODEL', `the model is not loaded: ${this.reason}`));
      }, timeoutMs);
      t.unref();
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  private async loop(): Promise<void> {
    const { log } = this.svc.opts;
    let logged = '';
    while (!this.stopped) {
      try {
        await this.connectPresence();
        await this.load();
        logged = '';
        log.info({ loadId: shortId(this.svc.loads.loadId ?? '') }, 'model loaded');
        for (const w of this.waiters.splice(0)) w();
        const gone = await new Promise<string>((r) => {
          for (const l of this.presence) l.onFailure(() => r(l.opts.remote));
        });
        if (this.stopped) break;
        this.svc.loads.drop();
        this.reason = `${gone} went away; reloading when it is back`;
        log.warn(`${gone} went away: the model is dropped and reloaded when it is back`);
      } catch (e) {
        this.reason = toMpcError(e).message.replace(/^E_[A-Z_]+: /, '');
        if (this.reason !== logged)
          log.warn({ code: toMpcError(e).code }, `model not loaded: ${this.reason} (retrying every ${RETRY_MS} ms)`);
        logged = this.reason;
      } finally {
        for (const l of this.presence.splice(0)) l.close('presence reset');
      }
      if (!this.stopped)
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, RETRY_MS).unref();
        });
    }
  }

  private async connectPresence(): Promise<void> {
    const o = this.svc.opts;
    for (const [url, name, role, remote] of [
      [o.peerUrl!, 'peer', 'party1', 'party 1'],
      [o.dealerUrl, 'dealer', 'dealer', 'the dealer'],
    ] as const) {
      const l = await this.svc.dial(url, name, role, remote);
      this.presence.push(l);
      l.sendControl({ t: 'presence' });
    }
  }

  private async load(): Promise<void> {
    const session = newSessionId();
    await runPartySession(this.svc, { session, job: this.svc.loadJob(), meter: new Meter() });
    if (this.svc.loads.loadId !== session)
      throw new MpcError('E_MODEL', 'the model load session failed (see the log above)');
  }
}
