/** What the data services' containers share: typed requests and limits, restricted security. */
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { RESTRICTED_CONTAINER_SECURITY } from '../lib/security-context';

/** Requests and limits (POLICY-RULES K8S-RES-01) of one container. */
export function containerResources(cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string): k8s.ResourceRequirements {
  const q = k8s.Quantity.fromString;
  return { requests: { cpu: q(cpuRequest), memory: q(memoryRequest) }, limits: { cpu: q(cpuLimit), memory: q(memoryLimit) } };
}

/** Restricted container security (the one source, charts/lib/security-context.ts), a fresh copy per container. */
export function restrictedContainer(): k8s.SecurityContext {
  return { ...RESTRICTED_CONTAINER_SECURITY, capabilities: { drop: [...RESTRICTED_CONTAINER_SECURITY.capabilities.drop] } };
}
