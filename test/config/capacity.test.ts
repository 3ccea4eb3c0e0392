/**
 * Capacity as a model rule (issue 13 item 4, issue 17 item 4): every volume claim, the snapshots of
 * a running backup and what the backups keep in the RADOS Gateway (the archives, and Velero's
 * repository unless it is off site) fit below Ceph's nearfull ratio,
 * and the rule counts exactly the claims the render makes.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadDefaultPlatform, validatePlatform, type Platform } from '../../config';
import { capacityBudget, capacityProblem, REPOSITORY_GC_DAYS, volumeClaims } from '../../config/capacity';
import { defaultRender, kubeObjects } from '../support/render';

const platform = loadDefaultPlatform();
const files = defaultRender();

/** The smallest raw capacity the model's claims fit in (GiB). */
function minimalRawGiB(model: Platform): number {
  const b = capacityBudget(model);
  return Math.ceil((b.totalGiB / b.nearfullRatio) * b.replication);
}

function refusal(model: unknown): string {
  try {
    validatePlatform(model);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.join('\n');
  }
  throw new Error('the model was accepted');
}

/** `<n>Gi` quantities as GiB. */
const gibOf = (quantity: string) => {
  const match = /^(\d+)Gi$/.exec(quantity);
  if (!match) throw new Error(`${quantity}: not a whole number of Gi`);
  return Number(match[1]);
};

