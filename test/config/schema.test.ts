import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ConfigError,
  defaultPlatform,
  exposureOf,
  loadDefaultPlatform,
  loadPlatformFile,
  platformToYaml,
  validatePlatform,
} from '../../config';
import { applyPatch } from '../support/patch';
import { ROOT } from '../support/render';

const INVALID = join(ROOT, 'test/fixtures/invalid');

function problemsOf(input: unknown): readonly string[] {
  try {
    validatePlatform(input, 'fixture');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('the platform model', () => {
  it('accepts the seed platform', () => {
    // GIVEN the default model WHEN it is validated THEN it is the seed described in the design
    const platform = loadDefaultPlatform();
    expect(platform.domain).toBe('lumetium.com');
    expect(Object.keys(platform.nodes)).toEqual(['k3s-master', 'k3s-worker-01', 'k3s-worker-02']);
    expect(Object.values(platform.services).flatMap((s) => (s.host ? [s.host.split('.')[0]] : [])).sort()).toEqual(
      ['argocd', 'ci', 'git', 'grafana', 'registry', 'vault'],
    );
    expect(Object.keys(platform.environments)).toEqual(['dev', 'staging', 'prod']);
    expect(platform.backups.retentionDays).toBe(30);
    expect(platform.ceph.monitors).toHaveLength(3);
  });

  it('places the seed services as the design says', () => {
    const { services } = loadDefaultPlatform();
    const on = (node: string) => Object.entries(services).filter(([, s]) => s.node === node).map(([name]) => name).sort();
    expect(on('k3s-master')).toEqual(['grafana', 'loki', 'prometheus', 'vault']);
    expect(on('k3s-worker-01')).toEqual(['argocd', 'gitlab', 'postgresql', 'redis']);
    expect(on('k3s-worker-02')).toEqual(['alertmanager', 'gitaly', 'harbor', 'jenkins']);
  });

  it('round-trips through the printed YAML', () => {
    // GIVEN the printed default WHEN it is parsed and validated THEN it is the same model
    const printed = platformToYaml(loadDefaultPlatform());
    expect(validatePlatform(parse(printed))).toEqual(loadDefaultPlatform());
  });

  it('accepts another valid platform from a file', () => {
    const platform = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    expect(platform.domain).toBe('example.net');
    expect(Object.keys(platform.nodes)).toEqual(['solo']);
  });

  it('fails when the file does not exist, naming the file', () => {
    expect(() => loadPlatformFile('/nonexistent/platform.yaml')).toThrow(
      '/nonexistent/platform.yaml: the platform model is invalid (1 problem):\n  (file): cannot be read (ENOENT); pass an existing YAML or JSON file to --config',
    );
  });

  it('fails when the file is not YAML', () => {
    expect(() => loadPlatformFile(join(ROOT, 'tsconfig.json'))).not.toThrow(/not valid/);
    expect(() => loadPlatformFile(join(ROOT, 'README.md'))).toThrow(ConfigError);
  });

  it('reports every problem at once, not only the first', () => {
    const input = applyPatch(defaultPlatform, {
      services: { grafana: { host: 'grafana' }, redis: { node: 'nowhere' } },
      backups: { retentionDays: 0 },
    });
    expect(problemsOf(input)).toEqual([
      'backups.retentionDays: 0: must be at least 1 day',
      'services.grafana.host: "grafana": must be a fully qualified domain name under lumetium.com, e.g. "grafana.lumetium.com"',
      'services.redis.node: "nowhere": no such node; place the service on one of: k3s-master, k3s-worker-01, k3s-worker-02',
    ]);
  });

  describe('host exposure (decision 0099)', () => {
    it('GIVEN the seed WHEN its hosts are read THEN GitLab and the prod app are public, the admin tools, Harbor and pre-production mesh-only', () => {
      const platform = loadDefaultPlatform();
      const byExposure = (exposure: string) =>
        [
          ...Object.entries(platform.services).flatMap(([name, s]) => (s.host && exposureOf(s) === exposure ? [name] : [])),
          ...Object.entries(platform.apps.hello.environments).flatMap(([env, e]) => (exposureOf(e) === exposure ? [`hello-${env}`] : [])),
        ].sort();
      expect(byExposure('public')).toEqual(['gitlab', 'hello-prod']);
      expect(byExposure('mesh')).toEqual(['argocd', 'grafana', 'harbor', 'hello-dev', 'hello-staging', 'jenkins', 'vault']);
    });

    it('GIVEN a host without exposure WHEN the model is validated THEN it is mesh-only (closed by default)', () => {
      const platform = validatePlatform(applyPatch(defaultPlatform, { services: { grafana: { exposure: undefined } }, apps: { hello: { environments: { prod: { exposure: undefined } } } } }));
      expect(platform.services.grafana.exposure).toBeUndefined();
      expect(exposureOf(platform.services.grafana)).toBe('mesh');
      expect(exposureOf(platform.apps.hello.environments.prod)).toBe('mesh');
    });

    it('fails when an exposure is neither public nor mesh, naming the path and the choices', () => {
      const input = applyPatch(defaultPlatform, { services: { vault: { exposure: 'private' } }, apps: { hello: { environments: { dev: { exposure: 'internal' } } } } });
      expect(problemsOf(input)).toEqual([
        'apps.hello.environments.dev.exposure: "internal": must be "public" (Cloudflare record and gateway route) or "mesh" (Headscale mesh and cluster only)',
        'services.vault.exposure: "private": must be "public" (Cloudflare record and gateway route) or "mesh" (Headscale mesh and cluster only)',
      ]);
    });

    it('fails when an environment with a public app host asks for staging certificates', () => {
      const input = applyPatch(defaultPlatform, { environments: { prod: { certificateIssuer: 'letsencrypt-staging' } } });
      expect(problemsOf(input)).toEqual([
        'environments.prod.certificateIssuer: "letsencrypt-staging": app hello is public in prod (a proxied Cloudflare record) and Full (strict) refuses Let\'s Encrypt staging certificates (error 526); use "letsencrypt-prod", or make apps.hello.environments.prod.exposure "mesh"',
      ]);
      // A mesh-only environment may use staging: nothing in its path refuses it.
      expect(problemsOf(applyPatch(defaultPlatform, { environments: { dev: { certificateIssuer: 'letsencrypt-staging' } } }))).toEqual([]);
    });

    it('fails when Argo CD or Vault has no host (their UI, API and certificate are served on it)', () => {
      expect(problemsOf(applyPatch(defaultPlatform, { services: { argocd: { host: undefined, exposure: undefined }, vault: { host: undefined, exposure: undefined } } }))).toEqual([
        'services.argocd.host: (missing): Argo CD needs a host for its UI and API; set it, e.g. "argocd.lumetium.com"',
        'services.vault.host: (missing): Vault needs a host under the domain for its UI and its TLS certificate; set it, e.g. "vault.lumetium.com"',
      ]);
    });

    it('fails when a service without a host has an exposure', () => {
      expect(problemsOf(applyPatch(defaultPlatform, { services: { loki: { exposure: 'public' } } }))).toEqual([
        'services.loki.exposure: "public": is set but the service has no host; remove exposure, or set services.loki.host',
      ]);
    });
  });

  it('fails cleanly when whole branches have the wrong shape', () => {
    // Cross-field rules must not crash on a tree that is broken at the root of a branch.
    const input = applyPatch(defaultPlatform, { nodes: 'k3s-master', services: [], cluster: null });
    expect(problemsOf(input)).toEqual([
      'cluster: (missing): required; add it (a mapping (key: value))',
      'nodes: "k3s-master": must be a mapping (key: value), not a string',
      'services: []: must be a mapping (key: value), not a list',
    ]);
  });

  describe('fails with the exact message for each invalid fixture', () => {
    const fixtures = readdirSync(INVALID).filter((f) => f.endsWith('.yaml')).sort();
    it('has fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(10));
    for (const fixture of fixtures) {
      it(`fails when ${fixture.replace(/\.yaml$/, '').replace(/-/g, ' ')}`, () => {
        const { patch, expect: expected } = parse(readFileSync(join(INVALID, fixture), 'utf8')) as { patch: unknown; expect: string[] };
        expect(problemsOf(applyPatch(defaultPlatform, patch))).toEqual(expected);
      });
    }
  });

  it('fails when renovate.schedule is a cron schedule that starts less than twice a year', () => {
    const withSchedule = (schedule: string) => problemsOf({ ...structuredClone(defaultPlatform), renovate: { schedule, suspend: false } });
    // 29 February: once in four years, so no gap for the missed-run alert to measure.
    expect(withSchedule('0 3 29 2 *')).toEqual(['renovate.schedule: "0 3 29 2 *": does not start twice within a year; use e.g. "30 * * * *" (hourly)']);
    expect(withSchedule('0 3 1 */6 *')).toEqual([]);
  });
});

describe("Jenkins' host (the model's rule, not the Jenkins chart's)", () => {
  it('fails when the model gives Jenkins no host: its UI and GitLab webhooks need one', () => {
    const seed = loadDefaultPlatform();
    const noHost = { ...seed, services: { ...seed.services, jenkins: { node: seed.services.jenkins.node } } };
    expect(problemsOf(noHost)).toEqual([`services.jenkins.host: (missing): jenkins needs a host: its UI and GitLab's webhooks reach it by name; set it, e.g. "ci.${seed.domain}"`]);
  });
});
