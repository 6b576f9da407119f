export { splitArgv, parseFlags, type ParsedArgv } from './argv.js';
