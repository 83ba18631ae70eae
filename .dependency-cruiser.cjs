// The architecture's allowed arrows, checked by `npm run lint` (depcruise). Data flows one way:
// CLI → client → target → server → serving → models. Packages: core ← serving ← target-local ←
// mldeploy; plugins (examples/*, target-*) depend on core only. A new arrow against these rules
// fails the build; docs/architecture.md draws the same picture.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Cycles make the layering meaningless.', from: {}, to: { circular: true } },

    // Packages: every arrow points down.
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'A plugin author installs @mldeploy/core alone: it cannot reach the runtime, the local target or the CLI.',
      from: { path: '^packages/core/' },
      to: { path: '^packages/(serving|target-local|mldeploy)/' },
    },
    {
      name: 'serving-below-targets',
      severity: 'error',
      from: { path: '^packages/serving/' },
      to: { path: '^packages/(target-local|mldeploy)/' },
    },
    { name: 'targets-below-cli', severity: 'error', from: { path: '^packages/target-[^/]+/' }, to: { path: '^packages/mldeploy/' } },
    {
      name: 'plugins-use-core-only',
      severity: 'error',
      comment: 'Target plugins are found like third-party packages and depend on @mldeploy/core only.',
      from: { path: '^(examples/[^/]+|packages/target-(?!local/)[^/]+)/src/' },
      to: { path: '^packages/(serving|target-local|mldeploy)/' },
    },
    {
      name: 'dashboard-stands-alone',
      severity: 'error',
      comment: 'The dashboard (page and protocol) is bundled for the browser: it reaches none of our Node packages, the server imports it.',
      from: { path: '^packages/dashboard/' },
      to: { path: '^packages/(?!dashboard/)' },
    },
    {
      name: 'no-undeclared-packages',
      severity: 'error',
      comment: 'Import only what the package.json of the importing package declares (hoisting hides this otherwise).',
      from: { path: '^(packages|examples)/[^/]+/src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'npm-dev'] },
    },

    // Inside core: client → plugins → contract → errors; config and http sit on errors.
    {
      name: 'core-errors-at-the-bottom',
      severity: 'error',
      from: { path: '^packages/core/src/errors/' },
      to: { path: '^packages/core/src/(?!errors/)' },
    },
    {
      name: 'core-contract-on-errors',
      severity: 'error',
      from: { path: '^packages/core/src/contract/' },
      to: { path: '^packages/core/src/(client|plugins|config|http|testing)/' },
    },
    {
      name: 'core-plugins-below-client',
      severity: 'error',
      from: { path: '^packages/core/src/plugins/' },
      to: { path: '^packages/core/src/(client|config|http|testing)/' },
    },
    {
      name: 'core-leaves',
      severity: 'error',
      from: { path: '^packages/core/src/(config|http)/' },
      to: { path: '^packages/core/src/(client|plugins|contract|testing)/' },
    },
    {
      name: 'core-async-on-errors',
      severity: 'error',
      comment: 'Retry, polling and signal helpers know nothing but errors.',
      from: { path: '^packages/core/src/(async|process)/' },
      to: { path: '^packages/core/src/(?!errors/|async/|process/)' },
    },
    {
      name: 'core-audit-is-a-leaf',
      severity: 'error',
      comment:
        'The audit hash chain (canonical JSON, hashing, verification, masking) is pure: both the control plane and the CLI check logs with it.',
      from: { path: '^packages/core/src/audit/' },
      to: { path: '^packages/core/src/(?!audit/)' },
    },
    {
      name: 'core-testing-uses-the-contract',
      severity: 'error',
      from: { path: '^packages/core/src/testing/' },
      to: { path: '^packages/core/src/(client|config|http)/' },
    },

    // Inside serving: serving → models; models know nothing of servers.
    {
      name: 'models-below-serving',
      severity: 'error',
      from: { path: '^packages/serving/src/models/' },
      to: { path: '^packages/serving/src/(serving|http)/' },
    },
    {
      name: 'serving-http-is-a-leaf',
      severity: 'error',
      from: { path: '^packages/serving/src/http/' },
      to: { path: '^packages/serving/src/(serving|models)/' },
    },

    // Inside target-local: the client side reaches the server only through its API contract.
    {
      name: 'server-does-not-know-its-client',
      severity: 'error',
      from: { path: '^packages/target-local/src/server/' },
      to: { path: '^packages/target-local/src/local-target/' },
    },
    {
      name: 'client-talks-to-the-server-api',
      severity: 'error',
      comment:
        'local-target/ may use the API schema, the server info file and the settings schema (to check -C before it downloads), nothing else of server/.',
      from: { path: '^packages/target-local/src/local-target/' },
      to: {
        path: '^packages/target-local/src/server/',
        pathNot: '^packages/target-local/src/server/(server-home|api-schema|local-config)\\.ts$',
      },
    },

    // Nothing but the bin and main reaches the CLI.
    {
      name: 'nothing-reaches-the-cli',
      severity: 'error',
      from: { path: '^packages/', pathNot: '^packages/mldeploy/src/cli/' },
      to: { path: '^packages/mldeploy/src/cli/' },
    },
  ],
  options: {
    // Imports of our own packages resolve to their built dist/ (through the workspace links): they
    // are kept as leaves, so arrows between packages are checked without cruising built code.
    doNotFollow: { path: ['node_modules', '(^|/)dist/'] },
    exclude: { path: '(^|/)(test|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.lint.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default'],
      mainFields: ['types', 'module', 'main'],
    },
  },
};
