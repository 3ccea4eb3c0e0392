/** AWS rules over the rendered Terraform JSON (POLICY-RULES.md 2.9). */
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { PolicyInput, Violation } from '../types';
import { blocks, dataSources, referenced, resources, satellites, tfRef, type Block, type TfResource } from './json';

const WORLD = new Set(['0.0.0.0/0', '::/0', '*']);
const AWS_KEY_ID = /\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/;
/** Checkov CKV_AWS_46: a standalone 40-character base64-ish token. */
const FORTY_CHAR_TOKEN = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/;

interface SgRule {
  readonly from: number;
  readonly to: number;
  readonly protocol: string;
  readonly sources: string[];
  readonly description?: string;
  readonly hasSource: boolean;
}

function sgRule(body: Block): SgRule {
  const cidrs = [
    ...((body.cidr_blocks as string[] | undefined) ?? []),
    ...((body.ipv6_cidr_blocks as string[] | undefined) ?? []),
    ...(body.cidr_ipv4 ? [body.cidr_ipv4 as string] : []),
    ...(body.cidr_ipv6 ? [body.cidr_ipv6 as string] : []),
  ];
  const protocol = String(body.protocol ?? body.ip_protocol ?? '');
  const all = protocol === '-1' || protocol === 'all';
  return {
    from: all ? 0 : Number(body.from_port ?? 0),
    to: all ? 65535 : Number(body.to_port ?? 65535),
    protocol,
    sources: cidrs,
    description: body.description as string | undefined,
    hasSource:
      cidrs.length > 0 ||
      Boolean(body.security_groups || body.source_security_group_id || body.referenced_security_group_id || body.prefix_list_ids || body.prefix_list_id || body.self),
  };
}

/** Every ingress and egress rule of the render, inline or as separate resources. */
function sgRules(input: PolicyInput): { owner: TfResource; direction: 'ingress' | 'egress'; rule: SgRule }[] {
  const out: { owner: TfResource; direction: 'ingress' | 'egress'; rule: SgRule }[] = [];
  for (const sg of [...resources(input.stacks, 'aws_security_group'), ...resources(input.stacks, 'aws_default_security_group')]) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const body of blocks(sg.body[direction])) out.push({ owner: sg, direction, rule: sgRule(body) });
    }
  }
  for (const r of resources(input.stacks, 'aws_security_group_rule')) {
    out.push({ owner: r, direction: r.body.type === 'egress' ? 'egress' : 'ingress', rule: sgRule(r.body) });
  }
  for (const r of resources(input.stacks, 'aws_vpc_security_group_ingress_rule')) out.push({ owner: r, direction: 'ingress', rule: sgRule(r.body) });
  for (const r of resources(input.stacks, 'aws_vpc_security_group_egress_rule')) out.push({ owner: r, direction: 'egress', rule: sgRule(r.body) });
  return out;
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
}

const list = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Policy documents as JSON strings, or data.aws_iam_policy_document statements; undefined when not checkable. */
function statementsOf(stack: TfResource['stack'], value: unknown): Statement[] | undefined {
  if (typeof value !== 'string') return undefined;
  const doc = referenced(stack, value, 'data.aws_iam_policy_document') ?? dataSources([stack], 'aws_iam_policy_document').find((d) => value.includes(`data.aws_iam_policy_document.${d.name}.json`));
  if (doc) {
    return blocks(doc.body.statement).map((s) => ({
      Effect: (s.effect as string | undefined) ?? 'Allow',
      Action: s.actions as string[] | undefined,
      NotAction: s.not_actions as string[] | undefined,
      Resource: s.resources as string[] | undefined,
      Principal: blocks(s.principals).map((p) => ({ [String(p.type)]: p.identifiers })),
    }));
  }
  try {
    const parsed = JSON.parse(value) as { Statement?: Statement | Statement[] };
    return Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : [];
  } catch {
    return undefined;
  }
}

/** `file("${path.module}/<path>")`: a file the stack reads at plan time, relative to its own folder. */
const FILE_IN_MODULE = /\bfile\("\$\{path\.module\}\/([^"]+)"\)/g;

/**
 * What an instance's user data argument puts on the instance, as text to scan: each rendered file
 * a `file()` reads (path relative to dist/; no text when the render has no such file), or the
 * literal value (base64 decoded, and gunzipped when it is gzip, for `user_data_base64`).
 */
