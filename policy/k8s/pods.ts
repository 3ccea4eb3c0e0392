/**
 * Pod and container rules (POLICY-RULES.md 2.1 and 2.2): Pod Security "restricted", kube-linter,
 * kube-score and Polaris, as they apply to what we render.
 */
import { refOf, type PolicyInput, type Violation } from '../types';
import { allContainers, effective, workloads, type Container, type Probe, type Workload } from './workloads';

type Check = (workload: Workload, report: (rule: string, message: string) => void) => void;

const hostNamespaces: Check = ({ pod }, report) => {
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (pod[field]) report('K8S-SEC-01', `pod sets ${field}: true; remove it (the pod shares the node's namespace)`);
  }
};

const privileged: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    if (c.securityContext?.privileged) report('K8S-SEC-02', `container ${c.name} is privileged; remove securityContext.privileged`);
  }
};

const privilegeEscalation: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    if (c.securityContext?.allowPrivilegeEscalation !== false) {
      report('K8S-SEC-03', `container ${c.name} does not set securityContext.allowPrivilegeEscalation: false; set it explicitly`);
    }
  }
};

const ALLOWED_ADD = new Set(['NET_BIND_SERVICE']);
const capabilities: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    const caps = c.securityContext?.capabilities;
    if (!caps?.drop?.includes('ALL')) report('K8S-SEC-04', `container ${c.name} does not drop all capabilities; set securityContext.capabilities.drop: ["ALL"] (upper case)`);
    const extra = (caps?.add ?? []).filter((cap) => !ALLOWED_ADD.has(cap));
    if (extra.length) report('K8S-SEC-04', `container ${c.name} adds ${extra.join(', ')}; add at most NET_BIND_SERVICE`);
  }
};

const nonRoot: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    if (effective(pod, c, 'runAsNonRoot') !== true) {
      report('K8S-SEC-05', `container ${c.name} may run as root; set runAsNonRoot: true on the pod or container`);
    }
    const user = effective(pod, c, 'runAsUser');
    if (user === 0) report('K8S-SEC-05', `container ${c.name} runs as UID 0; run as a non-zero UID (e.g. 65532)`);
    if (user === undefined) report('K8S-SEC-05', `container ${c.name} has no runAsUser; set a non-zero UID so the image cannot choose root`);
    const group = effective(pod, c, 'runAsGroup');
    if (group === 0) report('K8S-SEC-05', `container ${c.name} runs with GID 0; run with a non-zero GID (e.g. 65532)`);
  }
  if (pod.securityContext?.fsGroup === 0) report('K8S-SEC-05', 'pod sets fsGroup: 0; use a non-zero group');
};

const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);
const seccomp: Check = ({ pod }, report) => {
  const podType = pod.securityContext?.seccompProfile?.type;
  for (const c of allContainers(pod)) {
    const type = c.securityContext?.seccompProfile?.type ?? podType;
    if (!type || !SECCOMP_OK.has(type)) {
      report('K8S-SEC-06', `container ${c.name} has seccomp profile ${type ?? '(none)'}; set securityContext.seccompProfile.type: RuntimeDefault on the pod`);
    }
  }
};

const readOnlyRoot: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    if (c.securityContext?.readOnlyRootFilesystem !== true) {
      report('K8S-SEC-07', `container ${c.name} has a writable root filesystem; set readOnlyRootFilesystem: true and mount emptyDir where it writes`);
    }
  }
};

const hostPath: Check = ({ pod }, report) => {
  for (const volume of pod.volumes ?? []) {
    if (!volume.hostPath) continue;
    if (volume.hostPath.path.endsWith('docker.sock') || volume.hostPath.path.endsWith('containerd.sock')) {
      report('K8S-SEC-08', `volume ${volume.name} mounts the container runtime socket ${volume.hostPath.path}; never do this (it is root on the node)`);
    } else {
      report('K8S-SEC-08', `volume ${volume.name} mounts hostPath ${volume.hostPath.path}; use a PersistentVolumeClaim, emptyDir or ConfigMap`);
    }
  }
};

const hostPort: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    for (const port of c.ports ?? []) {
      if (port.hostPort) report('K8S-SEC-09', `container ${c.name} binds hostPort ${port.hostPort}; expose it through a Service instead`);
    }
  }
};

