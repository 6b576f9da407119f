/**
 * Command-line flags for KV-cache policy options, shared by `npm run eval`, `npm run study`,
 * `npm start` and `npm run bench`: a zod shape spread into each command's flags
 * (shared/config/cli.ts), and the function from the parsed flags to PolicyOptions.
 *
 *   --budget <fraction|tokens>  attended tokens per step (default: static ratio × dynamic ratio of the prompt)
 *   --static-ratio r  --dynamic-ratio r  --window-ratio r  --static-block n  --lookback n  --alpha a
 *   --clusters 4,2  --level-ratio r  --share-layers n  --dense-layers n  --sinks n  --recent-ratio r
 *   --window n  --pool k  --page n
 *   ablation switches: --single-level --quest-score --no-share --no-static --static-sum
 *
 * Every flag is optional without a default here: the defaults (shown by --help) live in
 * shared/kvcache/options.ts, which also validates the values.
 */
import { z } from 'zod';
import { kebab } from '../../shared/config/index.js';
import { parsePolicyOptions, type PolicyOptions } from '../../shared/kvcache/index.js';

const DEFAULTS = parsePolicyOptions({});

/** A number flag named as its option, with the option's default in the help text. */
const num = (key: keyof PolicyOptions, what: string) => {
  const d = DEFAULTS[key];
  return z
    .number()
    .optional()
    .describe(d === undefined ? what : `${what} (default: ${String(d)})`);
};
const ablation = (what: string) => z.boolean().optional().describe(`ablation: ${what}`);

/** The policy flags; keys are PolicyOptions names, except the five ablation switches. */
export const POLICY_FLAGS = {
  budget: num(
    'budget',
    'attended tokens per step: a fraction of the prompt (< 1) or a count (default: static ratio × dynamic ratio of the prompt)',
  ),
  staticRatio: num('staticRatio', 'MPCache: fraction of the prompt the static eviction keeps'),
  dynamicRatio: num(
    'dynamicRatio',
    'MPCache: fraction of the static survivors attended per step; below 1 turns on the dynamic step (1: none, the default; the paper: 0.2)',
  ),
  windowRatio: num('windowRatio', 'MPCache: fraction of the prompt (its last queries) that scores the static eviction'),
  staticBlock: num('staticBlock', 'MPCache: static eviction keeps whole blocks of this many tokens'),
  lookback: num('lookback', "MPCache: a block's static score also counts this many blocks before it"),
  alpha: num('alpha', 'MPCache: weight of kmax in the cluster score'),
  clusters: z
    .array(z.number())
    .optional()
    .describe(
      `MPCache: cluster sizes, coarse to fine, each dividing the previous (default: ${DEFAULTS.clusters.join(',')})`,
    ),
  levelRatio: num('levelRatio', 'MPCache: fraction of the clusters of each coarser level kept as parents'),
  shareLayers: num('shareLayers', 'MPCache: adjacent layers sharing one selection'),
  denseLayers: num('denseLayers', 'every policy: the first layers attend to the full cache'),
  sinks: num('sinks', 'StreamingLLM: attention-sink tokens'),
  recentRatio: num('recentRatio', 'H2O: fraction of the budget given to the most recent tokens'),
  window: num('window', 'SnapKV: observation window and recent tokens kept'),
  pool: num('pool', 'SnapKV: max-pooling kernel (odd)'),
  page: num('page', 'Quest: page size'),
  singleLevel: ablation('one cluster level, the finest'),
  questScore: ablation("Quest's bound as the cluster score"),
  noShare: ablation('no cross-layer sharing (share layers 1)'),
  noStatic: ablation('no static eviction at prefill'),
  staticSum: ablation('static scores summed, not maxed'),
};

type PolicyFlagValues = { readonly [K in keyof typeof POLICY_FLAGS]?: z.infer<(typeof POLICY_FLAGS)[K]> };

const SWITCHES = ['singleLevel', 'questScore', 'noShare', 'noStatic', 'staticSum'] as const;

/** The policy flags given on the command line, as `--flag` (for commands where they need --policy). */
export function givenPolicyFlags(values: PolicyFlagValues): string[] {
  return Object.keys(POLICY_FLAGS)
    .filter((k) => values[k as keyof PolicyFlagValues] !== undefined)
    .map((k) => `--${kebab(k)}`);
}

/**
 * Policy options from parsed flags (validated; the ablation switches applied last).
 * @throws MpcError E_CONFIG naming the bad option.
 */
export function policyOptionsOf(values: PolicyFlagValues): PolicyOptions {
  const raw = Object.fromEntries(
    Object.keys(POLICY_FLAGS)
      .filter((k) => !(SWITCHES as readonly string[]).includes(k) && values[k as keyof PolicyFlagValues] !== undefined)
      .map((k) => [k, values[k as keyof PolicyFlagValues]]),
  );
  const o = parsePolicyOptions(raw);
  const last = o.clusters[o.clusters.length - 1] as number;
  return {
    ...o,
    ...(values.singleLevel === true ? { clusters: [last] } : {}),
    ...(values.questScore === true ? { score: 'bound' as const } : {}),
    ...(values.noShare === true ? { shareLayers: 1 } : {}),
    ...(values.noStatic === true ? { static: false } : {}),
    ...(values.staticSum === true ? { staticScore: 'sum' as const } : {}),
  };
}
