export { commandFlags, helpText, kebab, parseCommand, type CommandSpec, type Parsed } from './cli.js';