/** Sysctls Pod Security "baseline" allows (k3s 1.28+). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const kernel: Check = ({ pod }, report) => {
  for (const sysctl of pod.securityContext?.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) report('K8S-SEC-10', `pod sets unsafe sysctl ${sysctl.name}; remove it`);
  }
  const contexts = [pod.securityContext, ...allContainers(pod).map((c) => c.securityContext)];
  for (const sc of contexts) {
    if (!sc) continue;
    if (sc.procMount && sc.procMount !== 'Default') report('K8S-SEC-10', `procMount ${sc.procMount}; remove it`);
    if (sc.windowsOptions?.hostProcess) report('K8S-SEC-10', 'hostProcess: true; remove it');
    if (sc.seLinuxOptions?.user || sc.seLinuxOptions?.role) report('K8S-SEC-10', 'seLinuxOptions sets user or role; remove them');
    if (sc.seLinuxOptions?.type !== undefined && !SELINUX_TYPES.has(sc.seLinuxOptions.type)) {
      report('K8S-SEC-10', `seLinuxOptions.type ${sc.seLinuxOptions.type} is not allowed; use container_t or leave it unset`);
    }
    if (sc.appArmorProfile?.type === 'Unconfined') report('K8S-SEC-10', 'appArmorProfile Unconfined; use RuntimeDefault');
  }
  for (const c of allContainers(pod)) {
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe, ...Object.values(c.lifecycle ?? {})]) {
      if (probe?.httpGet?.host || probe?.tcpSocket?.host) report('K8S-SEC-10', `container ${c.name} probes or hooks another host; remove the host field`);
    }
  }
};

/** kube-linter's latest-tag patterns: no bare name, no `:latest`, digests are fine. */
const images: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    const image = c.image ?? '';
    if (image.includes('@sha256:')) continue;
    const lastSegment = image.split('/').pop() ?? '';
    if (!lastSegment.includes(':')) report('K8S-IMG-01', `container ${c.name} image "${image}" has no tag; pin an exact version from config/versions.ts`);
    else if (/:latest$/.test(image)) report('K8S-IMG-01', `container ${c.name} image "${image}" uses latest; pin an exact version from config/versions.ts`);
  }
};

const resources: Check = ({ pod }, report) => {
  for (const c of allContainers(pod)) {
    const missing = [
      c.resources?.requests?.cpu === undefined && 'requests.cpu',
      c.resources?.requests?.memory === undefined && 'requests.memory',
      c.resources?.limits?.memory === undefined && 'limits.memory',
    ].filter(Boolean);
    if (missing.length) report('K8S-RES-01', `container ${c.name} has no ${missing.join(', ')}; set them (the scheduler and the OOM killer need them)`);
  }
};

function probeKey(probe: Probe | undefined): string | undefined {
  if (!probe) return undefined;
  if (probe.httpGet) return `http ${probe.httpGet.port} ${probe.httpGet.path ?? '/'}`;
  if (probe.tcpSocket) return `tcp ${probe.tcpSocket.port}`;
  if (probe.grpc) return `grpc ${probe.grpc.port}`;
  if (probe.exec) return `exec ${JSON.stringify(probe.exec.command)}`;
  return 'other';
}

function probePort(probe: Probe | undefined): number | string | undefined {
  return probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
}

const probes: Check = ({ pod, runsToCompletion }, report) => {
  if (runsToCompletion) return;
  for (const c of pod.containers ?? []) {
    if (!c.readinessProbe) report('K8S-PRB-01', `container ${c.name} has no readinessProbe; add one so traffic waits until it is ready`);
    if (!c.livenessProbe) report('K8S-PRB-01', `container ${c.name} has no livenessProbe; add one so a hung process is restarted`);
    if (c.readinessProbe && c.livenessProbe && probeKey(c.readinessProbe) === probeKey(c.livenessProbe)) {
      report('K8S-PRB-01', `container ${c.name} has identical readiness and liveness probes; check liveness on a cheaper or different endpoint`);
    }
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      const port = probePort(probe);
      if (port === undefined) continue;
      if (!declaresPort(c, port)) report('K8S-PRB-01', `container ${c.name} probes port ${port}, which it does not declare in ports; declare it`);
    }
  }
};

function declaresPort(c: Container, port: number | string): boolean {
  return (c.ports ?? []).some((p) => p.containerPort === port || p.name === port);
}

const CHECKS: Check[] = [hostNamespaces, privileged, privilegeEscalation, capabilities, nonRoot, seccomp, readOnlyRoot, hostPath, hostPort, kernel, images, resources, probes];

export function podRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  for (const workload of workloads(input.objects)) {
    const ref = refOf(workload.object);
    for (const check of CHECKS) check(workload, (rule, message) => violations.push({ rule, ref, message }));
  }
  return violations;
}
