"""Exports a training run to models/tiny-gpt2/ (or, for --arch llama runs, models/tiny-llama/):
model.safetensors (float32, Hugging Face GPT-2 names and Conv1D layouts, or HF Llama names; no lm_head
since the embedding is tied), config.json (HF style + tokenizer), training.json (recipe, curriculum,
cost, metrics, learning-curve summary) and fixture.json (float64 logits of a fixed prompt, for testing
the TypeScript float64 reference to ~1e-9)."""
import importlib.util
import json
import os
import platform

import torch
from safetensors.torch import save_file

import tiny_llama
from evaluate import build_model
from tiny_gpt2 import TinyGPT2, hf_state_dict
from tiny_llama import TinyLlama

FIXTURE_PROMPT = 'The pass key is 4127. Remember it. The pass key is'  # BOS + 50 bytes
# Llama: positions reach 1,500 so that RoPE far from 0 is checked too (BOS + 1,485 bytes of filler + the prompt).
LONG_FILLER = 'The grass is green. The sky is blue. The sun is yellow. Here we go. ' * 22


def fixture(model):
    if isinstance(model, TinyLlama):
        return llama_fixture(model)
    m = TinyGPT2(model.config).double().eval()
    m.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    ids = [256] + list(FIXTURE_PROMPT.encode('utf-8'))
    with torch.no_grad():
        logits, _, _ = m(torch.tensor([ids]), fused=False)
    last = logits[0, -3:]
    return {
        'description': 'float64 PyTorch logits of the exported weights (upcast from float32) for a fixed prompt; '
                       'ids include BOS = 256 first. Regenerate: train_tiny_gpt2.py --run RUN --export.',
        'prompt': FIXTURE_PROMPT,
        'ids': ids,
        'positions': list(range(len(ids) - 3, len(ids))),
        'logits': [[float(x) for x in row] for row in last.tolist()],
        'argmax': [int(x) for x in last.argmax(-1).tolist()],
        'dtype': 'float64',
    }


def hf_check(out_dir, fx):
    """If Hugging Face transformers is installed, loads the export with GPT2LMHeadModel (float64, eager
    attention) and returns the largest logit difference to the fixture; None otherwise."""
    try:
        from transformers import GPT2LMHeadModel
    except ImportError:
        return None
    m = GPT2LMHeadModel.from_pretrained(out_dir, dtype=torch.float64, attn_implementation='eager').eval()
    with torch.no_grad():
        logits = m(torch.tensor([fx['ids']])).logits[0, -3:]
    return float((logits - torch.tensor(fx['logits'], dtype=torch.float64)).abs().max())


def llama_fixture(model):
    """The same fields as fixture(), from transformers' LlamaForCausalLM in float64 with its two float32
    parts (RMSNorm input, RoPE tables) computed in float64 (scripts/fixtures/tiny-llama.py), so the
    TypeScript float64 forward is compared with transformers itself; filled in by llama_hf_check."""
    text = LONG_FILLER + FIXTURE_PROMPT
    ids = [256] + list(text.encode('utf-8'))
    return {
        'description': 'float64 logits of transformers LlamaForCausalLM on the exported weights (float32 upcast), with '
                       'LlamaRMSNorm and LlamaRotaryEmbedding patched to float64 (scripts/fixtures/tiny-llama.py '
                       'float64_everywhere); ids include BOS = 256 first. Regenerate: train_tiny_gpt2.py --run RUN --export.',
        'prompt': text,
        'ids': ids,
        'positions': list(range(len(ids) - 3, len(ids))),
        'dtype': 'float64',
    }