describe('the capacity rule', () => {
  const onRgw: Platform = { ...platform, backups: { ...platform.backups, offsite: undefined } };
  const archivesPerDay = (model: Platform) => model.backups.archiveGiB.postgresql + model.backups.archiveGiB.vault + model.backups.archiveGiB.gitlab;

  it('GIVEN the seed WHEN checked THEN its volumes, the snapshots of a running backup and the archives in the RADOS Gateway fit below the nearfull ratio of its raw capacity', () => {
    const b = capacityBudget(platform);
    expect(capacityProblem(platform)).toBeUndefined();
    expect(b.totalGiB).toBeLessThanOrEqual((platform.ceph.capacityGiB / platform.ceph.replication) * platform.ceph.nearfullRatio);
    expect(b.totalGiB).toBeCloseTo(b.claimsGiB + b.snapshotReserveGiB + b.backupRepositoryGiB + b.archivesGiB);
    expect(b.archivesGiB).toBeGreaterThan(0);
  });

  it('GIVEN the data mover deletes each snapshot once its data is uploaded WHEN the reserve is computed THEN it covers one day of change, whatever the retention', () => {
    const change = platform.backups.snapshotDailyChangePercent / 100;
    const b = capacityBudget(platform);
    expect(b.snapshotReserveGiB).toBeCloseTo(b.claimsGiB * change);
    const longer = capacityBudget({ ...platform, backups: { ...platform.backups, retentionDays: platform.backups.retentionDays * 2 } });
    expect(longer.snapshotReserveGiB).toBeCloseTo(b.snapshotReserveGiB);
  });

  it('GIVEN backups.offsite WHEN the budget is computed THEN Velero\'s repository costs the Ceph cluster nothing', () => {
    expect(platform.backups.offsite).toBeDefined();
    expect(capacityBudget(platform).backupRepositoryGiB).toBe(0);
  });

  it('GIVEN Velero writes to the RADOS Gateway of the same cluster WHEN the repository is estimated THEN it holds every claim once plus each day of change kept, and grows with the retention', () => {
    const change = onRgw.backups.snapshotDailyChangePercent / 100;
    const b = capacityBudget(onRgw);
    expect(b.backupRepositoryGiB).toBeCloseTo(b.claimsGiB * (1 + change * (onRgw.backups.retentionDays + REPOSITORY_GC_DAYS)));
    expect(b.backupRepositoryGiB).toBeGreaterThan(b.claimsGiB);
    const days = 7;
    const longer = capacityBudget({ ...onRgw, backups: { ...onRgw.backups, retentionDays: onRgw.backups.retentionDays + days } });
    expect(longer.backupRepositoryGiB - b.backupRepositoryGiB).toBeCloseTo(b.claimsGiB * change * days);
  });

  it('GIVEN the dumps, Vault snapshots and GitLab archives WHEN counted THEN each kind takes retention + 1 archives of its model size, off site or not', () => {
    for (const model of [platform, onRgw]) {
      expect(capacityBudget(model).archivesGiB).toBeCloseTo(archivesPerDay(model) * (model.backups.retentionDays + 1));
    }
    const bigger = capacityBudget({ ...platform, backups: { ...platform.backups, archiveGiB: { ...platform.backups.archiveGiB, gitlab: platform.backups.archiveGiB.gitlab + 1 } } });
    expect(bigger.archivesGiB - capacityBudget(platform).archivesGiB).toBeCloseTo(platform.backups.retentionDays + 1);
  });

  it('GIVEN the smallest raw capacity that fits WHEN validated THEN it is accepted', () => {
    expect(() => validatePlatform({ ...platform, ceph: { ...platform.ceph, capacityGiB: minimalRawGiB(platform) } })).not.toThrow();
    expect(() => validatePlatform({ ...onRgw, ceph: { ...onRgw.ceph, capacityGiB: minimalRawGiB(onRgw) } })).not.toThrow();
  });

  it('fails when ceph.capacityGiB is too small, naming each claim with its size and setting, the archives, the total and the budget', () => {
    const raw = minimalRawGiB(platform) - 1;
    const message = refusal({ ...platform, ceph: { ...platform.ceph, capacityGiB: raw } });
    expect(message).toMatch(new RegExp(`^ceph\\.capacityGiB: ${raw}: ${raw} GiB raw at ${platform.ceph.replication}x replication`));
    for (const claim of volumeClaims(platform)) expect(message).toContain(`${claim.what} ${claim.sizeGiB} GiB (${claim.sizedBy})`);
    const b = capacityBudget(platform);
    expect(message).toContain(`the volumes claim ${b.claimsGiB} GiB`);
    expect(message).toContain(`the archives in the RADOS Gateway ${Math.round(b.archivesGiB * 10) / 10} GiB (${platform.backups.retentionDays} + 1 days of PostgreSQL ${platform.backups.archiveGiB.postgresql} GiB`);
    // Off site, Velero's repository is not part of the sum, nor of the message.
    expect(message).not.toContain("Velero's repository");
    expect(message).toContain(`raise ceph.capacityGiB to at least ${minimalRawGiB(platform)}`);
  });

  it('fails when Velero\'s repository would be in the RADOS Gateway of a seed-sized cluster, and says that backups.offsite is the way out', () => {
    const message = refusal(onRgw);
    const b = capacityBudget(onRgw);
    expect(message).toContain(`Velero's repository in the RADOS Gateway ${Math.round(b.backupRepositoryGiB * 10) / 10} GiB`);
    expect(message).toContain(`raise ceph.capacityGiB to at least ${minimalRawGiB(onRgw)}`);
    expect(message).toMatch(/or set backups\.offsite to keep Velero's repository in AWS$/);
  });

  it('fails when more copies, a longer retention or larger archives no longer fit', () => {
    expect(refusal({ ...platform, ceph: { ...platform.ceph, replication: platform.ceph.replication + 1 } })).toMatch(/^ceph\.capacityGiB: .* over the budget/);
    expect(refusal({ ...platform, backups: { ...platform.backups, retentionDays: platform.backups.retentionDays * 3 } })).toMatch(/the archives in the RADOS Gateway .* over the budget/);
    expect(refusal({ ...platform, backups: { ...platform.backups, archiveGiB: { ...platform.backups.archiveGiB, postgresql: 1 } } })).toMatch(/PostgreSQL 1 GiB.* over the budget/);
  });

  it('fails when the nearfull ratio is at or above the full ratio', () => {
    expect(refusal({ ...platform, ceph: { ...platform.ceph, nearfullRatio: 0.95 } })).toContain('ceph.nearfullRatio: 0.95: must be below 0.95');
  });

  it('GIVEN a model without replication, nearfull ratio or change rate WHEN validated THEN Ceph defaults and 1% a day apply', () => {
    const { replication: _r, nearfullRatio: _n, ...ceph } = platform.ceph;
    const { snapshotDailyChangePercent: _s, ...backups } = platform.backups;
    const parsed = validatePlatform({ ...platform, ceph, backups });
    expect([parsed.ceph.replication, parsed.ceph.nearfullRatio, parsed.backups.snapshotDailyChangePercent]).toEqual([3, 0.85, 1]);
  });
});

describe('the claims the rule counts are the claims the render makes', () => {
  const objects = kubeObjects(files);
  const applications = objects.filter(({ object }) => object.kind === 'Application' && object.metadata.namespace === 'argocd');
  const claims = volumeClaims(platform);

  it('GIVEN the render WHEN every rendered claim template is listed THEN each is a rendered claim of the rule with the same size', () => {
    const rendered = objects.flatMap(({ path, object }) => {
      const service = path.split('/')[2];
      const templates = (object.spec as { volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[] } | undefined)?.volumeClaimTemplates ?? [];
      const own = object.kind === 'PersistentVolumeClaim' ? [{ spec: object.spec as { resources: { requests: { storage: string } } } }] : templates;
      return own.map((t) => ({ service, namespace: object.metadata.namespace, sizeGiB: gibOf(t.spec.resources.requests.storage) }));
    });
    const expected = claims.filter((c) => c.origin === 'rendered').map(({ service, namespace, sizeGiB }) => ({ service, namespace, sizeGiB }));
    const key = (c: { service: string; sizeGiB: number }) => `${c.service}/${c.sizeGiB}`;
    expect(rendered.map(key).sort()).toEqual(expected.map(key).sort());
    for (const claim of rendered) expect(expected.find((e) => e.service === claim.service)?.namespace).toBe(claim.namespace);
  });

  it('GIVEN the charts that create claims WHEN their values are read THEN every size they set is a chart claim of the rule, and no claim is missing', () => {
    const sizes = (values: unknown, path = ''): { path: string; sizeGiB: number }[] => {
      if (!values || typeof values !== 'object') return [];
      return Object.entries(values).flatMap(([k, v]) =>
        k === 'size' && typeof v === 'string' && /^\d+Gi$/.test(v) ? [{ path: `${path}${k}`, sizeGiB: gibOf(v) }] : sizes(v, `${path}${k}.`),
      );
    };
    const chartClaims = applications.flatMap(({ object }) => {
      const spec = object.spec as { source?: { helm?: { valuesObject: unknown } }; sources?: { helm?: { valuesObject: unknown } }[] };
      const values = [spec.source, ...(spec.sources ?? [])].find((s) => s?.helm)?.helm?.valuesObject;
      return sizes(values).map((s) => ({ service: object.metadata.name, ...s }));
    });
    const expected = claims.filter((c) => c.origin === 'chart');
    expect(chartClaims.map((c) => `${c.service}/${c.sizeGiB}`).sort()).toEqual(expected.map((c) => `${c.service}/${c.sizeGiB}`).sort());
  });

  it('GIVEN the charts WHEN their values are read THEN no claim of a chart default size is switched on', () => {
    const values = (name: string) => {
      const app = applications.find(({ object }) => object.metadata.name === name)!.object.spec as { source?: { helm: { valuesObject: any } }; sources?: { helm?: { valuesObject: any } }[] };
      return (app.source ?? app.sources!.find((s) => s.helm))!.helm!.valuesObject;
    };
    // harbor 1.19.1 templates/jobservice/jobservice-pvc.yaml: a 1Gi job-log claim whenever jobLoggers has "file".
    expect(values('harbor').jobservice.jobLoggers).not.toContain('file');
    // harbor 1.19.1: the database and Redis claims exist only for the internal ones.
    expect([values('harbor').database.type, values('harbor').redis.type]).toEqual(['external', 'external']);
    // vault 0.34.1 values.yaml: server.auditStorage (10Gi by default) only when enabled.
    expect(values('vault').server.auditStorage.enabled).toBe(false);
    // gitlab 9.8.4: the bundled MinIO, PostgreSQL, Redis and Prometheus would each claim a volume.
    const gitlab = values('gitlab');
    expect([gitlab.global.minio.enabled, gitlab.postgresql.install, gitlab.redis.install, gitlab.prometheus.install]).toEqual([false, false, false, false]);
  });

  it('GIVEN the daily backup WHEN its namespaces are read THEN every claim is in one of them (the reserve covers all claims)', () => {
    const schedule = objects.find(({ object }) => object.kind === 'Schedule')!.object as unknown as { spec: { template: { includedNamespaces: string[]; ttl: string } } };
    for (const claim of claims) expect(schedule.spec.template.includedNamespaces, claim.what).toContain(claim.namespace);
    expect(parse(`"${schedule.spec.template.ttl}"`)).toBe(`${platform.backups.retentionDays * 24}h0m0s`);
  });
});
