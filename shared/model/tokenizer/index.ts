export type { Tokenizer } from './types.js';
export { byteTokenizer } from './byte.js';
export { gpt2Tokenizer } from './gpt2-bpe.js';
export { tokenizerFor } from './for-config.js';
export { hfTokenizer } from './hf-json.js';
