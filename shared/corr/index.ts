/**
 * Correlations: how a kind is declared (kind.ts), how seeds become material (expand.ts), the
 * dealer's registry of fixed masks (env.ts) and the stream that deals and consumes items
 * (stream.ts). The kinds themselves are declared with their primitives (protocol/primitives/).
 */
export {
  Material,
  checkParams,
  defineKind,
  correctionBytes,
  ring as ringField,
  xor as xorField,
  type CorrKind,
  type FieldSpec,
  type FieldType,
} from './kind.js';
export { DealerEnv, type FixedMask } from './env.js';
export { expandShare, dealItem, assembleParty1 } from './expand.js';
export { PartyCorrStream, DealerCorrSink, paramsHash, STREAM_SESSION, type CorrSource } from './stream.js';
