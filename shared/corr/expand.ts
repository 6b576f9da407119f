/**
 * Turning seeds into correlation material, for both parties and for the dealer.
 *
 * Order matters: a party's PRG stream is consumed field by field in declaration order, and the
 * dealer mirrors it exactly (party 0: every field; party 1: free fields only, its correlated
 * fields come from the dealer). Items are consumed in schedule order, so stream positions agree.
 */
import { invariant } from '../util/errors.js';
import type { Prg } from '../ring/prg.js';
import { Material, type CorrKind, type FieldSpec } from './kind.js';
import type { DealerEnv } from './env.js';

function fresh(f: FieldSpec): BigUint64Array | Uint8Array {
  return f.type === 'ring' ? new BigUint64Array(f.count) : new Uint8Array(f.count);
}

/** Party 0's share of every field, or party 1's share of the free fields. */
export function expandShare(prg: Prg, fields: readonly FieldSpec[], onlyFree: boolean): Material {
  const m = new Material();
  for (const f of fields) {
    if (onlyFree && f.correlated) continue;
    const v = fresh(f);
    prg.fillInto(v);
    m.set(f.name, v);
  }
  return m;
}

/**
 * The dealer's work for one item: expands both parties' shares, reconstructs the free fields,
 * derives the correlated ones and returns party 1's correction for each correlated field
 * (in field order), ready to send.
 */
export function dealItem<P>(
  kind: CorrKind<P>,
  p: P,
  fields: readonly FieldSpec[],
  prg0: Prg,
  prg1: Prg,
  env: DealerEnv,
): Array<BigUint64Array | Uint8Array> {
  const s0 = expandShare(prg0, fields, false);
  const s1 = expandShare(prg1, fields, true);
  const free = new Material();
  for (const f of fields) {
    if (f.correlated) continue;
    if (f.type === 'ring') {
      const a = s0.ring(f.name),
        b = s1.ring(f.name);
      const t = new BigUint64Array(f.count);
      for (let i = 0; i < t.length; i++) t[i] = a[i]! + b[i]!;
      free.set(f.name, t);
    } else {
      const a = s0.xor(f.name),
        b = s1.xor(f.name);
      const t = new Uint8Array(f.count);
      for (let i = 0; i < t.length; i++) t[i] = a[i]! ^ b[i]!;
      free.set(f.name, t);
    }
  }
  const truth = kind.derive(free, p, env, s0);
  const out: Array<BigUint64Array | Uint8Array> = [];
  for (const f of fields) {
    if (!f.correlated) continue;
    if (f.type === 'ring') {
      const t = truth.ring(f.name),
        a = s0.ring(f.name);
      invariant(
        t.length === f.count,
        'E_INTERNAL',
        `${kind.name}.${f.name}: derived ${t.length} elements, declared ${f.count}`,
      );
      const c = new BigUint64Array(f.count);
      for (let i = 0; i < c.length; i++) c[i] = t[i]! - a[i]!;
      out.push(c);
    } else {
      const t = truth.xor(f.name),
        a = s0.xor(f.name);
      invariant(
        t.length === f.count,
        'E_INTERNAL',
        `${kind.name}.${f.name}: derived ${t.length} bytes, declared ${f.count}`,
      );
      const c = new Uint8Array(f.count);
      for (let i = 0; i < c.length; i++) c[i] = t[i]! ^ a[i]!;
      out.push(c);
    }
  }
  return out;
}

/** Party 1's material: its free fields from its seed plus the dealer's corrections. */
export function assembleParty1(
  prg1: Prg,
  fields: readonly FieldSpec[],
  corrections: ReadonlyArray<BigUint64Array | Uint8Array>,
): Material {
  const m = expandShare(prg1, fields, true);
  let k = 0;
  for (const f of fields) {
    if (!f.correlated) continue;
    const c = corrections[k++];
    invariant(c !== undefined, 'E_CORR_MISMATCH', `missing correction for field ${f.name}`);
    if (f.type === 'ring') {
      invariant(
        c instanceof BigUint64Array && c.length === f.count,
        'E_CORR_MISMATCH',
        `field ${f.name}: expected ${f.count} ring elements`,
      );
      m.set(f.name, c);
    } else {
      invariant(
        c instanceof Uint8Array && c.length === f.count,
        'E_CORR_MISMATCH',
        `field ${f.name}: expected ${f.count} bytes`,
      );
      m.set(f.name, c);
    }
  }
  return m;
}
