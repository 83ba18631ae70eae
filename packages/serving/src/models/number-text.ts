const FLOAT_TEXT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$/i;
const INTEGER_TEXT = /^[+-]?\d+$/;

/**
 * The number a text spells, read as Python's `float()` reads it (and so numpy and pandas when
 * they cast strings to a float type): `'1.5'`, `' 2e3 '`, `'nan'`, `'-inf'`, `'Infinity'`.
 * Unlike `Number()`, it refuses what Python refuses: `''`, `'0x10'`, `'0b1'`.
 *
 * @returns the number (NaN and ±Infinity included), or undefined when the text is no number.
 */
export function floatFromText(text: string): number | undefined {
  const trimmed = text.trim();
  if (!FLOAT_TEXT.test(trimmed)) return undefined;
  const lower = trimmed.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(trimmed);
}

/** The whole number a text spells, read as Python's `int()` reads it (`'7'`, `' -3 '`), or undefined. */
export function integerFromText(text: string): number | undefined {
  const trimmed = text.trim();
  return INTEGER_TEXT.test(trimmed) ? Number(trimmed) : undefined;
}
