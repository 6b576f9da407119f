/**
 * What a policy works with: a backend's forward-pass `Ops` joined with the `EvictionOps` this
 * folder implements for it (float64: float-eviction.ts; the ring backends — emulation, parties,
 * dealer — ring-eviction.ts over the backend's Prims). One set of eviction ops per backend
 * instance, so the fixed-mask matrices it allocates (cluster series, views) are named once.
 */
import type { AnyTensor } from '../ring/tensor.js';
import type { FixedHandle } from '../protocol/prims/types.js';
import { MpcError } from '../util/errors.js';
import type { BackendTypes, Ops, TensorLike } from '../model/index.js';
import { RingOps } from '../model/ring/ops.js';
import type { EvictionOps } from './eviction-ops.js';
import { floatEvictionOps } from './float-eviction.js';
import { RingEviction, type SelectionHook } from './ring-eviction.js';

export type KvOps<B extends BackendTypes> = Ops<B> & EvictionOps<B['tensor'], B['cache']>;

const EVICTION_METHODS = [
  'slice',
  'concat',
  'expandSelection',
  'publicSelection',
  'cacheKeys',
  'topk',
  'gather',
  'gatherCache',
  'blockMinMax',
  'clusterScores',
  'prepareScores',
  'childScores',
  'childSelection',
  'sumQueries',
  'maxQueries',
  'blockScores',
  'maxPool',
] as const satisfies ReadonlyArray<keyof EvictionOps<TensorLike, unknown>>;

const joined = new WeakMap<object, KvOps<BackendTypes>>();

function evictionFor(
  ops: Ops<BackendTypes>,
  onSelection: SelectionHook<AnyTensor> | undefined,
): EvictionOps<TensorLike, unknown> {
  if (ops instanceof RingOps) {
    const r = ops as RingOps<AnyTensor, FixedHandle, { length: number }>;
    return new RingEviction(r.P, r.f, (h, hd, cap) => r.createCache(h, hd, cap), onSelection) as unknown as EvictionOps<
      TensorLike,
      unknown
    >;
  }
  if (ops.name === 'float64') return floatEvictionOps as unknown as EvictionOps<TensorLike, unknown>;
  throw new MpcError('E_INTERNAL', `no eviction ops for the '${ops.name}' backend`);
}

/**
 * `ops` with the eviction ops of its backend (made once per backend instance). `onSelection`
 * (ring backends, tests and the revealSelections hook) sees every selection a policy makes; it is
 * taken from the first call for an instance.
 */
export function kvOps<B extends BackendTypes>(ops: Ops<B>, onSelection?: SelectionHook<B['tensor']>): KvOps<B> {
  const done = joined.get(ops);
  if (done) return done as unknown as KvOps<B>;
  const ev = evictionFor(
    ops as unknown as Ops<BackendTypes>,
    onSelection as SelectionHook<AnyTensor> | undefined,
  ) as unknown as Record<string, unknown>;
  // every method runs on its own object (the backend keeps state, e.g. its cache counter), bound once
  const bound = new Map<PropertyKey, unknown>();
  const ours = new Set<PropertyKey>(EVICTION_METHODS.filter((m) => typeof ev[m] === 'function'));
  const kv = new Proxy(ops as object, {
    get(target, key) {
      if (!ours.has(key)) {
        const v = Reflect.get(target, key, target);
        if (typeof v !== 'function') return v;
        if (!bound.has(key)) bound.set(key, (v as (...a: unknown[]) => unknown).bind(target));
        return bound.get(key);
      }
      if (!bound.has(key)) bound.set(key, (ev[key as string] as (...a: unknown[]) => unknown).bind(ev));
      return bound.get(key);
    },
    has: (target, key) => ours.has(key) || Reflect.has(target, key),
  });
  joined.set(ops, kv as unknown as KvOps<BackendTypes>);
  return kv as unknown as KvOps<B>;
}
