/**
 * The committed embedded Llama (models/tiny-llama, made by scripts/train/train_tiny_gpt2.py --arch llama
 * --export): Hugging Face Llama layout (names, shapes, F32, tied embeddings, byte tokenizer with EOT
 * 256), and the float64 forward equal to transformers' LlamaForCausalLM on its fixture (fixture.json:
 * transformers' float64 logits at positions up to ~1,500, so RoPE far from 0 is covered).
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync, statSync } from 'node:fs';
import { createState, floatOps, forward, loadLlama } from '../../shared/model/index.js';
import { projectPath } from '../../shared/util/index.js';

const dir = projectPath('models', 'tiny-llama');
const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, number>;

function expectedShapes(): Map<string, number[]> {
  const d = config['hidden_size']!;
  const hd = config['head_dim']!;
  const [h, g, m] = [config['num_attention_heads']!, config['num_key_value_heads']!, config['intermediate_size']!];
  const shapes = new Map<string, number[]>([
    ['model.embed_tokens.weight', [config['vocab_size']!, d]],
    ['model.norm.weight', [d]],
  ]);
  for (let i = 0; i < config['num_hidden_layers']!; i++) {
    const p = `model.layers.${i}.`;
    shapes.set(`${p}input_layernorm.weight`, [d]);
    shapes.set(`${p}post_attention_layernorm.weight`, [d]);
    shapes.set(`${p}self_attn.q_proj.weight`, [h * hd, d]);
    shapes.set(`${p}self_attn.k_proj.weight`, [g * hd, d]);
    shapes.set(`${p}self_attn.v_proj.weight`, [g * hd, d]);
    shapes.set(`${p}self_attn.o_proj.weight`, [d, h * hd]);
    shapes.set(`${p}mlp.gate_proj.weight`, [m, d]);
    shapes.set(`${p}mlp.up_proj.weight`, [m, d]);
    shapes.set(`${p}mlp.down_proj.weight`, [d, m]);
  }
  return shapes;
}

describe('models/tiny-llama', () => {
  test('config.json is HF Llama with grouped-query attention, tied embeddings and the byte tokenizer', () => {
    expect(config).toMatchObject({
      model_type: 'llama',
      num_hidden_layers: 4,
      hidden_size: 128,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 2048,
      vocab_size: 257,
      tie_word_embeddings: true,
      tokenizer: 'byte',
      eot_token_id: 256,
    });
    expect(loadLlama(dir).config).toMatchObject({ arch: 'llama', nKvHead: 2, headDim: 64, tieWordEmbeddings: true });
  });

  test('model.safetensors holds exactly the HF Llama tensors (no lm_head), float32, under 16 MB', () => {
    expect(statSync(`${dir}/model.safetensors`).size).toBeLessThan(16 * 2 ** 20);
    const buf = readFileSync(`${dir}/model.safetensors`);
    const headerLen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[] }
    >;
    delete header['__metadata__'];
    const want = expectedShapes();
    expect(Object.keys(header).sort()).toEqual([...want.keys()].sort());
    for (const [name, t] of Object.entries(header))
      expect([name, t.dtype, t.shape]).toEqual([name, 'F32', want.get(name)]);
  });

  test("float64 logits equal transformers' (fixture.json) within 1e-9", async () => {
    const fx = JSON.parse(readFileSync(`${dir}/fixture.json`, 'utf8')) as {
      ids: number[];
      positions: number[];
      logits: number[][];
    };
    expect(fx.ids[0]).toBe(256);
    expect(fx.positions.at(-1)).toBeGreaterThan(1000);
    const w = loadLlama(dir);
    const state = createState(floatOps, w.config, fx.ids.length);
    const out = (await forward(floatOps, await floatOps.prepareLlama(w), state, fx.ids, { logits: 'all' }))!.data;
    const V = w.config.vocabSize;
    let d = 0;
    fx.positions.forEach((p, i) => fx.logits[i]!.forEach((v, j) => (d = Math.max(d, Math.abs(v - out[p * V + j]!)))));
    console.log(`models/tiny-llama: float64 vs transformers, largest logit difference ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-9);
  });
});
