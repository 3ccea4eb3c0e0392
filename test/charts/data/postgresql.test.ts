import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadPlatformFile } from '../../../config';
import { IMAGES } from '../../../config/versions';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { DATABASES } from '../../../charts/lib/data-endpoints';
import { INIT_SCRIPT, POSTGRESQL_CONSUMER, Postgresql, initSql, pgHbaConf, postgresqlConf, type PostgresqlProps } from '../../../charts/data/postgresql';
import { secretPath } from '../../../charts/lib/vault';
import { ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';
import { hasCommand, requireValidator } from '../../support/validators';

const PROPS: PostgresqlProps = { node: 'node-a', storageGiB: 25, vaultTlsServerName: 'vault.example.com' };

function synth(props: PostgresqlProps = PROPS): any[] {
  const chart = Testing.chart();
  new Postgresql(chart, 'postgresql', props);
  return Testing.synth(chart);
}
const find = (objects: any[], kind: string, name = 'postgresql') => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === 'databases');

describe('PostgreSQL', () => {
  const statefulSet = (props?: PostgresqlProps) => find(synth(props), 'StatefulSet');
  const pod = (props?: PostgresqlProps) => statefulSet(props).spec.template.spec;

  it('GIVEN a node WHEN rendered THEN it is one StatefulSet on that node behind the headless Service postgresql:5432, with its exporter on 9187', () => {
    const objects = synth();
    const service = find(objects, 'Service');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'postgresql' });
    expect(service.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['postgres', 5432], ['metrics', 9187]]);
    const set = find(objects, 'StatefulSet');
    expect(set.spec.serviceName).toBe('postgresql');
    expect(set.spec.replicas).toBe(1);
    expect(set.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
    expect(set.spec.template.spec.containers.map((c: any) => [c.name, c.image])).toEqual([
      ['postgresql', IMAGES.postgres],
      ['exporter', IMAGES.postgresExporter],
    ]);
  });

  it('GIVEN a volume size WHEN rendered THEN its data is on a ceph-rbd claim of that size, kept when the StatefulSet goes', () => {
    const set = statefulSet({ ...PROPS, storageGiB: 17 });
    const [claim] = set.spec.volumeClaimTemplates;
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: '17Gi' } } });
    expect(set.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('GIVEN any props WHEN rendered THEN the fields a running StatefulSet cannot change keep the values it was created with: selector, serviceName, podManagementPolicy and the claim template named data with the database labels', () => {
    const set = statefulSet();
    expect(set.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'postgresql' } });
    expect(set.spec.serviceName).toBe('postgresql');
    expect(set.spec.podManagementPolicy).toBe('OrderedReady');
    expect(set.spec.volumeClaimTemplates.map((t: any) => t.metadata)).toEqual([{ name: 'data', labels: set.metadata.labels }]);
    expect(set.metadata.labels['app.kubernetes.io/component']).toBe('database');
  });

  it('GIVEN any props WHEN rendered THEN the init step mounts its script, the server does not, and the exporter sees only the in-memory socket', () => {
    const mounts = (c: any) => c.volumeMounts.map((m: any) => m.name);
    expect(mounts(pod().initContainers[0])).toEqual(['data', 'config', 'init', 'socket', 'tmp']);
    expect(pod().containers.map(mounts)).toEqual([['data', 'config', 'socket', 'tmp'], ['socket']]);
    expect(pod().volumes.find((v: any) => v.name === 'socket').emptyDir.medium).toBe('Memory');
    expect(pod().containers[0].readinessProbe.exec.command[0]).toBe('pg_isready');
  });

  it('GIVEN any props WHEN rendered THEN it runs restricted: non-root 999, read-only root, no capabilities, seccomp, no API token', () => {
    expect(pod().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod().automountServiceAccountToken).toBe(false);
    expect(find(synth(), 'ServiceAccount').automountServiceAccountToken).toBe(false);
    for (const c of [...pod().initContainers, ...pod().containers]) {
      expect(c.securityContext, c.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('GIVEN the name of Vault\'s certificate WHEN rendered THEN it reads the superuser and each application password from Vault, once, before its init step', () => {
    const annotations = statefulSet().spec.template.metadata.annotations;
    expect(annotations['vault.hashicorp.com/role']).toBe('postgresql');
    expect(annotations['vault.hashicorp.com/tls-server-name']).toBe('vault.example.com');
    expect(annotations['vault.hashicorp.com/agent-init-first']).toBe('true');
    expect(annotations['vault.hashicorp.com/agent-pre-populate-only']).toBe('true');
    expect(POSTGRESQL_CONSUMER.secrets.map((s) => secretPath(POSTGRESQL_CONSUMER, s))).toEqual([
      'secret/data/postgresql/superuser',
      'secret/data/postgresql/gitlab',
      'secret/data/postgresql/harbor',
    ]);
    expect(annotations['vault.hashicorp.com/agent-inject-template-gitlab']).toBe('{{- with secret "secret/data/postgresql/gitlab" -}}{{ .Data.data.password }}{{- end -}}');
    // No password anywhere in the pod spec: only file paths.
    expect(JSON.stringify(pod())).not.toMatch(/PASSWORD/);
  });

  it('GIVEN the declared clients WHEN rendered THEN it creates exactly the databases GitLab and Harbor need, owned by their users', () => {
    expect(DATABASES.map((d) => `${d.user}:${d.database}`)).toEqual(['gitlab:gitlabhq_production', 'harbor:registry']);
    const sql = find(synth(), 'ConfigMap', 'postgresql-init').data['init.sql'];
    expect(sql).toBe(initSql());
    expect(sql).toContain("SELECT 'CREATE DATABASE gitlabhq_production OWNER gitlab ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gitlabhq_production')\\gexec");
    expect(sql).toContain('CREATE EXTENSION IF NOT EXISTS pg_trgm;');
    expect(sql).toContain("ALTER ROLE harbor WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';");
  });

  it('GIVEN its registration WHEN the render plans the network THEN it asks only for DNS and lets Prometheus scrape 9187; its clients declare 5432 themselves', () => {
    const connections = Postgresql.registration.connections!({} as never);
    expect(connections.map((c) => [c.purpose, 'workload' in c.from ? c.from.workload.name : '', 'workload' in c.to ? c.to.workload.name : '', c.ports.map((p) => p.port)])).toEqual([
      ['DNS', 'postgresql', 'kube-dns', [53, 53]],
      ['metrics scrape', 'prometheus', 'postgresql', [9187]],
    ]);
  });

  it('GIVEN any props WHEN rendered THEN every object is a valid Kubernetes object', () => {
    for (const object of synth()) expect(validateCoreObject(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN the one-node model WHEN the catalogue builds PostgreSQL THEN its node and volume size come from services.postgresql and postgresql', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const chart = Testing.chart();
    PLATFORM_SERVICES.find((s) => s.name === 'postgresql')!.build(chart, single, { connections: [] });
    const set = Testing.synth(chart).find((o: any) => o.kind === 'StatefulSet') as any;
    expect(set.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': single.services.postgresql.node });
    expect(single.services.postgresql.node).toBe('solo');
    expect(set.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(`${single.postgresql.storageGiB}Gi`);
    expect(set.spec.template.metadata.annotations['vault.hashicorp.com/tls-server-name']).toBe(single.services.vault.host);
  });

  it('GIVEN the init script WHEN shellcheck reads it THEN it finds nothing', () => {
    if (!requireValidator('shellcheck', hasCommand('shellcheck'), 'apt-get install shellcheck')) return;
    const result = spawnSync('shellcheck', ['--shell=sh', '-'], { input: INIT_SCRIPT, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

/** initdb, pg_ctl, postgres and psql of a local PostgreSQL (Debian keeps the server binaries off PATH). */
function serverBinaries(): string | undefined {
  if (hasCommand('initdb') && hasCommand('pg_ctl') && hasCommand('psql')) return '';
  const base = '/usr/lib/postgresql';
  if (!existsSync(base) || !hasCommand('psql')) return undefined;
  const version = readdirSync(base).sort((a, b) => Number(b) - Number(a)).find((v) => existsSync(join(base, v, 'bin', 'initdb')));
  return version ? join(base, version, 'bin') : undefined;
}

describe('PostgreSQL init step against a real server', () => {
  it('creates the cluster, users and databases, and is idempotent: a second run changes only rotated passwords', () => {
    const bin = serverBinaries();
    if (!requireValidator('PostgreSQL server (initdb, pg_ctl, psql)', bin !== undefined, 'apt-get install postgresql')) return;
    // initdb refuses root: as root, run everything as the postgres user the package creates.
    const asRoot = userInfo().uid === 0;
    const owner = asRoot ? spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }) : undefined;
    const uid = asRoot ? Number(owner!.stdout.trim()) : userInfo().uid;
    const gid = asRoot ? Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : userInfo().gid;
    const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
    try {
      const secrets = join(dir, 'secrets');
      const socket = join(dir, 'socket');
      for (const sub of [secrets, socket]) spawnSync('mkdir', ['-p', sub]);
      const write = (name: string, value: string) => writeFileSync(join(secrets, name), value);
      write('superuser', 'Super-Secret-1');
      write('gitlab', "it's a 'quoted' pass");
      write('harbor', 'harbor-pass-1');
      const conf = postgresqlConf().replace("hba_file = '/etc/postgresql/pg_hba.conf'", `hba_file = '${join(dir, 'pg_hba.conf')}'`).replace('shared_buffers = 512MB', 'shared_buffers = 32MB');
      writeFileSync(join(dir, 'postgresql.conf'), conf);
      writeFileSync(join(dir, 'pg_hba.conf'), pgHbaConf());
      writeFileSync(join(dir, 'init.sql'), initSql(DATABASES, secrets));
      writeFileSync(join(dir, 'init.sh'), INIT_SCRIPT);
      if (asRoot) for (const path of [dir, secrets, socket]) chownSync(path, uid, gid);
      chmodSync(dir, 0o755);
      const env = {
        PATH: `${bin ? `${bin}:` : ''}${process.env.PATH}`,
        PGDATA: join(dir, 'data', 'pgdata'),
        INIT_SQL: join(dir, 'init.sql'),
        SUPERUSER_PASSWORD_FILE: join(secrets, 'superuser'),
        POSTGRESQL_CONF: join(dir, 'postgresql.conf'),
        SOCKET_DIR: socket,
        HOME: dir,
      };
      const options: SpawnSyncOptions = { env, encoding: 'utf8', cwd: dir, timeout: 120_000, ...(asRoot ? { uid, gid } : {}) };
      if (asRoot) spawnSync('install', ['-d', '-o', String(uid), '-g', String(gid), join(dir, 'data')]);
      const run = () => spawnSync('sh', [join(dir, 'init.sh')], options);
      const query = (sql: string, db = 'postgres') => {
        // A log file, so the server does not hold the test's pipes open.
        const start = spawnSync('pg_ctl', ['--pgdata', env.PGDATA, '--wait', '--silent', `--log=${join(dir, 'server.log')}`, `--options=-c config_file=${env.POSTGRESQL_CONF} -c listen_addresses='' -c unix_socket_directories=${socket}`, 'start'], options);
        expect(start.status, String(start.stderr)).toBe(0);
        try {
          const out = spawnSync('psql', ['--no-psqlrc', '-At', '-h', socket, '-U', 'postgres', '-d', db, '-c', sql], options);
          expect(out.status, String(out.stderr)).toBe(0);
          return String(out.stdout).trim();
        } finally {
          spawnSync('pg_ctl', ['--pgdata', env.PGDATA, '--wait', '--silent', '--mode=fast', 'stop'], options);
        }
      };

      const first = run();
      expect(first.status, `${first.stdout}\n${first.stderr}`).toBe(0);
      expect(first.stdout).toContain('init: creating the cluster');
      expect(query("SELECT string_agg(datname || ':' || pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database WHERE datname IN ('gitlabhq_production', 'registry')")).toBe('gitlabhq_production:gitlab,registry:harbor');
      expect(query("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension", 'gitlabhq_production')).toBe('btree_gist,pg_trgm,plpgsql');
      expect(query("SELECT string_agg(rolname || ':' || rolsuper || ':' || (rolpassword LIKE 'SCRAM-SHA-256$%'), ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('gitlab', 'harbor', 'postgres')")).toBe('gitlab:false:true,harbor:false:true,postgres:true:true');
      expect(query("SELECT pg_has_role('postgres_exporter', 'pg_monitor', 'member')")).toBe('t');
      const hashes = () => query("SELECT string_agg(rolname || '=' || rolpassword, ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('gitlab', 'harbor')");
      const before = hashes();

      // A password rotated in Vault: the next start sets it; everything else stays as it is.
      write('harbor', 'harbor-pass-2');
      const second = run();
      expect(second.status, `${second.stdout}\n${second.stderr}`).toBe(0);
      expect(second.stdout).not.toContain('creating the cluster');
      const after = hashes();
      expect(after.split(',')[0]).not.toBe(before.split(',')[0]); // SCRAM salts differ on every ALTER
      expect(query("SELECT count(*) FROM pg_database WHERE datname IN ('gitlabhq_production', 'registry')")).toBe('2');
      // The server the init step started is stopped again (the main container starts its own).
      expect(existsSync(join(env.PGDATA, 'postmaster.pid'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
