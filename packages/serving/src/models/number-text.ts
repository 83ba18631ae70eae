// Python's digit parts: digits with single underscores between them (`1_000`).
const DIGITS = String.raw`\d(?:_?\d)*`;
const FLOAT_TEXT = new RegExp(String.raw`^[+-]?(?:(?:${DIGITS}\.?(?:${DIGITS})?|\.${DIGITS})(?:e[+-]?${DIGITS})?|inf|infinity|nan)$`, 'i');
const INTEGER_TEXT = new RegExp(String.raw`^[+-]?${DIGITS}$`);
const NON_ASCII = /[^ -~]/;
const UNICODE_DIGIT = /\p{Nd}/u;

/**
 * Python reads any Unicode decimal digit (`'٣'`, `'５'`) as its ASCII counterpart. Unicode keeps
 * each script's digits as one run of code points from 0 to 9 (some scripts have several runs in a
 * row), so a digit's value is its distance from the start of its run, modulo 10.
 */
function asciiDigits(text: string): string {
  let out = '';
  for (const char of text) {
    if (!UNICODE_DIGIT.test(char) || char <= '\x7f') {
      out += char;
      continue;
    }
    const code = char.codePointAt(0)!;
    let start = code;
    while (UNICODE_DIGIT.test(String.fromCodePoint(start - 1))) start -= 1;
    out += String((code - start) % 10);
  }
  return out;
}

/** The text as Python's `float()` and `int()` see it: stripped, with Unicode digits made ASCII. */
function normalise(text: string): string {
  const trimmed = text.trim();
  // Most numbers are ASCII: only text with other characters pays for the digit mapping.
  return NON_ASCII.test(trimmed) ? asciiDigits(trimmed) : trimmed;
}

/**
 * The number a text spells, read as Python's `float()` reads it (and so numpy and pandas when
 * they cast strings to a float type): `'1.5'`, `' 2e3 '`, `'1_000'`, `'５'`, `'nan'`, `'-inf'`,
 * `'Infinity'`. Unlike `Number()`, it refuses what Python refuses: `''`, `'0x10'`, `'0b1'`, `'1__0'`.
 *
 * @returns the number (NaN and ±Infinity included), or undefined when the text is no number.
 */
export function floatFromText(text: string): number | undefined {
  const trimmed = normalise(text);
  if (!FLOAT_TEXT.test(trimmed)) return undefined;
  const lower = trimmed.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(trimmed.replaceAll('_', ''));
}

/** The whole number a text spells, read as Python's `int()` reads it (`'7'`, `' -3 '`, `'1_000'`), or undefined. */
export function integerFromText(text: string): number | undefined {
  const trimmed = normalise(text);
  return INTEGER_TEXT.test(trimmed) ? Number(trimmed.replaceAll('_', '')) : undefined;
}
