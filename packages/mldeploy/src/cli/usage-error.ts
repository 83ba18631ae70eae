/**
 * A mistake in how the command was called (flags, arguments, files named by flags). The CLI
 * prints it with the usage hint and exits with status 2, as click and commander do.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
