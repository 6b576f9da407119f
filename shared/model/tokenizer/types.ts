/**
 * The tokenizer contract shared by the byte-level tokenizer (embedded default model), the GPT-2 BPE
 * tokenizer and a checkpoint's own tokenizer.json (real checkpoints). Task generators measure context
 * lengths in tokens of whichever one the model uses, so everything they need is here.
 */

export interface Tokenizer {
  /** Stable name, recorded in model config files (`"byte"`, `"gpt2"`, `"hf"`: a tokenizer.json). */
  readonly name: string;
  readonly vocabSize: number;
  /** `<|endoftext|>` (a tokenizer.json's: the config's EOT/EOS id): the end marker. */
  readonly eot: number;
  /**
   * Put before every sequence by callers: the EOT for the project's tokenizers and GPT-2's; a
   * tokenizer.json's BOS (the config's `bos_token_id`, e.g. Llama-3's `<|begin_of_text|>`) when set.
   */
  readonly bos: number;
  /** Text to ids. Never adds BOS/EOT. */
  encode(text: string): number[];
  /**
   * Ids to text. Never throws on incomplete UTF-8 (replacement characters are fine).
   * @throws MpcError E_INPUT on ids that are not integers in [0, vocabSize).
   */
  decode(ids: readonly number[]): string;
}
