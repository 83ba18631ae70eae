/**
 * The conformance kit for target plugins (`@mldeploy/core/testing`).
 *
 * @packageDocumentation
 */
export * from '@mldeploy/core/testing';
