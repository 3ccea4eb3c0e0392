/**
 * Code-point ordering for everything that ends up in dist/ or in a report. `localeCompare` depends
 * on the machine's ICU locale, so two machines could sort (and render) differently.
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
