import { networkInterfaces } from 'node:os';

/**
 * One IPv4 address of this machine that is not loopback, or undefined when it has none (a
 * sandbox with only `lo`): what a test binds to see a server answer beyond loopback.
 */
export function nonLoopbackIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;
}
