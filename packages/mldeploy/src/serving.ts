/**
 * mldeploy's serving runtime (the `@mldeploy/serving` package).
 *
 * @packageDocumentation
 */
export * from '@mldeploy/serving';
