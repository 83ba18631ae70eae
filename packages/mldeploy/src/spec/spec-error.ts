/** One thing wrong with a spec file: where (its path in the file, and line:column when known) and what. */
export interface SpecProblem {
  /** The path in the file, such as `targets[0].deployments.iris.model_uri`; empty for the file as a whole. */
  readonly path: string;
  /** 1-based, where the YAML parser gives a position. */
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  readonly message: string;
}

/** Where a problem is, as editors and compilers print it: `file:line:column`. */
export function problemLocation(file: string, problem: SpecProblem): string {
  return problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
}

/**
 * A spec file that cannot be used, with every problem found in it (YAML syntax and schema alike).
 * Nothing has been contacted when it is thrown; the CLI exits with status 2 (an input error).
 */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly SpecProblem[],
  ) {
    super(
      `Invalid spec ${file} (${problems.length === 1 ? '1 problem' : `${problems.length} problems`}):\n` +
        problems.map((p) => `  ${problemLocation(file, p)}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n'),
    );
    this.name = 'SpecError';
  }
}
