import { posix } from 'node:path';
import { Testing, type App } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { loadDefaultPlatform } from '../../../config';
import { renderPlatform } from '../../../cli/render';
import { cloudInitScripts, renderCloudInit } from '../../../infra/gateway/cloud-init';
import { FIRST_ADMIN_KEY_PARAMETER } from '../../../infra/gateway/model';
import { CLOUDFLARE_IPV4_RANGES } from '../../../config/cloudflare';
import { renderTerraform } from '../../../infra/terraform';
import { GatewayStack } from '../../../infra/stacks/gateway';
import { checkPolicy, formatViolation, policyInput } from '../../../policy';
import type { TerraformJson } from '../../../policy/types';
import { violationsOf } from '../../policy/fixtures';

type Block = Record<string, unknown>;
interface TfJson {
  resource: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  terraform: { backend: Record<string, Block> };
  output: Record<string, Block>;
}

function synthGateway(): { text: string; json: TfJson } {
  const app = Testing.app() as App;
  const stack = new GatewayStack(app, 'gateway', loadDefaultPlatform());
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) as TfJson };
}

/** The security group rules as `protocol from-to cidr`, sorted. */
function rulesOf(json: TfJson, type: string): string[] {
  return Object.values(json.resource[type] ?? {})
    .map((r) => `${r.ip_protocol} ${r.from_port}-${r.to_port} ${r.cidr_ipv4}`)
    .sort();
}

