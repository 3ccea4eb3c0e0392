/**
 * Bring-up in order (issue 13 item 3): from an empty cluster and what the README's runbook makes
 * by hand, every Application's prerequisites exist by its sync wave (test/support/bringup.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderPlatform } from '../cli/render';
import { loadDefaultPlatform, validatePlatform, type Platform } from '../config';
import { connect } from '../charts/lib/network';
import { Loki } from '../charts/observability/loki';
import { GRAFANA, LOKI } from '../charts/observability/workloads';
import { bringupApplications, chartSecretReferences, entriesLoadedByScript, runbookFromReadme, walkBringup } from './support/bringup';
import { defaultRender, ROOT } from './support/render';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const runbook = runbookFromReadme(readme);
const platform = loadDefaultPlatform();
const files = defaultRender();

/** The render with one Application's sync wave changed, as if its service declared another. */
function withWave(render: ReadonlyMap<string, string>, application: string, wave: number): Map<string, string> {
  const path = [...render.keys()].find((p) => p.endsWith(`/apps/application-${application}.yaml`));
  if (!path) throw new Error(`no Application ${application} in the render`);
  const object = parse(render.get(path)!) as { metadata: { annotations: Record<string, string> } };
  object.metadata.annotations['argocd.argoproj.io/sync-wave'] = String(wave);
  return new Map([...render, [path, stringify(object)]]);
}

/** The seed's Applications, walked once for the waves the tests name. */
const seedApplications = bringupApplications(platform, files, runbook);
const waveOf = (name: string) => seedApplications.find((a) => a.name === name)!.wave;

afterEach(() => vi.restoreAllMocks());

describe('the runbook as the walk reads it', () => {
  it('GIVEN the README WHEN read THEN the hand-made Secrets exist before Argo CD, the chart Secrets at the Vault step, the environments last', () => {
    // The Secrets read by the first waves (ceph-csi, cert-manager) are made before Argo CD starts.
    expect(runbook.beforeArgoCd.secrets.size).toBeGreaterThan(0);
    for (const secret of runbook.beforeArgoCd.secrets) expect(runbook.beforeArgoCd.namespaces.has(secret.split('/')[0]), secret).toBe(true);
    // Every Secret a chart's values name is created by the runbook or rendered.
    const named = bringupApplications(platform, files, runbook).flatMap((app) => chartSecretReferences(app.helmValues ?? {}).map((r) => `${app.namespace}/${r.name}`));
    expect(named.length).toBeGreaterThan(5);
    expect(runbook.atVaultStep.secrets.size).toBeGreaterThan(5);
    expect(runbook.environmentRootsAfterPlatform).toBe(true);
  });

  it('GIVEN the rendered load-kv.sh WHEN read THEN a value GitLab issues is loaded after GitLab runs, not at the Vault step', () => {
    const entries = entriesLoadedByScript(files);
    const issued = [...entries].filter(([, e]) => e.issuedBy !== undefined);
    expect(issued.length).toBeGreaterThan(0);
    for (const [, entry] of issued) expect(seedApplications.some((a) => a.name === entry.issuedBy), entry.issuedBy).toBe(true);
  });
});

