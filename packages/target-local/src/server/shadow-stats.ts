/** How a shadow deployment compares with the primary, over the requests mirrored so far. */
export interface ShadowSummary {
  readonly deployment: string;
  readonly mirrored: number;
  /** Mirrored requests the shadow failed (an error status or no answer). */
  readonly errors: number;
  /** Share of compared answers equal to the primary's (numbers within 1e-6). */
  readonly agreementRate: number | null;
  readonly meanAbsDifference: number | null;
  readonly maxAbsDifference: number | null;
  /** Shadow latency minus primary latency, mean, in milliseconds. */
  readonly meanLatencyDifferenceMs: number | null;
}

function numbers(value: unknown, out: number[]): void {
  if (typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) for (const v of value) numbers(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) numbers(v, out);
}

function sameShape(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameShape(v, b[i]));
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      ka.join('\0') === kb.join('\0') && ka.every((k) => sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

/** Running comparison of a shadow deployment's answers with the primary's. */
export class ShadowStats {
  private mirrored = 0;
  private errors = 0;
  private compared = 0;
  private agreed = 0;
  private diffSum = 0;
  private diffCount = 0;
  private diffMax = 0;
  private latencySum = 0;

  constructor(readonly deployment: string) {}

  /** Records one mirrored request: both answers (parsed JSON) and both latencies. */
  record(primary: unknown, shadow: unknown, primaryMs: number, shadowMs: number): void {
    this.mirrored += 1;
    this.compared += 1;
    this.latencySum += shadowMs - primaryMs;
    const a: number[] = [];
    const b: number[] = [];
    numbers(primary, a);
    numbers(shadow, b);
    let agree = sameShape(primary, shadow);
    if (agree && a.length === b.length) {
      for (let i = 0; i < a.length; i += 1) {
        const d = Math.abs(a[i]! - b[i]!);
        this.diffSum += d;
        this.diffCount += 1;
        this.diffMax = Math.max(this.diffMax, d);
        if (d > 1e-6) agree = false;
      }
    }
    if (agree) this.agreed += 1;
  }

  /** Records a mirrored request the shadow failed. */
  recordError(): void {
    this.mirrored += 1;
    this.errors += 1;
  }

  summary(): ShadowSummary {
    return {
      deployment: this.deployment,
      mirrored: this.mirrored,
      errors: this.errors,
      agreementRate: this.compared === 0 ? null : this.agreed / this.compared,
      meanAbsDifference: this.diffCount === 0 ? null : this.diffSum / this.diffCount,
      maxAbsDifference: this.diffCount === 0 ? null : this.diffMax,
      meanLatencyDifferenceMs: this.compared === 0 ? null : this.latencySum / this.compared,
    };
  }
}
