import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { UsageError } from '../errors';

/**
 * The addresses the console may listen on. It acts with the operator's own AWS credentials, so it
 * must not be reachable from another machine: loopback only, and no wildcard (0.0.0.0, ::) or
 * host name that could resolve to something else.
 */
export const LOOPBACK_ADDRESSES: ReadonlySet<string> = new Set(['127.0.0.1', '::1']);

/** Refuses any bind address but a literal loopback one. */
export function assertLoopbackBind(host: string): void {
  if (!LOOPBACK_ADDRESSES.has(host)) {
    throw new UsageError(
      `the console listens on 127.0.0.1 (or ::1) only, not "${host}": it acts with your AWS credentials, so it must not be reachable ` +
        'from another machine. To use it remotely, forward the port over SSH (ssh -L 8700:127.0.0.1:8700 host).',
    );
  }
}

/**
 * Whether a request's Host header names this server on loopback. A page from another site that
 * made its own name resolve to 127.0.0.1 (DNS rebinding) sends its own name here, and is refused.
 */
export function isLoopbackHost(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  const allowed = [`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`];
  return allowed.includes(hostHeader.toLowerCase());
}

/** Whether an address (a socket's remote or local address) is loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/**
 * The secrets of one console run. `session` is in the URL the console prints once and then in an
 * HttpOnly, SameSite=Strict cookie: another user of this machine can reach 127.0.0.1 too, and
 * must not act with your credentials. `csrf` is in every form and checked on every POST, so a
 * page on another site cannot submit one even if the browser sends the cookie.
 */
export class ConsoleSecrets {
  readonly session: string;
  readonly csrf: string;

  constructor(seed: Buffer = randomBytes(32)) {
    this.session = seed.toString('base64url');
    this.csrf = createHmac('sha256', seed).update('csrf').digest('base64url');
  }

  /** Constant-time comparison with the session secret. */
  isSession(candidate: string | undefined): boolean {
    return equalSecret(candidate, this.session);
  }

  /** Constant-time comparison with the form token. */
  isCsrf(candidate: string | undefined): boolean {
    return equalSecret(candidate, this.csrf);
  }
}

function equalSecret(candidate: string | undefined, secret: string): boolean {
  if (typeof candidate !== 'string') return false;
  const a = Buffer.from(candidate);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The name of the session cookie of the console on `port`. Cookies are not kept per port, so two
 * consoles (say, local and prod) open in one browser would overwrite each other's under one name.
 */
export function sessionCookieName(port: number): string {
  return `pipectl_console_${port}`;
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/**
 * Headers on every answer: no framing (a confirm button must not be clickjacked), scripts only
 * from this origin (no inline script, so injected markup cannot run), nothing cached, no referrer
 * to other sites.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` on form posts,
  // which the Origin check must refuse. Other sites get no referrer either way.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
