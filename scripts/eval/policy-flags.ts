/**
 * Command-line flags for KV-cache policy options, shared by `npm run eval` and `npm run study`:
 *
 *   --budget <fraction|tokens>  attended tokens per step (default: static ratio × dynamic ratio of the prompt)
 *   --static-ratio r  --dynamic-ratio r  --window-ratio r  --static-block n  --lookback n  --alpha a
 *   --clusters 4,2  --level-ratio r  --share-layers n  --dense-layers n  --sinks n  --recent-ratio r
 *   --window n  --pool k  --page n
 *   ablation switches: --single-level --quest-score --no-share --no-static --static-sum
 */
import { parsePolicyOptions, type PolicyOptions } from '../../shared/kvcache/index.js';
import { MpcError } from '../../shared/util/index.js';

/** Flag name → option name, for flags holding one number. */
const NUMERIC: Readonly<Record<string, keyof PolicyOptions>> = {
  budget: 'budget', 'static-ratio': 'staticRatio', 'dynamic-ratio': 'dynamicRatio', 'window-ratio': 'windowRatio', alpha: 'alpha',
  'static-block': 'staticBlock', lookback: 'lookback',
  'level-ratio': 'levelRatio', 'share-layers': 'shareLayers', 'dense-layers': 'denseLayers', sinks: 'sinks',
  'recent-ratio': 'recentRatio', window: 'window', pool: 'pool', page: 'page',
};
const SWITCHES = ['single-level', 'quest-score', 'no-share', 'no-static', 'static-sum'] as const;

/** Options for node:util parseArgs. */
export const POLICY_FLAGS = {
  ...Object.fromEntries(Object.keys(NUMERIC).map((k) => [k, { type: 'string' as const }])),
  clusters: { type: 'string' as const },
  ...Object.fromEntries(SWITCHES.map((k) => [k, { type: 'boolean' as const }])),
};

/**
 * Splits camelCased flags (config/argv.ts `splitArgv`) into policy flags (kebab-case keys, for
 * `policyOptionsFromFlags`) and the rest.
 */
export function splitPolicyFlags(flags: Readonly<Record<string, string | true>>): { policy: Record<string, string | true>; rest: Record<string, string | true> } {
  const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  const policy: Record<string, string | true> = {}, rest: Record<string, string | true> = {};
  for (const [k, v] of Object.entries(flags)) {
    if (kebab(k) in POLICY_FLAGS) policy[kebab(k)] = v;
    else rest[k] = v;
  }
  return { policy, rest };
}

function num(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new MpcError('E_CONFIG', `--${flag} must be a number`);
  return x;
}

/**
 * Policy options from parsed flags (validated; the ablation switches applied last).
 * @throws MpcError E_CONFIG naming the bad flag.
 */
export function policyOptionsFromFlags(values: Readonly<Record<string, unknown>>): PolicyOptions {
  const raw: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const v = values[flag];
    if (typeof v === 'string') raw[key] = num(flag, v);
  }
  if (typeof values['clusters'] === 'string') raw['clusters'] = values['clusters'].split(',').map((c) => num('clusters', c));
  const o = parsePolicyOptions(raw);
  const last = o.clusters[o.clusters.length - 1] as number;
  return {
    ...o,
    ...(values['single-level'] === true ? { clusters: [last] } : {}),
    ...(values['quest-score'] === true ? { score: 'bound' as const } : {}),
    ...(values['no-share'] === true ? { shareLayers: 1 } : {}),
    ...(values['no-static'] === true ? { static: false } : {}),
    ...(values['static-sum'] === true ? { staticScore: 'sum' as const } : {}),
  };
}
