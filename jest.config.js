// jest 30 runs our ESM TypeScript through @swc/jest (a transform only, no type
// checking: `npm run typecheck` does that with tsc). @kubernetes/client-node 2.x
// is ESM-only, so jest runs with --experimental-vm-modules (see package.json)
// and treats .ts as ESM.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-timeout.ts'],
    },
  ],
  // One control plane is shared by the whole run; files run in parallel
  // workers against it, isolated by namespace and object names. Two workers
  // match the machine's two cores.
  maxWorkers: 2,
};