describe('the bring-up walk', () => {
  it('GIVEN the seed model WHEN the platform comes up from an empty cluster THEN every prerequisite exists by its wave', () => {
    expect(walkBringup(platform, files, runbook)).toEqual([]);
  });

  it('GIVEN a model with no apps WHEN the platform comes up THEN every prerequisite exists by its wave', () => {
    const noApps: Platform = validatePlatform({ ...platform, apps: {} });
    const render = renderPlatform(noApps);
    const apps = bringupApplications(noApps, render, runbook);
    expect(apps.some((a) => a.env !== 'platform')).toBe(false);
    expect(walkBringup(noApps, render, runbook)).toEqual([]);
  });

  it('fails when Jenkins syncs before GitLab can issue its token (the wave-3 stall)', () => {
    const wave = waveOf('vault');
    const findings = walkBringup(platform, withWave(files, 'jenkins', wave), runbook);
    expect(findings).toEqual(
      expect.arrayContaining([
        `jenkins (wave ${wave}) needs the Vault agent injector for consumer jenkins, installed by vault (wave ${wave})`,
        `jenkins (wave ${wave}) needs vault entry secret/data/jenkins/gitlab-api-token, written once gitlab (wave ${waveOf('gitlab')}) runs and issues it`,
      ]),
    );
    const late = withWave(files, 'jenkins', waveOf('gitlab'));
    expect(walkBringup(platform, late, runbook)).toContain(
      `jenkins (wave ${waveOf('gitlab')}) needs vault entry secret/data/jenkins/gitlab-api-token, written once gitlab (wave ${waveOf('gitlab')}) runs and issues it`,
    );
  });

  it('fails when custom resources sync in the wave of the chart that installs their CRDs', () => {
    const findings = walkBringup(platform, withWave(files, 'velero-config', waveOf('velero')), runbook);
    expect(findings).toContain(`velero-config (wave ${waveOf('velero')}) needs the CRD of Schedule (velero.io), installed by velero (wave ${waveOf('velero')})`);
  });

  it('fails when objects go to a namespace a later wave creates (Prometheus grants with Prometheus)', () => {
    const findings = walkBringup(platform, withWave(files, 'prometheus-discovery', waveOf('prometheus')), runbook);
    expect(findings).toContain(
      `prometheus-discovery (wave ${waveOf('prometheus')}) needs namespace gitlab for RoleBinding prometheus-discovery-gitlab, created by gitlab (wave ${waveOf('gitlab')})`,
    );
  });

  it('fails when a client syncs before the server it needs to become Healthy', () => {
    const findings = walkBringup(platform, withWave(files, 'gitlab', waveOf('postgresql') - 1), runbook);
    expect(findings.some((f) => f.startsWith(`gitlab (wave ${waveOf('postgresql') - 1}) needs databases/postgresql (GitLab database`))).toBe(true);
  });

  it('fails when a chart names a Secret the runbook does not create', () => {
    const without = readme.replace(/^kubectl -n harbor create secret generic harbor-redis .*$/m, '');
    expect(without).not.toBe(readme);
    // Harbor's components read the password by secretKeyRef in their extraEnvVars (decision 0060).
    expect(walkBringup(platform, files, runbookFromReadme(without))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^harbor \(wave \d+\) needs Secret harbor\/harbor-redis \(chart value \S+extraEnvVars\.\d+\.valueFrom\.secretKeyRef\.name\), which nothing creates$/)]),
    );
  });

  it('fails when the environments are applied with the platform root (their apps need its namespaces)', () => {
    const together = readme.replace(
      /^(kubectl apply -n argocd -f dist\/k8s\/platform\/bootstrap\/)$/m,
      '$1\nkubectl apply -n argocd -f dist/k8s/dev/bootstrap/',
    );
    const findings = walkBringup(platform, files, runbookFromReadme(together));
    expect(findings.some((f) => /^hello-dev \(wave \d+, dev root\) needs namespace hello-dev/.test(f))).toBe(true);
  });

  it('fails with the chain named when two Applications of one wave each wait for the other', () => {
    const declared = Loki.registration.connections!;
    vi.spyOn(Loki.registration, 'connections').mockImplementation((p) => [...declared(p), connect({ workload: LOKI }, GRAFANA, ['http'], 'planted: Loki waits for Grafana')]);
    // Grafana syncs after GitLab (its sign-in client); put it in Loki's wave for the cycle to form.
    const findings = walkBringup(platform, withWave(files, 'grafana', waveOf('loki')), runbook);
    expect(findings.filter((f) => f.startsWith('cycle: '))).toEqual([
      expect.stringMatching(/^cycle: (grafana|loki) \(wave \d+\) needs monitoring\/(loki|grafana) .*, which (loki|grafana) \(wave \d+\) needs monitoring\/(grafana|loki) /),
    ]);
  });
});
