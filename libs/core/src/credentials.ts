import { hash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => hash('sha256', value, 'buffer');

/**
 * A check of presented credentials against the expected one, in constant time. Both sides are hashed
 * first, so the comparison runs on equal-length buffers and the time taken reveals nothing about either
 * length; the expected side is hashed once, not at every request.
 */
export function credentialCheck(expected: string): (presented: string | undefined) => boolean {
  const expectedDigest = digest(expected);
  return (presented) => timingSafeEqual(digest(presented ?? ''), expectedDigest) && presented !== undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if it has that form. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}
