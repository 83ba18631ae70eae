/**
 * mldeploy: one deployment client for every ML serving platform. This is the batteries-included
 * entry: everything of `@mldeploy/core`, with the built-in `local` target registered. The serving
 * runtime is at `mldeploy/serving` and the conformance kit at `mldeploy/testing`.
 *
 * @packageDocumentation
 */
export * from '@mldeploy/core';
export { BUILT_IN_TARGETS, brokenTargets, getDeployClient, installedTargets, runLocal, targetCapabilities, targetHelp } from './targets.js';
