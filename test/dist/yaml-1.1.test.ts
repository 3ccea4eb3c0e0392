/**
 * Every YAML file the render writes reads the same to a YAML 1.1 reader (sigs.k8s.io/yaml and
 * go-yaml v2 in Kubernetes, Argo CD and the Prometheus stack; libyaml in cloud-init) as to a
 * YAML 1.2 reader, for a model full of names and values YAML 1.1 would misread.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderPlatform, type RenderedFiles } from '../../cli/render';
import { defaultPlatform, validatePlatform } from '../../config';
import { applyPatch } from '../support/patch';

/** Strings YAML 1.1 reads as booleans, null, numbers or timestamps, that the model accepts as names or tags. */
const AMBIGUOUS_TAGS = ['1e3', '0777', '1_000', 'NULL', 'Yes', '2024-01-01', '0x1F', '0b101', '12'];

function ambiguousModel() {
  const hello = (defaultPlatform as { apps: Record<string, Record<string, unknown>> }).apps.hello;
  const app = (name: string, tags: string[]) => ({
    ...hello,
    repository: `apps/${name}`,
    // Its own Harbor project (each app needs one, decision 0119), itself a YAML 1.1 boolean.
    image: `${name}/app`,
    // A smoke test command that is itself a YAML 1.1 boolean.
    smokeTest: 'yes',
    secrets: [{ name: 'off', keys: ['Y', 'NO'] }],
    environments: Object.fromEntries(
      ['dev', 'off', 'prod'].map((env, i) => [
        env,
        {
          ...(hello.environments as Record<string, object>)[env === 'off' ? 'staging' : env],
          host: `${name}-${env}.lumetium.com`,
          tag: tags[i],
        },
      ]),
    ),
  });
  return validatePlatform(
    applyPatch(defaultPlatform, {
      // An environment named `off` replaces staging: namespaces, Argo CD projects and labels carry it.
      environments: { staging: null, off: { certificateIssuer: 'letsencrypt-prod' } },
      apps: {
        hello: null,
        on: app('on', AMBIGUOUS_TAGS.slice(0, 3)),
        no: app('no', AMBIGUOUS_TAGS.slice(3, 6)),
        y: app('y', AMBIGUOUS_TAGS.slice(6, 9)),
      },
    }),
    'the YAML 1.1 test model',
  );
}

/** YAML texts inside a parsed document: ConfigMap files, Jenkins' pod templates, cloud-init's write_files. */
function embeddedYaml(value: unknown, where: string, out: [string, string][]): void {
  if (Array.isArray(value)) value.forEach((item, i) => embeddedYaml(item, `${where}[${i}]`, out));
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.path === 'string' && /\.ya?ml$/.test(record.path) && typeof record.content === 'string') out.push([`${where} ${record.path}`, record.content]);
    for (const [key, child] of Object.entries(record)) {
      if (typeof child === 'string' && (/\.ya?ml$/.test(key) || key === 'yaml')) out.push([`${where}.${key}`, child]);
      else embeddedYaml(child, `${where}.${key}`, out);
    }
  }
}

/** Every YAML text of the render: each file, and each YAML file inside one, with where it is. */
function yamlTexts(files: RenderedFiles): [string, string][] {
  const texts: [string, string][] = [];
  for (const [path, text] of files) {
    if (!/\.ya?ml$/.test(path)) continue;
    texts.push([path, text]);
    const nested: [string, string][] = [];
    embeddedYaml(parse(text), path, nested);
    for (let i = 0; i < nested.length; i++) {
      texts.push(nested[i]);
      embeddedYaml(parse(nested[i][1]), nested[i][0], nested);
    }
  }
  return texts;
}

describe('YAML 1.1 readers', () => {
  const files = renderPlatform(ambiguousModel());
  const texts = yamlTexts(files);

  it('GIVEN a model with apps named on, no and y, an environment named off and tags like 1e3 WHEN rendered THEN every YAML file and every YAML file inside one reads the same as YAML 1.1 and 1.2', () => {
    expect(texts.length).toBeGreaterThan(files.size);
    // A ConfigMap file, a Jenkins pod template and a file of the gateway's user data are among them.
    expect(texts.some(([where]) => /configmap-prometheus-config\.yaml\.data\.prometheus\.yml$/.test(where))).toBe(true);
    expect(texts.some(([where]) => /\.yaml$/.test(where) && where.includes('jenkins.yaml'))).toBe(true);
    expect(texts.some(([where]) => where.startsWith('gateway/cloud-init.yaml') && where !== 'gateway/cloud-init.yaml')).toBe(true);
    const differing = texts.filter(([, text]) => JSON.stringify(parse(text, { version: '1.1' })) !== JSON.stringify(parse(text, { version: '1.2' })));
    expect(differing.map(([where]) => where)).toEqual([]);
  });

  it('GIVEN the app named on WHEN a YAML 1.1 reader reads its objects THEN its name, namespace and image tags are strings', () => {
    const onObjects = [...files]
      .filter(([path]) => /^k8s\/(dev|off|prod)\/on\//.test(path))
      .map(([path, text]) => [path, parse(text, { version: '1.1' })] as const);
    expect(onObjects.length).toBeGreaterThan(0);
    const deployments = onObjects.filter(([, object]) => object.kind === 'Deployment');
    expect(deployments.map(([, d]) => d.metadata.name)).toEqual(['on', 'on', 'on']);
    expect(deployments.map(([, d]) => d.metadata.namespace).sort()).toEqual(['on-dev', 'on-off', 'on-prod']);
    const tags = deployments.map(([, d]) => d.spec.template.spec.containers.find((c: { name: string }) => c.name === 'app').image.split(':').pop()).sort();
    expect(tags).toEqual(AMBIGUOUS_TAGS.slice(0, 3).sort());
    // Labels that carry the bare name or tag are strings too.
    for (const [path, object] of onObjects) {
      for (const [label, value] of Object.entries<unknown>(object.metadata?.labels ?? {})) expect(typeof value, `${path} ${label}`).toBe('string');
    }
  });
});
