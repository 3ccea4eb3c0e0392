/**
 * Strict schema validation of every built-in Kubernetes object (K8S-SCHEMA-01/02) against the
 * OpenAPI of the Kubernetes version k3s pins, as `npm run import:k8s` generated it into imports/k8s/
 * (docs/decisions/0053-kubernetes-schemas-from-upstream-openapi.md): unknown fields at any depth,
 * types, required fields, enums, and whether that version serves the apiVersion at all.
 *
 * Custom resources (any group the version does not know) are left to their CRD schemas.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { KubeObject } from '../../charts/lib/service';
import type { K8sSchemaIndex } from '../../cli/import-k8s';
import { refOf, type PolicyInput, type Violation } from '../types';

interface K8sSchemas {
  readonly index: K8sSchemaIndex;
  readonly validator: (key: string) => ValidateFunction;
}

function schemasDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'imports', 'k8s');
    if (existsSync(join(candidate, 'index.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error('imports/k8s/index.json is missing; run npm run import:k8s');
  }
}

let loaded: K8sSchemas | undefined;

/** The committed schemas, read and compiled once per process; each kind compiles on first use. */
export function k8sSchemas(): K8sSchemas {
  if (loaded) return loaded;
  const dir = schemasDir();
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as K8sSchemaIndex;
  const { definitions } = JSON.parse(readFileSync(join(dir, 'definitions.json'), 'utf8')) as { definitions: Record<string, object> };
  // inlineRefs off: each definition (PodSpec, Container, ...) compiles once and every kind that
  // uses it shares the function, instead of a copy inlined per kind.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, inlineRefs: false });
  ajv.addSchema({ $id: 'k8s', definitions });
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string) => {
    let fn = compiled.get(key);
    if (!fn) {
      fn = ajv.compile({ $ref: `k8s#/definitions/${index.served[key]}` });
      compiled.set(key, fn);
    }
    return fn;
  };
  loaded = { index, validator };
  return loaded;
}

/** Kubernetes reads `null` as "not set" for every optional field; the schemas have no nulls. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === null ? [] : [[k, withoutNulls(v)]])));
  }
  return value;
}

/** `/spec/template/spec/containers/0` -> `.spec.template.spec.containers[0]`. */
function jsonPath(pointer: string): string {
  if (!pointer) return '.';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_][\w-]*$/.test(part) ? `.${part}` : `["${part}"]`))
    .join('');
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return `has unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required':
      return `misses required field "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'enum':
      return `is not one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `must be ${String((e.params as { type: string | string[] }).type).replace(',', ' or ')}`;
    default:
      return e.message ?? e.keyword;
  }
}

/**
 * One readable problem per failing keyword. The errors of an `anyOf` (a quantity is a string of
 * one grammar or a number) become one problem that lists what each branch wanted.
 */
export function describeErrors(errors: readonly ErrorObject[]): string[] {
  const alternatives = errors.filter((e) => e.keyword === 'anyOf');
  const inBranch = (e: ErrorObject) => alternatives.find((a) => a !== e && a.instancePath === e.instancePath && e.schemaPath.startsWith(`${a.schemaPath}/`));
  const messages = errors.flatMap((e) => {
    if (inBranch(e)) return [];
    const at = jsonPath(e.instancePath);
    if (e.keyword === 'anyOf') {
      const branches = errors.filter((b) => inBranch(b) === e).map(describe);
      return [`${at} matches no allowed form: ${branches.join('; or ')}`];
    }
    return [`${at} ${describe(e)}`];
  });
  return [...new Set(messages)];
}

/** The problems of one object, or undefined when it is not a built-in kind (a custom resource). */
export function validateBuiltIn(object: KubeObject): { served: boolean; problems: string[] } | undefined {
  const { index, validator } = k8sSchemas();
  const apiVersion = String(object.apiVersion ?? '');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!index.groups.includes(group)) return undefined;
  const key = `${group}/${version}/${object.kind}`;
  if (!index.served[key]) {
    const alternatives = Object.keys(index.served)
      .filter((k) => k.endsWith(`/${object.kind}`))
      .map((k) => k.slice(0, k.lastIndexOf('/')).replace(/^\//, ''));
    const why = index.notServed[key] ?? `not served by Kubernetes ${index.kubernetes} (removed, or no such kind)`;
    return {
      served: false,
      problems: [`${apiVersion} ${object.kind} is ${why}; ${alternatives.length ? `use apiVersion ${alternatives.join(' or ')}` : 'render a kind this version serves'}`],
    };
  }
  const validate = validator(key);
  return validate(withoutNulls(object)) ? { served: true, problems: [] } : { served: true, problems: describeErrors(validate.errors ?? []) };
}

export function schemaRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  for (const { path, object } of input.objects) {
    const result = validateBuiltIn(object);
    if (!result) continue;
    for (const problem of result.problems) {
      violations.push({ rule: result.served ? 'K8S-SCHEMA-01' : 'K8S-SCHEMA-02', ref: refOf(object), message: `${path}: ${problem}` });
    }
  }
  return violations;
}
