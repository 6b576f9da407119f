/**
 * The declared cost of a private generation, per phase, without running any protocol: the
 * generation program over DealerPrims on shapes, with a correlation source that adds up each item's
 * rounds and bytes (protocol/cost.ts) under the phase the program is in. Costs depend on public
 * shapes and the schedule only, never on weights or data, so this is exactly what a secure run meters
 * (test/runtime/declared-generation.test.ts checks it against the meter, byte for byte) and it takes
 * seconds where a run takes minutes: the eviction Pareto report uses it for every setting.
 */
import { shapeOnly, type ShapeOnly } from '../../shared/ring/tensor.js';
import { Material, type CorrKind } from '../../shared/corr/kind.js';
import type { CorrSource } from '../../shared/corr/stream.js';
import { tensorFrameBytes, type Part } from '../../shared/net/frame.js';
import { CostSource, type Cost } from '../../shared/protocol/cost.js';
import { DealerPrims } from '../../shared/protocol/prims/dealer.js';
import type { FixedHandle } from '../../shared/protocol/prims/types.js';
import type { ModelConfig } from '../../shared/model/llama-config.js';
import { anyRingSpec, loadAnyRingModel } from '../../shared/model/ring/any-model.js';
import { STANDARD_NL } from '../../shared/model/ring/recipes.js';
import type { RingNonlinear } from '../../shared/model/ring/ops.js';
import {
  DEALER_TOKEN_IO,
  generationProgram,
  parseGenerateParams,
  type ClientTokens,
  type GenerateRequest,
} from '../../shared/runtime/generation.js';

export interface PhaseDeclared extends Cost {
  /** Dealer bytes to party 1 with frame headers (what party 1's meter records). */
  dealerFrameBytes: number;
}

/** A cost source that keeps one Cost per phase. */
class PhasedCost implements CorrSource {
  readonly phases = new Map<string, PhaseDeclared>();
  private current = new CostSource();
  private name = 'setup';
  get digest(): number {
    return 0;
  }
  get seq(): number {
    return 0;
  }

  setPhase(name: string): void {
    this.name = name;
    this.current = new CostSource();
  }

  async take<P>(kind: CorrKind<P>, params: P): Promise<Material> {
    await this.current.take(kind, params);
    const fields = kind.fields(params).filter((f) => f.correlated);
    const e = this.phases.get(this.name) ?? {
      rounds: 0,
      frameBytes: 0,
      payloadBytes: 0,
      dealerBytes: 0,
      items: 0,
      dealerFrameBytes: 0,
    };
    const c = this.current.cost;
    Object.assign(e, {
      rounds: c.rounds,
      frameBytes: c.frameBytes,
      payloadBytes: c.payloadBytes,
      dealerBytes: c.dealerBytes,
      items: c.items,
    });
    // every item travels to party 1 as one frame of its correlated fields (an empty one included)
    e.dealerFrameBytes += tensorFrameBytes(
      fields.map((f) => ({
        kind: f.type === 'ring' ? 'u64' : 'bytes',
        data: { byteLength: f.type === 'ring' ? 8 * f.count : f.count },
      })) as unknown as Part[],
    );
    this.phases.set(this.name, e);
    return new Material();
  }
}

class PhasedDealerPrims extends DealerPrims {
  constructor(private readonly src: PhasedCost) {
    super(src);
  }
  override phase(name: string): void {
    this.src.setPhase(name);
  }
}

/**
 * Declared cost per phase ('setup' = the model load, 'prefill', 'decode.0', …) of a generation,
 * with the standard non-linear suite or another (e.g. one fixed design, for nl-costs).
 */
export async function declaredGeneration(
  config: ModelConfig,
  request: GenerateRequest,
  nl: RingNonlinear = STANDARD_NL,
): Promise<Map<string, PhaseDeclared>> {
  const src = new PhasedCost();
  const P = new PhasedDealerPrims(src);
  const spec = new Map(anyRingSpec(config));
  const model = await loadAnyRingModel<ShapeOnly, FixedHandle, ClientTokens>(P, config, (n) =>
    shapeOnly(spec.get(n)!.shape, spec.get(n)!.fracBits),
  );
  await generationProgram(P, nl, DEALER_TOKEN_IO, model, parseGenerateParams(request));
  return src.phases;
}

/** Declared cost per decoded token: the mean over a generation's decoding steps. */
export interface PerToken {
  /** Online bytes party 0 sends, with frame headers. */
  bytes: number;
  rounds: number;
  /** Dealer bytes to party 1, with frame headers. */
  dealer: number;
}

/**
 * The declared cost per decoded token of `tokens` new tokens whose last step attends a context of
 * `ctx` (a prompt of ctx − tokens + 1), as `npm run bench` runs its cells.
 */
export async function declaredPerToken(
  config: ModelConfig,
  cell: { ctx: number; tokens: number; prefill: 'secure' | 'revealed'; policy: string; options: object },
): Promise<PerToken> {
  const phases = await declaredGeneration(config, {
    shareId: '0'.repeat(32),
    promptLen: cell.ctx - (cell.tokens - 1),
    maxNewTokens: cell.tokens,
    prefill: cell.prefill,
    ...(cell.policy === 'full' ? {} : { policy: cell.policy, policyOptions: cell.options as never }),
  });
  const steps = [...phases].filter(([name]) => name.startsWith('decode.')).map(([, c]) => c);
  const mean = (g: (c: PhaseDeclared) => number): number => steps.reduce((s, c) => s + g(c), 0) / steps.length;
  return { bytes: mean((c) => c.frameBytes), rounds: mean((c) => c.rounds), dealer: mean((c) => c.dealerFrameBytes) };
}
