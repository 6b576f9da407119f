// Jest runs the TypeScript sources directly through @swc/jest. ts-jest would be the
// obvious choice, but it drives the `typescript` package's JS compiler API, and the
// pinned compiler (TypeScript 7, the native port) no longer ships that API
// (ts-jest's peer range is typescript <7). swc strips types without type-checking,
// so `npm test` runs `tsc` first (via `npm run build`) to keep type errors fatal.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 60000,
};
