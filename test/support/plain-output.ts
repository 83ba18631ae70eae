import { disableDefaultColors } from 'vitest/node';

/** An SGR sequence (colour, bold, dim): ESC [ params m. Built from the code so no control character sits in the source. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * Whether output may be coloured, as the lint tools decide it: FORCE_COLOR (other than `0`)
 * forces colour, NO_COLOR (https://no-color.org) turns it off, else only a terminal gets it.
 */
export function wantsColour(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): boolean {
  const forced = env['FORCE_COLOR'];
  if (forced !== undefined) return forced !== '0';
  return env['NO_COLOR'] === undefined && isTTY;
}

function stripColour(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = (chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? chunk.replace(SGR, '') : chunk, ...rest);
}

/**
 * Makes a vitest run print no escape codes unless {@link wantsColour}: `npm test | cat` and CI
 * logs were full of them, because vitest's colours look at TERM alone. Called from
 * vitest.config.ts, which vitest reads after it has chosen its colours: so this process turns
 * them off and also strips the symbols vitest coloured when it loaded (✓, ×, ❯); the test
 * workers, started later, choose theirs from the NO_COLOR they inherit.
 */
export function plainOutputUnlessColour(): void {
  if (wantsColour(process.env, process.stdout.isTTY)) return;
  disableDefaultColors();
  stripColour(process.stdout);
  stripColour(process.stderr);
  process.env['NO_COLOR'] = '1';
}
