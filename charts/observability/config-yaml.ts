/**
 * Configuration files (prometheus.yml, rule files, alertmanager.yml, loki.yaml, Fluent Bit's and
 * Grafana's provisioning) as YAML, written directly: block mappings and sequences, strings plain
 * when nothing can misread them and JSON-quoted otherwise (a JSON string is a YAML double-quoted
 * scalar). The general-purpose serializer cost a noticeable part of every render for these files.
 */

/** Strings that stay plain: no YAML indicator, no number, no boolean or null spelling. */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`configYaml: ${value} is not a finite number`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  throw new Error(`configYaml: cannot write a ${typeof value}`);
}

const key = (k: string) => (PLAIN_KEY.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k));
const isCollection = (v: unknown): v is object => typeof v === 'object' && v !== null;
const isEmpty = (v: object) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

function lines(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item) && !isEmpty(item)) {
        const nested: string[] = [];
        lines(item, `${indent}  `, nested);
        // The first line of the item goes on the dash.
        out.push(`${indent}- ${nested[0].slice(indent.length + 2)}`, ...nested.slice(1));
      } else {
        out.push(`${indent}- ${isCollection(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`);
      }
    }
    return;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (isCollection(v) && !isEmpty(v)) {
      out.push(`${indent}${key(k)}:`);
      lines(v, `${indent}  `, out);
    } else {
      out.push(`${indent}${key(k)}: ${isCollection(v) ? (Array.isArray(v) ? '[]' : '{}') : scalar(v)}`);
    }
  }
}

/** A mapping (the root of every configuration file) as YAML text. */
export function configYaml(document: Record<string, unknown>): string {
  const out: string[] = [];
  lines(document, '', out);
  return `${out.join('\n')}\n`;
}
