import { describe, expect, it } from 'vitest';
import { looksLikeToken, shannonEntropy } from '../../policy/secrets';
import { violationsOf } from './fixtures';

const scan = (files: Record<string, string>) => violationsOf([], { files }).filter((v) => v.startsWith('SECRET-'));

describe('the secret scan', () => {
  it('passes on configuration without secrets, checksums and references included', () => {
    expect(
      scan({
        'gateway/cloud-init.yaml':
          'sha256: 4c3b2f1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b\n' +
          'url: https://github.com/juanfont/headscale/releases/download/v0.26.1/headscale_0.26.1_linux_amd64.deb\n',
        'terraform/x/cdk.tf.json': '{"kms_master_key_id": "${aws_kms_key.state-encryption-key.arn}"}\n',
      }),
    ).toEqual([]);
  });

  it('SECRET-01 fails on a private key block', () => {
    expect(scan({ 'gateway/key.pem': '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n' })).toEqual([
      'SECRET-01  file/-/gateway/key.pem  contains a private key block; keys are generated where they are used or loaded from Vault',
    ]);
  });

  it('SECRET-02 fails on an AWS access key id', () => {
    expect(scan({ 'terraform/x/cdk.tf.json': '{"access_key": "AKIAIOSFODNN7EXAMPLE"}' })).toEqual([
      'SECRET-02  file/-/terraform/x/cdk.tf.json  contains an AWS access key id; use the instance role or a Terraform variable',
    ]);
  });

  it('SECRET-03 fails on a high-entropy token', () => {
    expect(scan({ 'gateway/app.conf': 'key = Zk3pQ9xV2mL7tR4wB8nY1cH6jF0sD5gA\n' })).toEqual([
      'SECRET-03  file/-/gateway/app.conf  contains a high-entropy token "Zk3pQ9xV..."; secrets come from Vault or Terraform variables',
    ]);
  });

  it('tells tokens from names, paths and hex', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(looksLikeToken('Zk3pQ9xV2mL7tR4wB8nY1cH6jF0sD5gA')).toBe(true);
    expect(looksLikeToken('4c3b2f1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b')).toBe(false);
    expect(looksLikeToken('resources-finalizer.argocd.argoproj.io')).toBe(false);
    expect(looksLikeToken('S3BucketServerSideEncryptionConfiguration')).toBe(false);
  });
});
