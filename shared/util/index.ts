export { ERROR_CODES, MpcError, invariant, isErrorCode, toMpcError, type ErrorCode } from './errors.js';
export { createLogger, silentLogger, REDACT_KEYS, type Logger, type LoggerOptions } from './logger.js';
export { projectRoot, projectPath } from './paths.js';
export { deadline, withTimeout } from './time.js';
