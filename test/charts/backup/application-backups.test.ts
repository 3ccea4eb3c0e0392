/**
 * The PostgreSQL dumps and Vault raft snapshots: what the render schedules, where it uploads,
 * that the scripts pass shellcheck, that the upload prunes only after a successful upload (run for
 * real against a stand-in rclone), and that the dump script dumps a real PostgreSQL server.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Testing } from 'cdk8s';
import { defaultPlatform, loadDefaultPlatform, validatePlatform } from '../../../config';
import {
  ApplicationBackups,
  DUMP_PREFIXES,
  type ApplicationBackupsProps,
  dumpScript,
  snapshotScript,
  uploadScript,
} from '../../../charts/backup/application-backups';
import { DATABASES } from '../../../charts/lib/data-endpoints';
import { VAULT_AGENT_UID, VAULT_TOKEN_VOLUME } from '../../../charts/lib/vault';
import { BACKUPS_NAMESPACE, GITLAB_BACKUP_CRONJOB, POSTGRESQL_DUMP, VAULT_SNAPSHOT, WATCHED_BACKUP_CRONJOBS } from '../../../charts/lib/backup-jobs';
import { GITLAB_NAMESPACE, GITLAB_RAILS_SECRET, GITLAB_RELEASE, GitLab } from '../../../charts/source/gitlab';
import { hasCommand, requireValidator } from '../../support/validators';

const platform = loadDefaultPlatform();
const PROPS: Omit<ApplicationBackupsProps, 'plan'> = {
  dumpBucket: 'platform-dumps',
  region: 'eu-1',
  rgwUrl: 'http://192.168.10.21:7480',
  retentionDays: 14,
  postgresqlStorageGiB: 8,
  vaultTlsServerName: 'vault.example.test',
};

/** The application backups alone, with their own connections planned. */
function synth(props: Omit<ApplicationBackupsProps, 'plan'> = PROPS): any[] {
  const chart = Testing.chart();
  new ApplicationBackups(chart, 'application-backups', { ...props, plan: { connections: ApplicationBackups.registration.connections!(platform) } });
  return Testing.synth(chart);
}
const rendered = synth();
const objects = () => rendered;
const cronJob = (name: string) => objects().find((o) => o.kind === 'CronJob' && o.metadata.namespace === BACKUPS_NAMESPACE && o.metadata.name === name);
const podOf = (name: string) => cronJob(name).spec.jobTemplate.spec.template;
const scripts = (name: string) => objects().find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-scripts`).data as Record<string, string>;
const env = (container: any) => Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));

describe('the application-consistent backups', () => {
  it('GIVEN the application backups WHEN they render THEN a daily dump and a daily raft snapshot run once at a time, each producer before its upload', () => {
    for (const [name, producer, image] of [
      [POSTGRESQL_DUMP, 'dump', /^postgres:/],
      [VAULT_SNAPSHOT, 'snapshot', /^hashicorp\/vault:/],
    ] as const) {
      const job = cronJob(name);
      expect(job.spec.schedule, name).toMatch(/^\d+ \d+ \* \* \*$/);
      expect(job.spec.concurrencyPolicy).toBe('Forbid');
      const pod = podOf(name).spec;
      expect(pod.initContainers.map((c: any) => c.name)).toEqual([producer]);
      expect(pod.initContainers[0].image).toMatch(image);
      expect(pod.containers.map((c: any) => c.name)).toEqual(['upload']);
      expect(pod.containers[0].image).toMatch(/^rclone\/rclone:/);
      // Read once at start: the agent runs as an init container only, so the Job can finish.
      expect(podOf(name).metadata.annotations['vault.hashicorp.com/agent-pre-populate-only']).toBe('true');
      expect(podOf(name).metadata.annotations['vault.hashicorp.com/role']).toBe(name);
      // No claim: the dump waits in an emptyDir, the bucket holds it.
      expect(pod.volumes.filter((v: any) => v.persistentVolumeClaim)).toEqual([]);
    }
  });

  it('GIVEN the backup pods WHEN they render THEN each container runs as the user its image is built for under a pod context that pins none, and only the snapshot producer mounts the Vault token', () => {
    for (const [name, uid] of [
      [POSTGRESQL_DUMP, 999], // the postgres image's `postgres` user
      [VAULT_SNAPSHOT, VAULT_AGENT_UID],
    ] as const) {
      const pod = podOf(name).spec;
      expect(pod.securityContext.runAsUser, name).toBeUndefined();
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.initContainers[0].securityContext).toMatchObject({ runAsUser: uid, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(pod.containers[0].securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.containers[0].securityContext.runAsUser).not.toBe(uid);
      const tokenMounts = (c: any) => (c.volumeMounts ?? []).filter((m: any) => m.name === VAULT_TOKEN_VOLUME);
      expect(tokenMounts(pod.containers[0])).toEqual([]);
      expect(tokenMounts(pod.initContainers[0]).map((m: any) => m.readOnly)).toEqual(name === VAULT_SNAPSHOT ? [true] : []);
    }
  });

  it('GIVEN a dump bucket, an RGW URL and 14 days WHEN the uploads render THEN they go to that bucket on that endpoint, each kind under its prefix, pruned after 14 days', () => {
    for (const name of [POSTGRESQL_DUMP, VAULT_SNAPSHOT] as const) {
      const upload = env(podOf(name).spec.containers[0]);
      expect(upload.BUCKET).toBe(PROPS.dumpBucket);
      expect(upload.RCLONE_CONFIG_RGW_ENDPOINT).toBe(PROPS.rgwUrl);
      expect(upload.RCLONE_CONFIG_RGW_REGION).toBe(PROPS.region);
      expect(upload.RCLONE_CONFIG_RGW_PROVIDER).toBe('Ceph');
      expect(scripts(name)['upload.sh']).toBe(uploadScript(DUMP_PREFIXES[name], PROPS.retentionDays));
      expect(scripts(name)['upload.sh']).toContain('--min-age 14d');
    }
    // The dump's emptyDir holds as much as PostgreSQL's volume; the snapshot Job verifies Vault's name.
    expect(podOf(POSTGRESQL_DUMP).spec.volumes).toContainEqual({ name: 'out', emptyDir: { sizeLimit: '8Gi' } });
    expect(env(podOf(VAULT_SNAPSHOT).spec.initContainers[0]).VAULT_TLS_SERVER_NAME).toBe(PROPS.vaultTlsServerName);
    // The seed keeps the dumps apart from Velero's bucket (the schema enforces it, below).
    expect(platform.backups.dumpBucket).not.toBe(platform.ceph.rgw.bucket);
    expect(scripts(POSTGRESQL_DUMP)['backup.sh']).toBe(dumpScript());
    expect(scripts(VAULT_SNAPSHOT)['backup.sh']).toBe(snapshotScript());
    // Every platform database is dumped.
    for (const { database } of DATABASES) expect(dumpScript()).toContain(database);
  });

  it('GIVEN the seed WHEN GitLab\'s chart values render THEN its own backup CronJob runs daily into its backups bucket, keeping backups.retentionDays archives, and the alerts watch it', () => {
    const values = GitLab.registration.helm!(platform).values as any;
    const cron = values.gitlab.toolbox.backups.cron;
    expect(cron.enabled).toBe(true);
    expect(cron.schedule).toMatch(/^\d+ \d+ \* \* \*$/);
    expect(cron.concurrencyPolicy).toBe('Forbid');
    expect(cron.extraArgs).toBe(`--maximum-backups ${platform.backups.retentionDays}`);
    expect(values.global.appConfig.backups.bucket).toBe(`${platform.gitlab.bucketPrefix}-backups`);
    expect(values.global.railsSecrets.secret).toBe(GITLAB_RAILS_SECRET);
    // The name the toolbox subchart gives its CronJob in GitLab's release and namespace.
    expect(GITLAB_BACKUP_CRONJOB).toEqual({ namespace: GITLAB_NAMESPACE, name: `${GITLAB_RELEASE}-toolbox-backup` });
    expect(WATCHED_BACKUP_CRONJOBS[GITLAB_NAMESPACE]).toEqual([GITLAB_BACKUP_CRONJOB.name]);
    expect(WATCHED_BACKUP_CRONJOBS[BACKUPS_NAMESPACE]).toEqual([POSTGRESQL_DUMP, VAULT_SNAPSHOT]);
    // Every CronJob rendered in the backups namespace is watched.
    const rendered = objects().filter((o) => o.kind === 'CronJob' && o.metadata.namespace === BACKUPS_NAMESPACE).map((o) => o.metadata.name);
    expect(rendered.sort()).toEqual([...WATCHED_BACKUP_CRONJOBS[BACKUPS_NAMESPACE]].sort());
  });

  it('fails when backups.dumpBucket is Velero\'s bucket', () => {
    const model = structuredClone(defaultPlatform) as any;
    model.backups.dumpBucket = model.ceph.rgw.bucket;
    expect(() => validatePlatform(model)).toThrow(/backups\.dumpBucket.*"velero-backups" is Velero's bucket \(ceph\.rgw\.bucket\)/);
  });

  it('passes shellcheck (dump, snapshot and upload scripts)', (ctx) => {
    if (!requireValidator('shellcheck', hasCommand('shellcheck'), 'apt-get install shellcheck')) ctx.skip();
    for (const script of [dumpScript(), snapshotScript(), uploadScript('postgresql', 30)]) {
      const result = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '-'], { input: script, encoding: 'utf8' });
      expect(result.stdout, script).toBe('');
      expect(result.status).toBe(0);
    }
  });

  describe('upload.sh, run against a stand-in rclone', () => {
    /** A fake `rclone` on PATH: logs its arguments, fails `copy` when told to. */
    function run(failCopy: boolean) {
      const dir = mkdtempSync(join(tmpdir(), 'upload-'));
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const log = join(dir, 'calls');
      writeFileSync(join(bin, 'rclone'), `#!/bin/sh\necho "$*" >> ${log}\nif [ "$1" = copy ] && [ -n "\${FAIL_COPY:-}" ]; then exit 1; fi\n`);
      chmodSync(join(bin, 'rclone'), 0o755);
      const result = spawnSync('sh', ['-c', uploadScript('postgresql', 30)], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, BUCKET: 'platform-dumps', ...(failCopy ? { FAIL_COPY: '1' } : {}) },
      });
      const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
      return { result, calls };
    }

    it('GIVEN a dump WHEN the upload succeeds THEN it lands under a new UTC time prefix and older dumps are pruned after', () => {
      const { result, calls } = run(false);
      expect(result.status, result.stderr).toBe(0);
      expect(calls).toHaveLength(3);
      expect(calls[0]).toMatch(/^copy \/backup rgw:platform-dumps\/postgresql\/\d{8}T\d{6}Z$/);
      expect(calls[1]).toBe('delete --min-age 30d rgw:platform-dumps/postgresql');
      expect(calls[2]).toBe('rmdirs --leave-root rgw:platform-dumps/postgresql');
    });

    it('fails when the upload fails, and then deletes nothing', () => {
      const { result, calls } = run(true);
      expect(result.status).not.toBe(0);
      expect(calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    });
  });

  it('GIVEN a running PostgreSQL with the platform databases WHEN dump.sh runs THEN pg_restore reads every archive back', (ctx) => {
    const base = '/usr/lib/postgresql';
    const version = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)).find((v) => existsSync(join(base, v, 'bin', 'initdb'))) : undefined;
    if (!requireValidator('PostgreSQL server (initdb, pg_dump)', version !== undefined, 'apt-get install postgresql')) ctx.skip();
    const bin = join(base, version!, 'bin');
    // initdb refuses root: as root, run everything as the postgres user the package creates.
    const asRoot = userInfo().uid === 0;
    const uid = asRoot ? Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : userInfo().uid;
    const gid = asRoot ? Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : userInfo().gid;
    const dir = mkdtempSync(join(tmpdir(), 'pgdump-'));
    const data = join(dir, 'data');
    const out = join(dir, 'out');
    const socket = join(dir, 'socket');
    const pw = join(dir, 'superuser');
    for (const sub of [out, socket]) mkdirSync(sub);
    writeFileSync(pw, 'not-a-real-password');
    chmodSync(dir, 0o755);
    if (asRoot) for (const path of [dir, out, socket, pw]) chownSync(path, uid, gid);
    const options: SpawnSyncOptions = { encoding: 'utf8', cwd: dir, timeout: 120_000, env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir }, ...(asRoot ? { uid, gid } : {}) };
    const sh = (cmd: string, args: string[]) => {
      const r = spawnSync(join(bin, cmd), args, options);
      expect(r.status, `${cmd}: ${String(r.stderr)}`).toBe(0);
      return String(r.stdout);
    };
    sh('initdb', ['-D', data, '-U', 'postgres', '--auth=trust']);
    sh('pg_ctl', ['-D', data, '-w', '-s', `--log=${join(dir, 'server.log')}`, '-o', `-c listen_addresses='' -c unix_socket_directories=${socket}`, 'start']);
    try {
      for (const { database } of DATABASES) {
        sh('psql', ['-h', socket, '-U', 'postgres', '-c', `CREATE DATABASE ${database}`]);
        sh('psql', ['-h', socket, '-U', 'postgres', '-d', database, '-c', "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"]);
      }
      // The rendered script, pointed at this server's socket and folders instead of the cluster's.
      const script = dumpScript().replace(/PGHOST=\S+/, `PGHOST=${socket}`).replaceAll('/vault/secrets/superuser', pw).replaceAll('/backup', out);
      const result = spawnSync('sh', ['-c', script], options);
      expect(result.status, String(result.stderr)).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['globals.sql', ...DATABASES.map((d) => `${d.database}.dump`)].sort());
      expect(readFileSync(join(out, 'globals.sql'), 'utf8')).toContain('CREATE ROLE postgres');
      for (const { database } of DATABASES) expect(sh('pg_restore', ['--list', join(out, `${database}.dump`)])).toMatch(/TABLE DATA public t /);
    } finally {
      spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-w', '-m', 'fast', 'stop'], options);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
