import { createServer } from 'node:net';

/**
 * Binds `port` (0: any free one) on 127.0.0.1 without SO_REUSEPORT, then lets it go: succeeds
 * only when no process holds the port, whether or not it shares it. Returns the port bound.
 */
export function probeLoopbackPort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (probe.address() as { port: number }).port;
      probe.close(() => resolve(bound));
    });
  });
}