describe('the gateway stack', () => {
  const platform = loadDefaultPlatform();
  const { text, json } = synthGateway();
  const instance = json.resource.aws_instance.gateway;

  it('keeps its state in the state bucket with a native lock file', () => {
    expect(json.terraform.backend).toEqual({
      s3: { bucket: 'lumetium-platform-tfstate', key: 'gateway/terraform.tfstate', region: 'eu-central-1', encrypt: true, use_lockfile: true },
    });
  });

  it('builds a VPC with a public subnet that hands out no public addresses, an internet gateway and a default route', () => {
    expect(json.resource.aws_vpc.vpc).toMatchObject({ cidr_block: '10.20.0.0/16', enable_dns_support: true });
    expect(Testing.toHaveResourceWithProperties(text, Subnet.tfResourceType, { cidr_block: '10.20.1.0/24', map_public_ip_on_launch: false, availability_zone: 'eu-central-1a' })).toBe(true);
    expect(json.resource.aws_route['default-route']).toMatchObject({ destination_cidr_block: '0.0.0.0/0', gateway_id: '${aws_internet_gateway.internet-gateway.id}' });
    expect(json.resource.aws_route_table_association['route-table-association']).toMatchObject({ subnet_id: '${aws_subnet.subnet.id}' });
  });

  it('empties the default security group', () => {
    expect(Testing.toHaveResourceWithProperties(text, DefaultSecurityGroup.tfResourceType, { vpc_id: '${aws_vpc.vpc.id}', ingress: [], egress: [] })).toBe(true);
  });

  it('logs rejected traffic of the VPC', () => {
    expect(json.resource.aws_flow_log['flow-log']).toMatchObject({ vpc_id: '${aws_vpc.vpc.id}', traffic_type: 'REJECT', log_destination_type: 'cloud-watch-logs' });
    const policy = JSON.parse(json.resource.aws_iam_role_policy['flow-log-policy'].policy as string);
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: ['${aws_cloudwatch_log_group.flow-log-group.arn}', '${aws_cloudwatch_log_group.flow-log-group.arn}:log-stream:*'],
      },
    ]);
    const trust = JSON.parse(json.resource.aws_iam_role['flow-log-role'].assume_role_policy as string);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'vpc-flow-logs.amazonaws.com' });
  });

  it('opens only HTTPS, HTTP from Cloudflare, STUN and WireGuard; never SSH', () => {
    expect(rulesOf(json, 'aws_vpc_security_group_ingress_rule')).toEqual(
      [
        'tcp 443-443 0.0.0.0/0',
        ...CLOUDFLARE_IPV4_RANGES.map((cidr) => `tcp 80-80 ${cidr}`),
        'udp 3478-3478 0.0.0.0/0',
        'udp 41641-41641 0.0.0.0/0',
      ].sort(),
    );
    for (const rule of Object.values(json.resource.aws_vpc_security_group_ingress_rule)) {
      expect(rule.security_group_id).toBe('${aws_security_group.security-group.id}');
      expect(Number(rule.from_port) <= 22 && Number(rule.to_port) >= 22).toBe(false);
      expect(rule.ip_protocol).not.toBe('-1');
    }
  });

  it('limits egress to HTTPS, HTTP and WireGuard, and declares why it is open to any address', () => {
    expect(rulesOf(json, 'aws_vpc_security_group_egress_rule')).toEqual(['tcp 443-443 0.0.0.0/0', 'tcp 80-80 0.0.0.0/0', 'udp 1024-65535 0.0.0.0/0']);
    // Testing.synth strips cdktf's "//" blocks; the exceptions are read from the real render.
    const rendered = JSON.parse(renderTerraform(platform).get('terraform/gateway/cdk.tf.json')!) as TfJson;
    for (const rule of Object.values(rendered.resource.aws_vpc_security_group_egress_rule)) {
      expect((rule['//'] as { policy_exceptions?: string }).policy_exceptions).toMatch(/^TF-SG-03: .{20,}/);
    }
    for (const rule of Object.values(rendered.resource.aws_vpc_security_group_ingress_rule)) {
      expect((rule['//'] as { policy_exceptions?: string }).policy_exceptions).toBeUndefined();
    }
  });

  it('describes the security group and every rule', () => {
    expect(json.resource.aws_security_group['security-group'].description).toMatch(/^Platform gateway: /);
    for (const type of ['aws_vpc_security_group_ingress_rule', 'aws_vpc_security_group_egress_rule']) {
      for (const [id, rule] of Object.entries(json.resource[type])) {
        expect(rule.description, id).toMatch(/^.{10,}$/);
        expect(rule.description, id).not.toBe('Managed by Terraform');
      }
    }
  });

  it('looks the Debian AMI up by its owner and name', () => {
    expect(
      Testing.toHaveDataSourceWithProperties(text, DataAwsAmi.tfResourceType, {
        owners: ['136693071363'],
        most_recent: true,
        filter: [
          { name: 'name', values: ['debian-12-amd64-*'] },
          { name: 'architecture', values: ['x86_64'] },
          { name: 'virtualization-type', values: ['hvm'] },
          { name: 'root-device-type', values: ['ebs'] },
        ],
      }),
    ).toBe(true);
    expect(instance.ami).toBe('${data.aws_ami.debian.id}');
  });

  it('hardens the instance: IMDSv2 only, encrypted gp3 root, monitoring, EBS-optimized, no public IP', () => {
    expect(
      Testing.toHaveResourceWithProperties(text, Instance.tfResourceType, {
        instance_type: 't3.small',
        associate_public_ip_address: false,
        monitoring: true,
        ebs_optimized: true,
        metadata_options: { http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1, instance_metadata_tags: 'disabled' },
        root_block_device: { volume_type: 'gp3', volume_size: 10, encrypted: true, delete_on_termination: true },
        vpc_security_group_ids: ['${aws_security_group.security-group.id}'],
        iam_instance_profile: '${aws_iam_instance_profile.instance-profile.name}',
      }),
    ).toBe(true);
  });

  const cloudInitPath = '${path.module}/../../gateway/cloud-init.yaml';

  it('boots from the rendered cloud-init file, gzip-compressed by Terraform, and carries none of its text', () => {
    expect(instance.user_data_base64).toBe(`\${base64gzip(file("${cloudInitPath}"))}`);
    expect(instance.user_data).toBeUndefined();
    // terraform -chdir=dist/terraform/gateway: path.module is that folder, and the path leads to dist/gateway/cloud-init.yaml.
    expect(posix.join('terraform/gateway', cloudInitPath.replace('${path.module}/', ''))).toBe('gateway/cloud-init.yaml');
    const cloudInit = renderCloudInit(platform);
    expect(text).not.toContain('#cloud-config');
    for (const line of cloudInit.split('\n').filter((l) => l.length > 40)) expect(text).not.toContain(JSON.stringify(line).slice(1, -1));
  });

  it('is replaced when the file\'s content changes (its SHA-256), not when Terraform compresses it differently or Debian publishes an image', () => {
    expect(json.resource.terraform_data['cloud-init']).toEqual({ triggers_replace: { sha256: `\${filesha256("${cloudInitPath}")}` } });
    expect(instance.user_data_replace_on_change).toBeUndefined();
    expect(instance.lifecycle).toEqual({
      ignore_changes: ['ami', 'user_data_base64'],
      replace_triggered_by: ['terraform_data.cloud-init.id'],
      precondition: [
        {
          condition: `\${length(base64gzip(file("${cloudInitPath}"))) <= 21844}`,
          error_message: 'gateway/cloud-init.yaml is more than EC2\'s 16384 bytes of user data once compressed: declare fewer public hosts, render again and review the diff.',
        },
      ],
    });
  });

  it('would fail the policy gates if the cloud-init it reads carried a key-like token, or if it read a file the render lacks', () => {
    const files = renderPlatform(platform);
    const tf = (changed: Map<string, string>) =>
      checkPolicy(policyInput(changed, platform))
        .map(formatViolation)
        .filter((v) => v.startsWith('TF-EC2-05'));
    expect(tf(files)).toEqual([]);
    const leaked = new Map(files).set('gateway/cloud-init.yaml', `${files.get('gateway/cloud-init.yaml')}# token: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`);
    expect(tf(leaked)).toEqual([
      'TF-EC2-05  aws_instance/gateway/gateway  gateway/cloud-init.yaml contains a secret-looking 40-character string "wJalrX..."; fetch secrets at boot instead of inlining them',
    ]);
    const missing = new Map(files);
    missing.delete('gateway/cloud-init.yaml');
    expect(tf(missing)).toEqual([
      'TF-EC2-05  aws_instance/gateway/gateway  user_data_base64 reads gateway/cloud-init.yaml, which is not a file of the render; the policy cannot check what the instance boots with',
    ]);
  });

  it('gives the instance a role that trusts only EC2 and may write exactly the first admin\'s key parameter', () => {
    const role = json.resource.aws_iam_role.role;
    expect(JSON.parse(role.assume_role_policy as string)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    expect(json.resource.aws_iam_instance_profile['instance-profile'].role).toBe('${aws_iam_role.role.name}');
    expect(role.description).toMatch(/no SSM agent/);
    // One inline policy, one statement: this action on this ARN, nothing else; no managed policy.
    const attached = [...Object.entries(json.resource.aws_iam_role_policy ?? {}), ...Object.entries(json.resource.aws_iam_role_policy_attachment ?? {})];
    expect(attached.map(([id, p]) => [id, p.role])).toEqual([
      ['flow-log-policy', '${aws_iam_role.flow-log-role.id}'],
      ['role-policy', '${aws_iam_role.role.id}'],
    ]);
    expect(JSON.parse(json.resource.aws_iam_role_policy['role-policy'].policy as string)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'ssm:PutParameter',
          Resource: 'arn:${data.aws_partition.partition.partition}:ssm:eu-central-1:${data.aws_caller_identity.account.account_id}:parameter/platform-gateway/headscale/first-admin-key',
        },
      ],
    });
    // The parameter the script writes, in the region it signs for.
    expect(FIRST_ADMIN_KEY_PARAMETER).toBe('/platform-gateway/headscale/first-admin-key');
    const script = cloudInitScripts(platform).get('/usr/local/sbin/platform-mesh-join')!;
    expect(script).toContain(`"Name":"${FIRST_ADMIN_KEY_PARAMETER}"`);
    expect(script).toContain('--aws-sigv4 aws:amz:eu-central-1:ssm');
    expect(json.data.aws_partition.partition).toBeDefined();
    expect(json.data.aws_caller_identity.account).toBeDefined();
  });

  it('would fail the policy gates if the role\'s statement were widened (the gates see the real render)', () => {
    const rendered = JSON.parse(renderTerraform(platform).get('terraform/gateway/cdk.tf.json')!) as TfJson;
    const violations = (statement: Record<string, unknown>) => {
      const stack = structuredClone(rendered);
      stack.resource.aws_iam_role_policy['role-policy'].policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] });
      return violationsOf([], { stacks: { gateway: stack as unknown as TerraformJson } }).filter((v) => v.includes('role-policy'));
    };
    const arn = JSON.parse(rendered.resource.aws_iam_role_policy['role-policy'].policy as string).Statement[0].Resource as string;
    expect(violations({ Action: 'ssm:PutParameter', Resource: arn })).toEqual([]);
    expect(violations({ Action: 'ssm:*', Resource: arn })).toEqual(['TF-IAM-01  aws_iam_role_policy/gateway/role-policy  allows "ssm:*"; list exact actions']);
    expect(violations({ Action: 'ssm:PutParameter', Resource: '*' })).toEqual([
      'TF-IAM-02  aws_iam_role_policy/gateway/role-policy  allows ssm:PutParameter on every resource; scope Resource to ARNs',
    ]);
  });

  it('keeps the gateway\'s state on an encrypted volume that survives the instance', () => {
    expect(json.resource.aws_ebs_volume['state-volume']).toMatchObject({ availability_zone: 'eu-central-1a', encrypted: true, type: 'gp3', lifecycle: { prevent_destroy: true } });
    expect(json.resource.aws_volume_attachment['state-volume-attachment']).toMatchObject({
      instance_id: '${aws_instance.gateway.id}',
      volume_id: '${aws_ebs_volume.state-volume.id}',
      stop_instance_before_detaching: true,
    });
  });

  it('publishes the gateway on an Elastic IP associated with the instance', () => {
    expect(Testing.toHaveResourceWithProperties(text, Eip.tfResourceType, { domain: 'vpc' })).toBe(true);
    expect(json.resource.aws_eip_association['address-association']).toEqual(
      expect.objectContaining({ allocation_id: '${aws_eip.address.allocation_id}', instance_id: '${aws_instance.gateway.id}' }),
    );
    expect(json.output.public_ip.value).toBe('${aws_eip.address.public_ip}');
  });

  it('holds no secret: no variable, no key material', () => {
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}|PRIVATE KEY|api_token|password/i);
  });
});
