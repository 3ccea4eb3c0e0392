/**
 * Building blocks for the observability workloads we render ourselves: restricted security
 * contexts, the objects every workload needs (ServiceAccount, Service, ConfigMap), and a
 * checksum of the configuration so a changed ConfigMap rolls the pods (none of these programs
 * reloads its configuration by itself when the mounted file changes).
 */
import { createHash } from 'node:crypto';
import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { standardLabels } from '../lib/labels';
import { NAME_LABEL, type Workload } from '../lib/network';
import { restrictedPodSecurity as restrictedPodSecurityOf } from '../lib/security-context';

export { resources } from '../lib/kinds';

/** Pod-level settings of Pod Security "restricted", with an explicit non-root identity. */
export function restrictedPodSecurity(uid: number, options: { fsGroup?: number; supplementalGroups?: number[] } = {}) {
  return restrictedPodSecurityOf({ uid, ...options });
}

/** Container-level settings: no escalation, no capabilities, nothing written outside its volumes. */
export { RESTRICTED_CONTAINER_SECURITY } from '../lib/security-context';

/** The annotation that rolls a pod template when its configuration changes. */
export const CONFIG_CHECKSUM_ANNOTATION = 'platform-synthesizer.io/config-checksum';

/** SHA-256 (hex) of the files a pod reads, in a stable order. */
export function configChecksum(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(files).sort()) hash.update(key).update('\0').update(files[key]).update('\0');
  return hash.digest('hex');
}

/** The labels of a workload's pods and the selector that matches them (one label, as the NetworkPolicies select). */
export function podLabels(workload: Workload, component: string): Record<string, string> {
  return standardLabels(workload.name, component);
}

export function selectorOf(workload: Workload): { matchLabels: Record<string, string> } {
  return { matchLabels: { [NAME_LABEL]: workload.name } };
}

export interface ServiceAccountProps {
  readonly name: string;
  readonly namespace: string;
  /** Mount the API token: only for workloads that call the Kubernetes API (and have a RoleBinding). */
  readonly automountToken: boolean;
}

export function serviceAccount(scope: Construct, id: string, props: ServiceAccountProps): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: props.name, namespace: props.namespace, labels: standardLabels(props.name, 'service-account') },
    automountServiceAccountToken: props.automountToken,
  });
}

export function configMap(scope: Construct, id: string, props: { name: string; namespace: string; data: Record<string, string> }): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: props.name, namespace: props.namespace, labels: standardLabels(props.name, 'config') },
    data: props.data,
  });
}

/**
 * The workload's Service, named after it, exposing the named ports. `headless` for a
 * StatefulSet's governing Service (clients then reach the single pod directly).
 */
export function workloadService(scope: Construct, id: string, workload: Workload, portNames: readonly string[], options: { headless?: boolean } = {}): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: workload.name, namespace: workload.namespace, labels: standardLabels(workload.name, 'service') },
    spec: {
      ...(options.headless ? { clusterIP: 'None' } : { type: 'ClusterIP' }),
      selector: { [NAME_LABEL]: workload.name },
      ports: portNames.map((name) => {
        const port = workload.ports?.[name];
        if (port === undefined) throw new Error(`workload ${workload.namespace}/${workload.name}: no port named "${name}"`);
        return { name, port, targetPort: name, protocol: 'TCP' };
      }),
    },
  });
}

/** The containerPorts of a workload, by name. */
export function containerPorts(workload: Workload, portNames: readonly string[]) {
  return portNames.map((name) => ({ name, containerPort: workload.ports![name], protocol: 'TCP' }));
}
