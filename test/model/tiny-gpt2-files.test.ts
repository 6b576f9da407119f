/**
 * The committed default model (models/tiny-gpt2, made by scripts/train/train_tiny_gpt2.py --export) has
 * the Hugging Face GPT-2 layout the loader expects: names, shapes, dtype, a consistent safetensors
 * header, and a usable fixture.
 */
import { readFileSync, statSync } from 'node:fs';
import { projectPath } from '../../shared/util/index.js';

const dir = projectPath('models', 'tiny-gpt2');
const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, unknown>;

function expectedShapes(): Map<string, number[]> {
  const d = config['n_embd'] as number;
  const m = new Map<string, number[]>([
    ['wte.weight', [config['vocab_size'] as number, d]],
    ['wpe.weight', [config['n_positions'] as number, d]],
    ['ln_f.weight', [d]],
    ['ln_f.bias', [d]],
  ]);
  for (let i = 0; i < (config['n_layer'] as number); i++) {
    const p = `h.${i}.`;
    for (const ln of ['ln_1', 'ln_2']) {
      m.set(`${p}${ln}.weight`, [d]);
      m.set(`${p}${ln}.bias`, [d]);
    }
    m.set(`${p}attn.c_attn.weight`, [d, 3 * d]);
    m.set(`${p}attn.c_attn.bias`, [3 * d]);
    m.set(`${p}attn.c_proj.weight`, [d, d]);
    m.set(`${p}attn.c_proj.bias`, [d]);
    m.set(`${p}mlp.c_fc.weight`, [d, 4 * d]);
    m.set(`${p}mlp.c_fc.bias`, [4 * d]);
    m.set(`${p}mlp.c_proj.weight`, [4 * d, d]);
    m.set(`${p}mlp.c_proj.bias`, [d]);
  }
  return m;
}

describe('models/tiny-gpt2', () => {
  it('config.json is GPT-2 style with the byte tokenizer', () => {
    expect(config).toMatchObject({
      n_layer: 4,
      n_head: 4,
      n_embd: 128,
      n_positions: 2048,
      vocab_size: 257,
      layer_norm_epsilon: 1e-5,
      activation_function: 'gelu_new',
      tokenizer: 'byte',
      eot_token_id: 256,
    });
  });

  it('model.safetensors holds exactly the HF GPT-2 tensors, float32, tightly packed, under 16 MB', () => {
    const buf = readFileSync(`${dir}/model.safetensors`);
    expect(statSync(`${dir}/model.safetensors`).size).toBeLessThan(16 * 2 ** 20);
    const headerLen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    delete header['__metadata__'];
    const want = expectedShapes();
    expect(Object.keys(header).sort()).toEqual([...want.keys()].sort());
    const spans: Array<[number, number]> = [];
    for (const [name, t] of Object.entries(header)) {
      expect([name, t.dtype]).toEqual([name, 'F32']);
      expect([name, t.shape]).toEqual([name, want.get(name)]);
      expect(t.data_offsets[1] - t.data_offsets[0]).toBe(4 * t.shape.reduce((a, b) => a * b, 1));
      spans.push(t.data_offsets);
    }
    spans.sort((a, b) => a[0] - b[0]);
    let end = 0;
    for (const [s, e] of spans) {
      expect(s).toBe(end);
      end = e;
    }
    expect(8 + headerLen + end).toBe(buf.length);
  });

  it('fixture.json has ids starting with BOS and float64 logits for its last 3 positions', () => {
    const fx = JSON.parse(readFileSync(`${dir}/fixture.json`, 'utf8')) as {
      ids: number[];
      positions: number[];
      logits: number[][];
      argmax: number[];
    };
    expect(fx.ids[0]).toBe(256);
    expect(fx.ids.length).toBeGreaterThanOrEqual(30);
    expect(fx.positions).toEqual([fx.ids.length - 3, fx.ids.length - 2, fx.ids.length - 1]);
    expect(fx.logits.length).toBe(3);
    fx.logits.forEach((row, i) => {
      expect(row.length).toBe(257);
      expect(row.every(Number.isFinite)).toBe(true);
      expect(row.indexOf(Math.max(...row))).toBe(fx.argmax[i]);
    });
  });
});
