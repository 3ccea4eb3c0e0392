/** The recommended labels every object carries, so a reader (and a selector) can tell what it is. */
export const MANAGED_BY = 'platform-synthesizer';

export function standardLabels(name: string, component?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    ...(component ? { 'app.kubernetes.io/component': component } : {}),
    'app.kubernetes.io/part-of': 'platform',
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}
