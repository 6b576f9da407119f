/**
 * Traffic and round meter. Every frame a link sends or receives is recorded here under the
 * current phase and scope label, so the report breaks bytes down per link, direction, phase and
 * operation. Rounds are counted at the protocol level: one `exchange` = one round, whatever it
 * carries (a socket-level count would not tell dependent flights from parallel ones).
 */

import { AsyncLocalStorage } from 'node:async_hooks';

export type LinkName = 'peer' | 'dealer' | 'client';

/**
 * How a frame's bytes are attributed to operation labels: one step under the current scope, or,
 * for a frame that carries several batched protocols' openings (protocol/prims/batch.ts), the
 * bytes of each protocol under its own full label (the first one is also charged the round).
 */
export type Attribution = string | readonly { readonly label: string; readonly bytes: number }[];

export interface Traffic {
  sentBytes: number;
  recvBytes: number;
  rounds: number;
  frames: number;
}

export interface PhaseReport extends Traffic {
  ms: number;
  dealerRecvBytes: number;
  dealerSentBytes: number;
  /** Time this process spent waiting on each other process within the phase (the rest is local work). */
  waitMs: Record<LinkName, number>;
}

export interface MeterReport {
  /** Totals per link. */
  links: Record<LinkName, Traffic>;
  /** Online (peer link) traffic and dealer bytes per phase, in order of first use. */
  phases: Record<string, PhaseReport>;
  /** Peer-link traffic per operation label (dotted scope + protocol step). */
  labels: Record<string, Traffic>;
}

const zero = (): Traffic => ({ sentBytes: 0, recvBytes: 0, rounds: 0, frames: 0 });

export class Meter {
  private phase = 'setup';
  private phaseStart = performance.now();
  /** The scope stack of the running async context (batched protocols interleave, each with its own). */
  private readonly scopes = new AsyncLocalStorage<readonly string[]>();
  private links: Record<LinkName, Traffic> = { peer: zero(), dealer: zero(), client: zero() };
  private phases: Record<string, PhaseReport> = {};
  private labels: Record<string, Traffic> = {};

  /** Starts a new phase (e.g. 'prefill', 'decode.3'); time is charged to the previous one. */
  setPhase(name: string): void {
    this.closePhase();
    this.phase = name;
    this.phaseStart = performance.now();
  }

  private closePhase(): void {
    const p = this.phaseEntry();
    p.ms += performance.now() - this.phaseStart;
    this.phaseStart = performance.now();
  }

  private phaseEntry(): PhaseReport {
    return (this.phases[this.phase] ??= {
      ...zero(),
      ms: 0,
      dealerRecvBytes: 0,
      dealerSentBytes: 0,
      waitMs: { peer: 0, dealer: 0, client: 0 },
    });
  }

  /** Runs `fn` with `label` pushed on the scope stack (labels nest as `a.b.c`). */
  scope<T>(label: string, fn: () => Promise<T>): Promise<T> {
    return this.scopes.run([...(this.scopes.getStore() ?? []), label], fn);
  }

  currentLabel(step?: string): string {
    const scopes = this.scopes.getStore() ?? [];
    const parts = step ? [...scopes, step] : scopes;
    return parts.length ? parts.join('.') : '(none)';
  }

  private labelEntry(label: string): Traffic {
    return (this.labels[label] ??= zero());
  }

  record(link: LinkName, dir: 'sent' | 'recv', bytes: number, step?: Attribution): void {
    const l = this.links[link];
    if (dir === 'sent') l.sentBytes += bytes;
    else l.recvBytes += bytes;
    l.frames++;
    const p = this.phaseEntry();
    if (link === 'peer') {
      if (dir === 'sent') p.sentBytes += bytes;
      else p.recvBytes += bytes;
      p.frames++;
      const split = typeof step === 'object' ? step : [{ label: this.currentLabel(step), bytes }];
      split.forEach((e, i) => {
        const lab = this.labelEntry(e.label);
        if (dir === 'sent') lab.sentBytes += e.bytes;
        else lab.recvBytes += e.bytes;
        if (i === 0) lab.frames++;
      });
    }
  }

  /**
   * Attributes a consumed correlation item to the current phase. The dealer streams ahead, so
   * bytes are charged when a protocol takes the item, not when the socket delivers it.
   */
  recordDealerItem(bytes: number): void {
    this.phaseEntry().dealerRecvBytes += bytes;
  }

  /** Awaits `p` and charges the time to waiting on `link` in the current phase. */
  async waitOn<T>(link: LinkName, p: Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await p;
    } finally {
      this.phaseEntry().waitMs[link] += performance.now() - t0;
    }
  }

  round(step?: Attribution): void {
    this.links.peer.rounds++;
    this.phaseEntry().rounds++;
    this.labelEntry(typeof step === 'object' ? step[0]!.label : this.currentLabel(step)).rounds++;
  }

  report(): MeterReport {
    this.closePhase();
    return structuredClone({ links: this.links, phases: this.phases, labels: this.labels });
  }

  reset(): void {
    this.links = { peer: zero(), dealer: zero(), client: zero() };
    this.phases = {};
    this.labels = {};
    this.phase = 'setup';
    this.phaseStart = performance.now();
  }
}
