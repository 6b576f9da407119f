export { Material, defineKind, correctionBytes, ring as ringField, xor as xorField, type CorrKind, type FieldSpec, type FieldType } from './kind.js';
export { DealerEnv, type FixedMask } from './env.js';
export { expandShare, dealItem, assembleParty1 } from './expand.js';
export { PartyCorrStream, DealerCorrSink, paramsHash, STREAM_SESSION, type CorrSource } from './stream.js';
export * from './kinds/index.js';
