/** Synthetic long-context tasks: generators by name, sample tokenization and scoring. */
import { MpcError } from '../util/index.js';
import { mqar } from './mqar.js';
import { niah } from './niah.js';
import { passkey } from './passkey.js';
import type { TaskGenerator } from './types.js';
import { vartrack } from './vartrack.js';

export type { Haystack, Placement, TaskGenerator, TaskOptions, TaskQuery, TaskSample } from './types.js';
export { STOP } from './types.js';
export { answerSpan, promptTokens, ROLE, score, segments, sequenceTokens, type Segments } from './sample.js';
export { TaskRng } from './rng.js';
export { NOISE_SENTENCES, proseSentences } from './filler.js';

export const TASKS: Readonly<Record<string, TaskGenerator>> = Object.freeze({ passkey, niah, mqar, vartrack });

/** @throws MpcError E_INPUT on an unknown task name. */
export function getTask(name: string): TaskGenerator {
  if (!Object.prototype.hasOwnProperty.call(TASKS, name)) {
    throw new MpcError('E_INPUT', `unknown task '${name}' (known: ${Object.keys(TASKS).join(', ')})`);
  }
  return TASKS[name]!;
}
