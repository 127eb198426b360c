// Control characters end a line of a unit file, a header, an env file or a manifest:
// no generated file may get one, so every user value and file name is checked with this.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;

export function hasControlChar(s: string): boolean {
  return CONTROL.test(s);
}