def _fixture_script():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'tiny-llama.py')
    spec = importlib.util.spec_from_file_location('tiny_llama_fixture', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def llama_hf_check(out_dir, fx, model):
    """Fills fx's logits from transformers (patched to float64) and returns the differences to this
    trainer's PyTorch module (float64) and to unpatched transformers (float32 RMSNorm input and RoPE)."""
    from transformers import LlamaForCausalLM
    fs = _fixture_script()
    hf = LlamaForCausalLM.from_pretrained(out_dir, dtype=torch.float64, attn_implementation='sdpa').eval()
    ids = torch.tensor([fx['ids']])
    with torch.no_grad():
        unpatched = hf(ids).logits[0, -3:]
        saved = dict(fs.ORIGINAL)
        fs.float64_everywhere()
        logits = hf(ids).logits[0, -3:]
        fs.restore(saved)
        m = TinyLlama(model.config).double().eval()
        m.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
        own = m(ids, fused=False)[0][0, -3:]
    fx['logits'] = [[float(x) for x in row] for row in logits.tolist()]
    fx['argmax'] = [int(x) for x in logits.argmax(-1).tolist()]
    return {'pytorch_trainer_module_vs_transformers': float((own - logits).abs().max()),
            'transformers_float32_parts_vs_float64': float((unpatched - logits).abs().max())}


TS_CHECK = """
import { readFileSync } from 'node:fs';
import { createState, floatOps, forward } from './dist/shared/model/index.js';
import { loadAnyModel, prepareAnyModel } from './dist/shared/model/ring/any-model.js';
const dir = process.argv[1];
const fx = JSON.parse(readFileSync(dir + '/fixture.json', 'utf8'));
const w = loadAnyModel(dir);
const params = await prepareAnyModel(floatOps, w);
const state = createState(floatOps, w.config, fx.ids.length);
const out = (await forward(floatOps, params, state, fx.ids, { logits: 'all' })).data;
const V = fx.logits[0].length, n = fx.ids.length;
let d = 0;
fx.positions.forEach((p, i) => fx.logits[i].forEach((v, j) => { d = Math.max(d, Math.abs(v - out[p * V + j])); }));
process.stdout.write(JSON.stringify(d));
"""


def ts_check(out_dir):
    """Largest |logit difference| between the project's TypeScript float64 forward (dist/, `npm run build`)
    and fixture.json's transformers logits."""
    import subprocess
    from data import REPO
    p = subprocess.run(['node', '--input-type=module', '-e', TS_CHECK, os.path.abspath(out_dir)], cwd=REPO,
                       capture_output=True, text=True, check=True)
    return float(p.stdout)


def curve_summary(curve, evals, points=60):
    every = max(1, len(curve) // points)
    rows = [r for i, r in enumerate(curve) if (i + 1) % every == 0 or i == len(curve) - 1]
    return {'loss': [{k: r[k] for k in ('step', 'tokens', 'T', 'loss', 'lm', 'ans', 'sec')} for r in rows],
            'monitor_teacher_forced_exact_match': evals}


def run_export(a):
    ck = torch.load(os.path.join(a.run, 'ckpt.pt'), weights_only=False)
    model = build_model(ck['config'])
    model.load_state_dict(ck['model'])
    cfg = model.config
    os.makedirs(a.out, exist_ok=True)
    llama = isinstance(model, TinyLlama)
    sd = tiny_llama.hf_state_dict(model) if llama else hf_state_dict(model)
    save_file(sd, os.path.join(a.out, 'model.safetensors'), metadata={'format': 'pt'})
    # Round-trip through float32 so the fixture matches what the safetensors file holds.
    if llama:
        tiny_llama.load_hf_state_dict(model, sd)
    else:
        from tiny_gpt2 import load_hf_state_dict
        load_hf_state_dict(model, sd)
    config = tiny_llama.hf_config(cfg) if llama else {
        'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'],
        'n_layer': cfg.n_layer, 'n_head': cfg.n_head, 'n_embd': cfg.n_embd, 'n_positions': cfg.n_positions,
        'n_ctx': cfg.n_positions, 'n_inner': None, 'vocab_size': cfg.vocab_size,
        'layer_norm_epsilon': cfg.layer_norm_epsilon, 'activation_function': 'gelu_new',
        'tie_word_embeddings': True, 'bos_token_id': 256, 'eos_token_id': 256,
        'tokenizer': 'byte', 'eot_token_id': 256, 'torch_dtype': 'float32',
    }
    with open(os.path.join(a.out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    fx = fixture(model)
    checks = None
    if llama:
        checks = llama_hf_check(a.out, fx, model)
        hf_diff = checks['pytorch_trainer_module_vs_transformers']
        print('Llama checks:', json.dumps(checks))
    with open(os.path.join(a.out, 'fixture.json'), 'w') as f:
        json.dump(fx, f, indent=1)
    ts_diff = ts_check(a.out) if llama else None
    if llama:
        print('TypeScript float64 vs transformers (fixture.json): max |Δlogit| =', ts_diff)
    if not llama:
        hf_diff = hf_check(a.out, fx)
        print('transformers GPT2LMHeadModel vs fixture: max |Δlogit| =', hf_diff)
    st, args = ck['state'], ck['args']
    metrics = None
    mpath = os.path.join(a.run, 'final-eval.json')
    if os.path.exists(mpath):
        with open(mpath) as f:
            metrics = json.load(f)
    training = {
        'seed': args['seed'],
        'config': config,
        'parameters': sum(p.numel() for p in model.parameters()),
        'data': {
            'generator': 'scripts/gen-train-data.ts (dist/scripts/gen-train-data.js), fresh shard per '
                         f'{args["shard_tokens"]} tokens, per-sample task sizes randomised (trainOptions)',
            'mix': args['mix'], 'mix_below_256_tokens': args.get('warm_mix'),
            'text': "shared/tasks/data/devil.txt (Bierce, The Devil's Dictionary, public domain)",
            'loss': {'lm_weight_on_context_mean': args['lm_weight'], 'answer_weight_on_answer_mean': args['answer_weight'],
                     'z_loss': args['z_loss']},
            'pos_offset_prob': args['pos_offset_prob'],
        },
        'init': args.get('init'), 'init_from': args.get('init_from'),
        'curriculum': args['stages'],
        'optimizer': {'name': 'AdamW', 'lr': args['lr'], 'betas': [0.9, 0.95], 'weight_decay': args['weight_decay'],
                      'warmup': args['warmup'], 'schedule': 'cosine to min_lr_frac', 'min_lr_frac': args['min_lr_frac'],
                      'clip': args['clip'], 'batch_tokens': args['batch_tokens']},
        'steps': st['step'], 'tokens': st['tokens'], 'wall_time_sec': round(st['elapsed'], 1),
        'hardware': f'{platform.machine()} CPU, torch.set_num_threads({args.get("threads", 1)})', 'torch_version': torch.__version__,
        'hf_transformers_max_abs_logit_diff_vs_fixture': hf_diff,
        **({'llama_checks': checks} if checks else {}),
        **({'typescript_float64_max_abs_logit_diff_vs_transformers': ts_diff} if llama else {}),
        'final_train_loss': st['curve'][-1] if st['curve'] else None,
        'final_metrics': metrics,
        'learning_curve': curve_summary(st['curve'], st['evals']),
    }
    with open(os.path.join(a.out, 'training.json'), 'w') as f:
        json.dump(training, f, indent=1)
    print('exported to', a.out, 'params', training['parameters'])
