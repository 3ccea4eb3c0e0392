/**
 * AWS Signature Version 4, checked the way an AWS endpoint checks it: rebuilds the canonical
 * request from what arrived (method, path, query, the signed headers, the body), derives the
 * signing key from the secret and compares signatures. Written from AWS's description of the
 * algorithm; used to prove that the requests the gateway's scripts send with curl are signed.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedRequest {
  readonly method: string;
  /** The request target as received: path and optional query. */
  readonly url: string;
  /** Header names and values in the order they arrived (Node's `rawHeaders` pairs). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The session token of temporary credentials: it must arrive, signed, as x-amz-security-token. */
  readonly sessionToken?: string;
}

export interface SignatureCheck {
  readonly region: string;
  readonly service: string;
  /** The headers that must be among the signed ones (lowercase), beyond host and x-amz-date. */
  readonly mustSign?: readonly string[];
  /** How far x-amz-date may be from now. @default 15 minutes, as AWS allows */
  readonly maxSkewMs?: number;
  readonly now?: Date;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (every byte but unreserved characters). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .map((pair) => {
      const [name, value = ''] = pair.split('=');
      return [uriEncode(decodeURIComponent(name)), uriEncode(decodeURIComponent(value))];
    })
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** The problems with a request's signature; empty when an AWS endpoint would accept it. */
export function sigv4Problems(request: SignedRequest, credentials: SigningCredentials, check: SignatureCheck): string[] {
  const headers = new Map<string, string[]>();
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), request.rawHeaders[i + 1].trim().replace(/\s+/g, ' ')]);
  }
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    headers.get('authorization')?.[0] ?? '',
  );
  if (!auth) return [`no AWS4-HMAC-SHA256 Authorization header (got ${JSON.stringify(headers.get('authorization')?.[0] ?? null)})`];
  const [, keyId, date, region, service, signedList, signature] = auth;
  const signed = signedList.split(';');
  const problems: string[] = [];
  if (keyId !== credentials.accessKeyId) problems.push(`signed with access key ${keyId}, not the instance role's`);
  if (region !== check.region) problems.push(`signed for region ${region}, not ${check.region}`);
  if (service !== check.service) problems.push(`signed for service ${service}, not ${check.service}`);
  const amzDate = headers.get('x-amz-date')?.[0] ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) problems.push(`x-amz-date ${JSON.stringify(amzDate)} does not match the credential scope date ${date}`);
  else {
    const at = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
    if (Math.abs((check.now ?? new Date()).getTime() - at) > (check.maxSkewMs ?? 15 * 60_000)) problems.push(`x-amz-date ${amzDate} is too far from now`);
  }
  const required = ['host', 'x-amz-date', ...(credentials.sessionToken ? ['x-amz-security-token'] : []), ...(check.mustSign ?? [])];
  for (const name of required) if (!signed.includes(name)) problems.push(`header ${name} is not signed`);
  if (credentials.sessionToken && headers.get('x-amz-security-token')?.[0] !== credentials.sessionToken) problems.push('x-amz-security-token is not the session token of the credentials');
  if ([...signed].sort().join(';') !== signedList) problems.push('SignedHeaders are not sorted');
  for (const name of signed) if (!headers.has(name)) problems.push(`signed header ${name} did not arrive`);
  if (problems.length) return problems;

  const [path, query = ''] = request.url.split('?');
  const canonicalRequest = [
    request.method,
    path.split('/').map((segment) => uriEncode(decodeURIComponent(segment))).join('/') || '/',
    canonicalQuery(query),
    signed.map((name) => `${name}:${headers.get(name)!.join(',')}\n`).join(''),
    signedList,
    sha256(request.body),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = [date, region, service, 'aws4_request'].reduce<Buffer | string>((k, part) => hmac(k, part), `AWS4${credentials.secretAccessKey}`);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return ['the signature does not match the request (SignatureDoesNotMatch)'];
  return [];
}
