export type { Tokenizer } from './types.js';
export { byteTokenizer } from './byte.js';
