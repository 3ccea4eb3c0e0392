import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { TerraformJson } from '../../../policy/types';
import { clone, violationsOf } from '../fixtures';

const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

/** A compliant gateway, written by hand in cdktf's JSON shape. */
function gateway(): TerraformJson {
  return {
    data: { aws_ami: { debian: { owners: ['136693071363'], most_recent: true } } },
    resource: {
      aws_vpc: { vpc: { cidr_block: '10.20.0.0/16' } },
      aws_default_security_group: { default: { vpc_id: '${aws_vpc.vpc.id}' } },
      aws_subnet: { public: { vpc_id: '${aws_vpc.vpc.id}', map_public_ip_on_launch: false } },
      aws_security_group: {
        gateway: {
          description: 'The gateway: HTTPS in, limited egress',
          vpc_id: '${aws_vpc.vpc.id}',
          ingress: [{ description: 'HTTPS from the internet', protocol: 'tcp', from_port: 443, to_port: 443, cidr_blocks: ['0.0.0.0/0'] }],
          egress: [{ description: 'HTTPS to the mesh', protocol: 'tcp', from_port: 443, to_port: 443, cidr_blocks: ['100.64.0.0/10'] }],
        },
      },
      aws_iam_role: { gateway: { assume_role_policy: trust } },
      aws_iam_role_policy: {
        gateway: { role: '${aws_iam_role.gateway.id}', policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ssm:UpdateInstanceInformation'], Resource: '*' }] }) },
      },
      aws_instance: {
        gateway: {
          ami: '${data.aws_ami.debian.id}',
          subnet_id: '${aws_subnet.public.id}',
          associate_public_ip_address: false,
          iam_instance_profile: '${aws_iam_instance_profile.gateway.name}',
          monitoring: true,
          metadata_options: { http_tokens: 'required', http_endpoint: 'enabled' },
          root_block_device: { encrypted: true, volume_type: 'gp3' },
          user_data: '#cloud-config\npackages: [haproxy]\n',
        },
      },
      aws_eip: { gateway: { domain: 'vpc', instance: '${aws_instance.gateway.id}' } },
    },
  };
}

const aws = (json: TerraformJson) => violationsOf([], { stacks: { gateway: json } }).filter((v) => v.startsWith('TF-') || v.startsWith('POLICY-'));
const REF = 'aws_instance/gateway/gateway';

describe('AWS rules', () => {
  it('pass on a compliant gateway', () => {
    expect(aws(gateway())).toEqual([]);
  });

  const instanceCases: [string, (i: any) => void, string][] = [
    ['TF-EC2-01', (i) => (i.metadata_options.http_tokens = 'optional'), 'does not require IMDSv2; set metadata_options.http_tokens = "required"'],
    ['TF-EC2-02', (i) => delete i.root_block_device, 'root volume is not encrypted; set root_block_device.encrypted = true'],
    ['TF-EC2-03', (i) => (i.monitoring = false), 'has no detailed monitoring; set monitoring = true'],
    ['TF-EC2-05', (i) => (i.user_data += 'token: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n'), 'user_data contains a secret-looking 40-character string "wJalrX..."; fetch secrets at boot instead of inlining them'],
    ['TF-EC2-06', (i) => delete i.iam_instance_profile, 'has no instance profile; attach a least-privilege role'],
    ['TF-EC2-07', (i) => (i.associate_public_ip_address = true), 'gets a public IP at launch; set associate_public_ip_address = false and use an Elastic IP'],
  ];
  for (const [rule, change, message] of instanceCases) {
    it(`${rule} fails when the instance ${message.split(';')[0]}`, () => {
      const json = gateway();
      change(json.resource!.aws_instance.gateway);
      expect(aws(json)).toEqual([`${rule}  ${REF}  ${message}`]);
    });
  }

  describe('TF-EC2-05 reads the user data the instance boots with', () => {
    const TOKEN = 'token: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n';
    const CLEAN = '#cloud-config\npackages: [haproxy]\n';
    const fromFile = (files: Record<string, string>, path = '${path.module}/../../gateway/cloud-init.yaml') => {
      const json = gateway();
      const instance = json.resource!.aws_instance.gateway as Record<string, unknown>;
      delete instance.user_data;
      instance.user_data_base64 = `\${base64gzip(file("${path}"))}`;
      return violationsOf([], { stacks: { gateway: json }, files }).filter((v) => v.startsWith('TF-EC2-05'));
    };

    it('passes when the file the stack reads (relative to its folder) is clean', () => {
      expect(fromFile({ 'gateway/cloud-init.yaml': CLEAN })).toEqual([]);
    });

    it('fails when the rendered file the stack reads holds a key-like token', () => {
      expect(fromFile({ 'gateway/cloud-init.yaml': CLEAN + TOKEN })).toEqual([
        `TF-EC2-05  ${REF}  gateway/cloud-init.yaml contains a secret-looking 40-character string "wJalrX..."; fetch secrets at boot instead of inlining them`,
      ]);
      // The path is resolved from the stack's folder: the same name elsewhere is another file.
      expect(fromFile({ 'gateway/cloud-init.yaml': CLEAN + TOKEN, 'terraform/gateway/cloud-init.yaml': CLEAN }, '${path.module}/cloud-init.yaml')).toEqual([]);
    });

    it('fails when the stack reads a file the render does not hold', () => {
      expect(fromFile({ 'gateway/cloud-init.yaml': CLEAN }, '${path.module}/../gateway/cloud-init.yaml')).toEqual([
        `TF-EC2-05  ${REF}  user_data_base64 reads terraform/gateway/cloud-init.yaml, which is not a file of the render; the policy cannot check what the instance boots with`,
      ]);
    });

    it('fails on a token inside literal base64 user data, gzip-compressed or not', () => {
      for (const bytes of [gzipSync(CLEAN + TOKEN), Buffer.from(CLEAN + TOKEN)]) {
        const json = gateway();
        const instance = json.resource!.aws_instance.gateway as Record<string, unknown>;
        delete instance.user_data;
        instance.user_data_base64 = bytes.toString('base64');
        expect(aws(json)).toEqual([`TF-EC2-05  ${REF}  user_data_base64 contains a secret-looking 40-character string "wJalrX..."; fetch secrets at boot instead of inlining them`]);
      }
    });
  });

  it('TF-EC2-08 fails when the AMI lookup names no owner', () => {
    const json = gateway();
    json.data!.aws_ami.debian.owners = [];
    expect(aws(json)).toEqual(['TF-EC2-08  data.aws_ami/gateway/debian  has no owners; name the AMI owner account explicitly']);
  });

  it('TF-SG-01/02/04 fail on SSH from the world, all ports, no source and no description', () => {
    const json = gateway();
    const sg = json.resource!.aws_security_group.gateway as any;
    sg.ingress.push({ description: 'ssh', protocol: 'tcp', from_port: 22, to_port: 22, cidr_blocks: ['0.0.0.0/0'] });
    sg.ingress.push({ description: 'everything', protocol: '-1', from_port: 0, to_port: 0, cidr_blocks: ['::/0'] });
    sg.ingress.push({ protocol: 'udp', from_port: 3478, to_port: 3478 });
    expect(aws(json)).toEqual([
      'TF-SG-01  aws_security_group/gateway/gateway  ingress from the internet covers 0-65535 (SSH/RDP); administer over the mesh or SSM instead',
      'TF-SG-01  aws_security_group/gateway/gateway  ingress from the internet covers 22-22 (SSH/RDP); administer over the mesh or SSM instead',
      'TF-SG-02  aws_security_group/gateway/gateway  ingress from the internet on all ports; open only the ports the gateway serves',
      'TF-SG-02  aws_security_group/gateway/gateway  ingress rule udp/3478-3478 has no source; name the CIDRs or security group',
      'TF-SG-04  aws_security_group/gateway/gateway  ingress rule udp/3478-3478 has no description; say what it is for',
    ]);
  });

  it('TF-SG-03 fails on all-ports egress to the world', () => {
    const json = gateway();
    (json.resource!.aws_security_group.gateway as any).egress = [{ description: 'all', protocol: '-1', from_port: 0, to_port: 0, cidr_blocks: ['0.0.0.0/0'] }];
    expect(aws(json)).toEqual(['TF-SG-03  aws_security_group/gateway/gateway  egress to the internet on all ports; list the ports the gateway needs']);
  });

  it('TF-SG-03 fails on egress to the world unless a narrow, declared exception covers that rule', () => {
    const json = gateway();
    json.resource!.aws_vpc_security_group_egress_rule = {
      https: { description: 'HTTPS to mirrors', ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '0.0.0.0/0', security_group_id: '${aws_security_group.gateway.id}' },
    };
    expect(aws(json)).toEqual([
      'TF-SG-03  aws_vpc_security_group_egress_rule/gateway/https  egress to the internet on tcp/443-443; narrow the destination, or declare why it cannot be (policy exception)',
    ]);
    (json.resource!.aws_vpc_security_group_egress_rule.https as any)['//'] = { policy_exceptions: 'TF-SG-03: package mirrors and ACME live at addresses not known in advance' };
    expect(aws(json)).toEqual([]);
    Object.assign(json.resource!.aws_vpc_security_group_egress_rule.https, { ip_protocol: '-1', from_port: undefined, to_port: undefined });
    expect(aws(json)).toEqual([
      'POLICY-EXC-02  aws_vpc_security_group_egress_rule/gateway/https  exception for gateway egress to the internet (package mirrors, ACME, NATed mesh peers) is broader than upstream needs: allows every protocol; name tcp or udp and the ports',
    ]);
  });

  it('TF-SG-05 fails when the VPC has no empty default security group', () => {
    const json = gateway();
    (json.resource!.aws_default_security_group.default as any).ingress = [{ description: 'x', protocol: '-1', from_port: 0, to_port: 0, self: true }];
    expect(aws(json)).toEqual(['TF-SG-05  aws_default_security_group/gateway/default  the default security group has rules; remove them']);
    delete json.resource!.aws_default_security_group;
    expect(aws(json)).toEqual(['TF-SG-05  aws_vpc/gateway/vpc  has no aws_default_security_group; render one with no rules so the default group allows nothing']);
  });

  it('TF-EIP-01 fails when the Elastic IP is attached to nothing', () => {
    const json = gateway();
    delete (json.resource!.aws_eip.gateway as any).instance;
    expect(aws(json)).toEqual(['TF-EIP-01  aws_eip/gateway/gateway  is not attached to an instance; set instance or add an aws_eip_association']);
  });

  it('TF-IAM-01/02/03/05 fail on wildcards, unscoped resources, PassRole and a wide trust policy', () => {
    const json = gateway();
    (json.resource!.aws_iam_role_policy.gateway as any).policy = JSON.stringify({
      Statement: [{ Effect: 'Allow', Action: ['s3:*', 'iam:PassRole', 's3:GetObject'], Resource: '*' }],
    });
    (json.resource!.aws_iam_role.gateway as any).assume_role_policy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] });
    expect(aws(json)).toEqual([
      'TF-IAM-05  aws_iam_role/gateway/gateway  trusts AWS *; trust only the AWS service that assumes the role',
      'TF-IAM-01  aws_iam_role_policy/gateway/gateway  allows "s3:*"; list exact actions',
      'TF-IAM-02  aws_iam_role_policy/gateway/gateway  allows s3:*, iam:PassRole, s3:GetObject on every resource; scope Resource to ARNs',
      'TF-IAM-03  aws_iam_role_policy/gateway/gateway  allows iam:PassRole; the gateway never passes roles',
    ]);
  });

  it('TF-IAM-01/02 fail on a user or group inline policy with wildcards or unscoped resources', () => {
    const json = gateway();
    const wide = JSON.stringify({ Statement: [{ Effect: 'Allow', Action: ['kms:*'], Resource: '*' }] });
    json.resource!.aws_iam_user_policy = { unseal: { user: 'vault-unseal', policy: wide } };
    json.resource!.aws_iam_group_policy = { admins: { group: 'admins', policy: wide } };
    expect(aws(json)).toEqual([
      'TF-IAM-01  aws_iam_group_policy/gateway/admins  allows "kms:*"; list exact actions',
      'TF-IAM-02  aws_iam_group_policy/gateway/admins  allows kms:* on every resource; scope Resource to ARNs',
      'TF-IAM-01  aws_iam_user_policy/gateway/unseal  allows "kms:*"; list exact actions',
      'TF-IAM-02  aws_iam_user_policy/gateway/unseal  allows kms:* on every resource; scope Resource to ARNs',
    ]);
  });

  it('TF-KMS-01/02 pass on a rotating key whose policy names principals and exact actions', () => {
    const json = gateway();
    const policy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: '${aws_iam_user.u.arn}' }, Action: ['kms:Decrypt'], Resource: '*' }] });
    json.resource!.aws_kms_key = { key: { enable_key_rotation: true, policy }, plain: { enable_key_rotation: true } };
    expect(aws(json)).toEqual([]);
  });

  it('TF-KMS-01/02 fail on a key that does not rotate and a key policy open to everyone or to every action', () => {
    const json = gateway();
    const policy = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: ['kms:Decrypt'], Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' },
      ],
    });
    json.resource!.aws_kms_key = { key: { enable_key_rotation: false, policy } };
    expect(aws(json)).toEqual([
      'TF-KMS-01  aws_kms_key/gateway/key  does not rotate; set enable_key_rotation = true',
      'TF-KMS-02  aws_kms_key/gateway/key  its key policy allows "kms:*"; list exact actions',
      'TF-KMS-02  aws_kms_key/gateway/key  its key policy allows Principal "*"; name the principals',
    ]);
  });

  it('TF-S3-01/02/03 fail on a bare bucket', () => {
    const json = gateway();
    json.resource!.aws_s3_bucket = { logs: { bucket: 'logs' } };
    expect(aws(json)).toEqual([
      'TF-S3-01  aws_s3_bucket/gateway/logs  is not versioned; add aws_s3_bucket_versioning with status Enabled',
      'TF-S3-02  aws_s3_bucket/gateway/logs  is not encrypted with a KMS key; add aws_s3_bucket_server_side_encryption_configuration with aws:kms and kms_master_key_id',
      'TF-S3-03  aws_s3_bucket/gateway/logs  public access is not fully blocked (block_public_acls, block_public_policy, ignore_public_acls, restrict_public_buckets); add aws_s3_bucket_public_access_block with all four true',
    ]);
  });

  it('TF-S3-04 fails on a public ACL and a policy that allows everyone', () => {
    const json = clone(gateway());
    json.resource!.aws_s3_bucket = { b: { bucket: 'b' } };
    json.resource!.aws_s3_bucket_acl = { b: { bucket: '${aws_s3_bucket.b.id}', acl: 'public-read' } };
    json.resource!.aws_s3_bucket_policy = { b: { bucket: '${aws_s3_bucket.b.id}', policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] }) } };
    const found = aws(json).filter((v) => v.startsWith('TF-S3-04'));
    expect(found).toEqual([
      'TF-S3-04  aws_s3_bucket_acl/gateway/b  grants public-read; keep the bucket private',
      'TF-S3-04  aws_s3_bucket_policy/gateway/b  allows Principal "*"; name the principals',
    ]);
  });
});
