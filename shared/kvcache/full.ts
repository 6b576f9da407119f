/**
 * The full cache: every token stored and attended, exactly `FULL_ATTENTION` (the ceiling every
 * policy is compared with). Input-independent: nothing is selected.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import { BaseSession } from './session.js';
import { kvOps } from './kv-ops.js';
import type { KvPolicy, KvSession, SequenceInfo } from './types.js';

class FullSession<B extends BackendTypes> extends BaseSession<B> {
  protected async select(): Promise<null> {
    return null;
  }
}

export function full(): KvPolicy {
  return {
    name: 'full',
    inputDependent: false,
    settings: { budget: 'all' },
    budget: () => Infinity,
    begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B> {
      return new FullSession(kvOps(ops, seq.onSelection), seq, 0);
    },
  };
}
