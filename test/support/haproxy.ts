/** The directive lines of one section (`frontend https`, `backend ingress_http`, ...), comments dropped. */
export function sectionOf(config: string, header: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) throw new Error(`no section "${header}"`);
  const end = lines.findIndex((line, i) => i > start && line !== '' && !line.startsWith(' ') && !line.startsWith('#'));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}
