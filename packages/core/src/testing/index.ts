/**
 * The conformance kit: the behaviour every mldeploy target must show, for plugin test suites.
 *
 * @packageDocumentation
 */
export { assertRejectsWithCode, conformanceCases, type ConformanceCase, type ConformanceOptions } from './conformance.js';
