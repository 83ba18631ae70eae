/** What the CLI touches of its process: passed in so that it runs the same in tests. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The OS user running the CLI (the bin reads it from `os.userInfo()`): who made a change, in audit logs. */
  readonly user?: string | undefined;
}
