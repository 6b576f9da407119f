export * from './frame.js';
export * from './frame-types.js';
export { encodeControl, decodeControlRaw, parseControl } from './control.js';
export { Link, wsTransport, memoryPair, type Transport, type LinkOptions } from './link.js';
export { Meter, type LinkName, type MeterReport, type PhaseReport, type Traffic } from './meter.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export {
  ROLES,
  loadTls,
  listenWs,
  dialWs,
  roleOfSubject,
  roleUnit,
  type DialOptions,
  type Listener,
  type ListenOptions,
  type ListenRefusal,
  type PeerIdentity,
  type Role,
  type TlsConfig,
} from './tls.js';
