/**
 * Characters that make a label lie on a screen: C0 and C1 control characters (ANSI escapes, a
 * carriage return that rewrites a line), bidirectional overrides and isolates (U+202E makes
 * `txt.exe` read `exe.txt`), and the line and paragraph separators U+2028/U+2029. A name is a
 * label, not a document: the API refuses these in names, and the CLI escapes them in anything
 * it prints for a person.
 */
export const UNSAFE_TEXT_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069'

const UNSAFE = new RegExp(`[${UNSAFE_TEXT_CLASS}]`, 'gu')

/** JSON Schema `pattern` for a label: at least one visible character, none of the unsafe ones. */
export const LABEL_PATTERN = `^[^${UNSAFE_TEXT_CLASS}]*[^\\s${UNSAFE_TEXT_CLASS}][^${UNSAFE_TEXT_CLASS}]*$`

export function hasUnsafeCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0
  return UNSAFE.test(text)
}

/** The text with every unsafe character shown as a visible `\u{…}` escape, for a terminal. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (character) => `\\u{${character.codePointAt(0)!.toString(16).padStart(4, '0')}}`)
}
