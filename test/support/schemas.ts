/**
 * Schema validation of rendered objects, offline: built-in kinds strictly against the OpenAPI of
 * the Kubernetes version k3s pins (imports/k8s/, the same check `npm run policy` runs), custom
 * resources against the upstream CRDs' openAPIV3Schema as `npm run import` extracts it into
 * imports/schemas/ (nothing outside the checkout is read).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import type { KubeObject } from '../../charts/lib/service';
import { validateBuiltIn } from '../../policy/k8s/schema';

/**
 * CRD patterns are Go regular expressions; the only Go-only syntax they use is the inline `(?i)`
 * flag, which becomes JavaScript's `i` flag for the whole pattern (slightly more permissive).
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) =>
    pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags),
  { code: 'new RegExp' },
);

/**
 * The API server prunes every field a structural CRD schema does not name (unless the node says
 * `x-kubernetes-preserve-unknown-fields`), silently: a misspelt field (`isCa` for cert-manager's
 * `isCA`) is accepted and dropped. The schema is made to refuse such a field instead, so the
 * render is checked for what the API server would keep.
 * @see https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#field-pruning
 */
export function prunedFieldsRefused<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((item) => prunedFieldsRefused(item)) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const node: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps field names to schemas: each value is a schema node, the map is not.
    node[key] =
      key === 'properties' && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([field, child]) => [field, prunedFieldsRefused(child)]))
        : prunedFieldsRefused(value);
  }
  if (node.properties && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    node.additionalProperties = false;
  }
  return node as T;
}

/**
 * The API server always keeps `apiVersion`, `kind` and `metadata` of a custom resource, whether or
 * not the CRD's schema names them (Linkerd's name only `spec`).
 */
function withObjectMeta(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  return { ...schema, properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...properties } };
}

/**
 * `group/version/Kind` -> validator, for every schema file `<group>_<Kind>_<version>.json` in `dir`
 * (imports/schemas/, one per served version of each imported CRD).
 */
export function loadCrdValidators(dir: string): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });
  const validators = new Map<string, ValidateFunction>();
  for (const entry of readdirSync(dir).sort()) {
    const match = /^(.+)_([A-Za-z0-9]+)_(v[0-9a-z]+)\.json$/.exec(entry);
    if (!match) continue;
    const [, group, kind, version] = match;
    // Compiled on first use: the Argo CD schemas are large and most kinds are never used.
    let compiled: ValidateFunction | undefined;
    const lazy = ((data: unknown) => {
      compiled ??= ajv.compile(prunedFieldsRefused(withObjectMeta(JSON.parse(readFileSync(join(dir, entry), 'utf8')) as Record<string, unknown>)));
      const valid = compiled(data);
      lazy.errors = compiled.errors;
      return valid;
    }) as ValidateFunction;
    validators.set(`${group}/${version}/${kind}`, lazy);
  }
  return validators;
}

/**
 * Validates a built-in Kubernetes kind with the policy gate's strict schemas (policy/k8s/schema.ts):
 * the problems, undefined when valid, 'unknown-kind' for a group the pinned version does not have.
 */
export function validateCoreObject(object: KubeObject): string | undefined | 'unknown-kind' {
  const result = validateBuiltIn(object);
  if (!result) return 'unknown-kind';
  return result.problems.length ? result.problems.join('; ') : undefined;
}

/**
 * Kinds whose CRD is not imported (cdk8s.yaml), with a schema written here from the upstream
 * API type (strict where it matters: required fields, enums, no unknown top-level keys).
 * VolumeSnapshotClass: kubernetes-csi/external-snapshotter client/apis/volumesnapshot/v1/types.go.
 */
const EXTRA_SCHEMAS: Record<string, object> = {
  'snapshot.storage.k8s.io/v1/VolumeSnapshotClass': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'driver', 'deletionPolicy'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'snapshot.storage.k8s.io/v1' },
      kind: { const: 'VolumeSnapshotClass' },
      metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, namespace: false } },
      driver: { type: 'string', minLength: 1 },
      deletionPolicy: { enum: ['Delete', 'Retain'] },
      parameters: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
};
const extraAjv = new Ajv({ strict: false, allErrors: true });
const extraValidators = new Map(Object.entries(EXTRA_SCHEMAS).map(([key, schema]) => [key, extraAjv.compile(schema)]));

/** Validates any rendered object: CRD kinds by their schema, built-in kinds by the pinned OpenAPI. */
export function validateObject(object: KubeObject, crds: Map<string, ValidateFunction>): string | undefined {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const crd = crds.get(`${group}/${version}/${object.kind}`) ?? extraValidators.get(`${group}/${version}/${object.kind}`);
  if (crd) {
    return crd(object) ? undefined : (crd.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` ("${String(e.params.additionalProperty)}", which the API server would prune)` : ''}`).join('; ');
  }
  const core = validateCoreObject(object);
  if (core === 'unknown-kind') return `no schema for ${object.apiVersion} ${object.kind}: add its CRD to the schemas or use a served API`;
  return core;
}
