export {
  PRESETS,
  NET_NAMES,
  parseNetSpec,
  shapedNet,
  describeNet,
  type NetName,
  type NetSpec,
  type ShapedNet,
} from './spec.js';
export { HOSTS, createTopology, commandIn, type HostName, type NetHost, type Topology } from './topology.js';
export { startRelay, RELAY_HIGH_WATER_BYTES, type Relay, type RelayOptions } from './relay.js';
export { Clock, DelayLine, SPIN_MS, type LineOptions } from './delay-line.js';
export {
  serveProbe,
  pingPong,
  bulkSend,
  probeEndpoint,
  median,
  quantile,
  type Endpoint,
  type ProbeResult,
  type SinkReport,
} from './probe.js';
export { measureLink, type MeasureOptions } from './measure.js';
export type { RelayStats } from './relay-process.js';
export { placementOf } from './cluster.js';