function userDataTexts(instance: TfResource, key: string, files: ReadonlyMap<string, string>): { source: string; text?: string }[] {
  const value = instance.body[key];
  if (typeof value !== 'string') return [];
  const read = [...value.matchAll(FILE_IN_MODULE)].map((match) => posix.join(posix.dirname(instance.stack.path), match[1]));
  if (read.length) return read.map((path) => ({ source: path, text: files.get(path) }));
  if (key !== 'user_data_base64' || value.includes('${')) return [{ source: key, text: value }];
  const bytes = Buffer.from(value, 'base64');
  return [{ source: key, text: (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8') }];
}

/** Actions that cannot be scoped to a resource ARN (AWS "*" resource is required for them). */
const UNSCOPABLE = [/^ec2:Describe/, /^ssm:UpdateInstanceInformation$/, /^ssmmessages:/, /^ec2messages:/, /^cloudwatch:PutMetricData$/, /^logs:DescribeLogGroups$/, /^sts:GetCallerIdentity$/];

export function awsRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const push = (r: TfResource, rule: string, message: string) => violations.push({ rule, ref: tfRef(r), message });

  for (const instance of resources(input.stacks, 'aws_instance')) {
    const b = instance.body;
    const metadata = blocks(b.metadata_options)[0];
    if (!metadata || (metadata.http_tokens !== 'required' && metadata.http_endpoint !== 'disabled')) {
      push(instance, 'TF-EC2-01', 'does not require IMDSv2; set metadata_options.http_tokens = "required"');
    }
    const root = blocks(b.root_block_device)[0];
    if (!root || root.encrypted !== true) push(instance, 'TF-EC2-02', 'root volume is not encrypted; set root_block_device.encrypted = true');
    for (const ebs of blocks(b.ebs_block_device)) {
      if (ebs.encrypted !== true) push(instance, 'TF-EC2-02', `EBS volume ${String(ebs.device_name)} is not encrypted; set encrypted = true`);
    }
    if (b.monitoring !== true) push(instance, 'TF-EC2-03', 'has no detailed monitoring; set monitoring = true');
    if (!b.iam_instance_profile) push(instance, 'TF-EC2-06', 'has no instance profile; attach a least-privilege role');
    if (b.associate_public_ip_address === true) push(instance, 'TF-EC2-07', 'gets a public IP at launch; set associate_public_ip_address = false and use an Elastic IP');
    for (const key of ['user_data', 'user_data_base64']) {
      for (const { source, text } of userDataTexts(instance, key, input.files)) {
        if (text === undefined) {
          push(instance, 'TF-EC2-05', `${key} reads ${source}, which is not a file of the render; the policy cannot check what the instance boots with`);
          continue;
        }
        if (AWS_KEY_ID.test(text)) push(instance, 'TF-EC2-05', `${source} contains an AWS access key id; fetch credentials at boot from the instance role`);
        const token = FORTY_CHAR_TOKEN.exec(text);
        if (token) push(instance, 'TF-EC2-05', `${source} contains a secret-looking 40-character string "${token[0].slice(0, 6)}..."; fetch secrets at boot instead of inlining them`);
      }
    }
  }
  for (const volume of resources(input.stacks, 'aws_ebs_volume')) {
    if (volume.body.encrypted !== true) push(volume, 'TF-EC2-02', 'is not encrypted; set encrypted = true');
  }
  for (const subnet of resources(input.stacks, 'aws_subnet')) {
    if (subnet.body.map_public_ip_on_launch === true) push(subnet, 'TF-EC2-07', 'maps public IPs on launch; set map_public_ip_on_launch = false');
  }
  for (const ami of dataSources(input.stacks, 'aws_ami')) {
    if (!(ami.body.owners as string[] | undefined)?.length) push(ami, 'TF-EC2-08', 'has no owners; name the AMI owner account explicitly');
  }

  for (const { owner, direction, rule } of sgRules(input)) {
    const fromWorld = rule.sources.some((s) => WORLD.has(s));
    const allPorts = rule.protocol === '-1' || rule.protocol === 'all' || (rule.from <= 0 && rule.to >= 65535);
    if (!rule.description || rule.description === 'Managed by Terraform') {
      push(owner, 'TF-SG-04', `${direction} rule ${rule.protocol}/${rule.from}-${rule.to} has no description; say what it is for`);
    }
    if (direction === 'ingress') {
      if (!rule.hasSource) push(owner, 'TF-SG-02', `ingress rule ${rule.protocol}/${rule.from}-${rule.to} has no source; name the CIDRs or security group`);
      if (fromWorld && [22, 3389].some((port) => rule.from <= port && port <= rule.to)) {
        push(owner, 'TF-SG-01', `ingress from the internet covers ${rule.from}-${rule.to} (SSH/RDP); administer over the mesh or SSM instead`);
      }
      if (fromWorld && allPorts) push(owner, 'TF-SG-02', 'ingress from the internet on all ports; open only the ports the gateway serves');
    } else if (fromWorld && allPorts) {
      push(owner, 'TF-SG-03', 'egress to the internet on all ports; list the ports the gateway needs');
    } else if (fromWorld) {
      push(owner, 'TF-SG-03', `egress to the internet on ${rule.protocol}/${rule.from}-${rule.to}; narrow the destination, or declare why it cannot be (policy exception)`);
    }
  }
  for (const sg of resources(input.stacks, 'aws_security_group')) {
    if (!sg.body.description || sg.body.description === 'Managed by Terraform') push(sg, 'TF-SG-04', 'has no description; say what it protects');
  }
  for (const vpc of resources(input.stacks, 'aws_vpc')) {
    const defaults = resources([vpc.stack], 'aws_default_security_group').filter((d) => referenced(vpc.stack, d.body.vpc_id, 'aws_vpc')?.name === vpc.name);
    if (!defaults.length) push(vpc, 'TF-SG-05', 'has no aws_default_security_group; render one with no rules so the default group allows nothing');
    for (const d of defaults) {
      if (blocks(d.body.ingress).length || blocks(d.body.egress).length) push(d, 'TF-SG-05', 'the default security group has rules; remove them');
    }
  }
  for (const eip of resources(input.stacks, 'aws_eip')) {
    const associated = eip.body.instance || resources([eip.stack], 'aws_eip_association').some((a) => referenced(eip.stack, a.body.allocation_id, 'aws_eip')?.name === eip.name);
    if (!associated) push(eip, 'TF-EIP-01', 'is not attached to an instance; set instance or add an aws_eip_association');
  }

  const policies: { owner: TfResource; value: unknown; trust: boolean }[] = [
    ...resources(input.stacks, 'aws_iam_policy').map((r) => ({ owner: r, value: r.body.policy, trust: false })),
    ...resources(input.stacks, 'aws_iam_role_policy').map((r) => ({ owner: r, value: r.body.policy, trust: false })),
    // A user's or group's inline policy grants like a role's (the vault stack's unseal user).
    ...resources(input.stacks, 'aws_iam_user_policy').map((r) => ({ owner: r, value: r.body.policy, trust: false })),
    ...resources(input.stacks, 'aws_iam_group_policy').map((r) => ({ owner: r, value: r.body.policy, trust: false })),
    ...resources(input.stacks, 'aws_iam_role').map((r) => ({ owner: r, value: r.body.assume_role_policy, trust: true })),
  ];
  for (const { owner, value, trust } of policies) {
    const statements = statementsOf(owner.stack, value);
    if (!statements) {
      push(owner, 'TF-IAM-01', 'its policy cannot be read; render it as JSON or from an aws_iam_policy_document');
      continue;
    }
    for (const s of statements.filter((st) => (st.Effect ?? 'Allow') === 'Allow')) {
      if (trust) {
        const instanceRole = resources([owner.stack], 'aws_iam_instance_profile').some((p) => referenced(owner.stack, p.body.role, 'aws_iam_role')?.name === owner.name);
        const principal = s.Principal as Record<string, unknown> | Record<string, unknown>[] | string | undefined;
        const entries: [string, unknown][] = (Array.isArray(principal) ? principal : [principal]).flatMap((p): [string, unknown][] =>
          typeof p === 'object' && p ? Object.entries(p) : [['*', p]],
        );
        for (const [type, ids] of entries) {
          const values = list(ids as string | string[]);
          if (type !== 'Service') {
            push(owner, 'TF-IAM-05', `trusts ${type} ${values.join(', ')}; trust only the AWS service that assumes the role`);
          } else if (instanceRole && values.some((v) => v !== 'ec2.amazonaws.com')) {
            push(owner, 'TF-IAM-05', `is an instance role but trusts ${values.join(', ')}; an instance role trusts only Service ec2.amazonaws.com`);
          }
        }
        continue;
      }
      if (list(s.NotAction).length) push(owner, 'TF-IAM-01', 'uses NotAction in an Allow; list the actions it allows');
      for (const action of list(s.Action)) {
        if (action.includes('*')) push(owner, 'TF-IAM-01', `allows "${action}"; list exact actions`);
        if (action === 'iam:PassRole') push(owner, 'TF-IAM-03', 'allows iam:PassRole; the gateway never passes roles');
      }
      const restrictable = list(s.Action).filter((a) => !UNSCOPABLE.some((re) => re.test(a)));
      if (list(s.Resource).includes('*') && restrictable.length) {
        push(owner, 'TF-IAM-02', `allows ${restrictable.join(', ')} on every resource; scope Resource to ARNs`);
      }
    }
  }
  for (const attachment of [...resources(input.stacks, 'aws_iam_role_policy_attachment'), ...resources(input.stacks, 'aws_iam_policy_attachment')]) {
    const arn = String(attachment.body.policy_arn ?? '');
    if (/AdministratorAccess|IAMFullAccess|PowerUserAccess/.test(arn)) push(attachment, 'TF-IAM-04', `attaches ${arn}; attach a least-privilege policy`);
  }

  // TF-KMS-01 (Checkov CKV_AWS_7, Trivy AVD-AWS-0065): customer keys rotate. TF-KMS-02 (Checkov
  // CKV_AWS_33): a key policy names its principals and lists exact actions, as TF-IAM-01 does.
  for (const key of resources(input.stacks, 'aws_kms_key')) {
    if (key.body.enable_key_rotation !== true) push(key, 'TF-KMS-01', 'does not rotate; set enable_key_rotation = true');
    if (key.body.policy === undefined) continue;
    const statements = statementsOf(key.stack, key.body.policy);
    if (!statements) {
      push(key, 'TF-KMS-02', 'its key policy cannot be read; render it as JSON');
      continue;
    }
    for (const s of statements.filter((st) => (st.Effect ?? 'Allow') === 'Allow')) {
      if (s.Principal === '*' || JSON.stringify(s.Principal ?? '').includes('"*"')) push(key, 'TF-KMS-02', 'its key policy allows Principal "*"; name the principals');
      if (list(s.NotAction).length) push(key, 'TF-KMS-02', 'its key policy uses NotAction in an Allow; list the actions it allows');
      for (const action of list(s.Action)) if (action.includes('*')) push(key, 'TF-KMS-02', `its key policy allows "${action}"; list exact actions`);
    }
  }

  for (const bucket of resources(input.stacks, 'aws_s3_bucket')) {
    const versioning = satellites(bucket, 'aws_s3_bucket_versioning');
    if (!versioning.some((v) => blocks(v.body.versioning_configuration)[0]?.status === 'Enabled')) {
      push(bucket, 'TF-S3-01', 'is not versioned; add aws_s3_bucket_versioning with status Enabled');
    }
    const encryption = satellites(bucket, 'aws_s3_bucket_server_side_encryption_configuration');
    const kms = encryption.some((e) =>
      blocks(e.body.rule).some((r) => blocks(r.apply_server_side_encryption_by_default).some((d) => d.sse_algorithm === 'aws:kms' && d.kms_master_key_id)),
    );
    if (!kms) push(bucket, 'TF-S3-02', 'is not encrypted with a KMS key; add aws_s3_bucket_server_side_encryption_configuration with aws:kms and kms_master_key_id');
    const block = satellites(bucket, 'aws_s3_bucket_public_access_block')[0]?.body;
    const missing = ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'].filter((k) => block?.[k] !== true);
    if (missing.length) push(bucket, 'TF-S3-03', `public access is not fully blocked (${missing.join(', ')}); add aws_s3_bucket_public_access_block with all four true`);
    for (const acl of satellites(bucket, 'aws_s3_bucket_acl')) {
      if (/public|authenticated/.test(String(acl.body.acl))) push(acl, 'TF-S3-04', `grants ${String(acl.body.acl)}; keep the bucket private`);
    }
    for (const policy of satellites(bucket, 'aws_s3_bucket_policy')) {
      for (const s of statementsOf(policy.stack, policy.body.policy) ?? []) {
        if ((s.Effect ?? 'Allow') === 'Allow' && (s.Principal === '*' || JSON.stringify(s.Principal ?? '').includes('"*"'))) {
          push(policy, 'TF-S3-04', 'allows Principal "*"; name the principals');
        }
      }
    }
  }
  return violations;
}
