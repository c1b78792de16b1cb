/**
 * A kernel file whose text does not have the shape its parser expects. It names the file and the
 * 1-based line, so that a user can look at the input; parsers never crash on bad input and never
 * return a silent zero for a field they could not read.
 */
export class ParseError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ParseError';
    this.file = file;
    this.line = line;
  }
}

/** Parses a decimal integer field; throws ParseError naming file and line when it is not one. */
export function parseIntField(text: string | undefined, file: string, line: number, what: string): number {
  if (text === undefined || !/^-?\d+$/.test(text)) {
    throw new ParseError(file, line, `expected an integer for ${what}, got ${JSON.stringify(text ?? '')}`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ParseError(file, line, `${what} is out of range: ${text}`);
  return n;
}
