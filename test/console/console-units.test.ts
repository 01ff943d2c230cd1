/**
 * The console's pure parts: what it binds to and which requests it believes, escaping, the
 * resolve form derived from a task's output schema, and the game day timeline. No network.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTask } from '../../lambda/tasks/registry';
import { assertLoopbackBind, ConsoleSecrets, cookieValue, isLoopbackAddress, isLoopbackHost, sessionCookieName } from '../../pipectl/console/console-security';
import { readGameDay } from '../../pipectl/console/gameday-timeline';
import { html } from '../../pipectl/console/html';
import { formFieldsOf, resultJsonFromForm } from '../../pipectl/console/review-form';
import { UsageError } from '../../pipectl/errors';
import { validateResolution } from '../../pipectl/review';
import { pipectl } from '../pipectl/cli-harness';

const scratch = mkdtempSync(join(tmpdir(), 'console-units-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bind address', () => {
  it.each(['127.0.0.1', '::1'])('accepts the loopback address %s', (host) => {
    expect(() => assertLoopbackBind(host)).not.toThrow();
  });

  it.each(['0.0.0.0', '::', 'localhost', '192.168.1.20', '10.0.0.1', '127.0.0.1.nip.io', ''])(
    'refuses %j: it could be reached from another machine',
    (host) => {
      expect(() => assertLoopbackBind(host)).toThrow(UsageError);
    },
  );
});

describe('which requests are believed', () => {
  it.each([
    ['127.0.0.1:8700', true],
    ['localhost:8700', true],
    ['[::1]:8700', true],
    ['LOCALHOST:8700', true],
    ['127.0.0.1:8701', false],
    ['attacker.example:8700', false],
    ['127.0.0.1', false],
    [undefined, false],
  ] as const)("Host %j → %s (DNS rebinding sends the attacker's name)", (host, expected) => {
    expect(isLoopbackHost(host, 8700)).toBe(expected);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.3.4.5', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['192.168.0.4', false],
    ['::ffff:10.1.2.3', false],
    ['fe80::1', false],
    [undefined, false],
  ] as const)('remote address %j is loopback: %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });

  it('the session and form secrets are distinct, random per run, and compared exactly', () => {
    const one = new ConsoleSecrets();
    const two = new ConsoleSecrets();
    expect(one.session).not.toBe(two.session);
    expect(one.csrf).not.toBe(one.session);
    expect(one.isSession(one.session)).toBe(true);
    expect(one.isSession(two.session)).toBe(false);
    expect(one.isSession(one.session.slice(1))).toBe(false);
    expect(one.isSession(undefined)).toBe(false);
    expect(one.isCsrf(one.csrf)).toBe(true);
    expect(one.isCsrf(one.session)).toBe(false);
  });

  it('reads one cookie among several', () => {
    expect(cookieValue('a=1; pipectl_console_8700=xyz=; pipectl_console_8701=abc', sessionCookieName(8700))).toBe('xyz=');
    expect(cookieValue(undefined, 'pipectl_console')).toBeUndefined();
  });
});

describe('pipectl console --help', () => {
  it('describes the command with examples and the loopback-only --host', async () => {
    const run = await pipectl(['console', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nExamples:\n {2}\$ pipectl console --local/);
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('--host <address> the loopback address to listen on: 127.0.0.1 or ::1; anything else is refused');
  });
});

describe('html', () => {
  it('escapes interpolated text and keeps nested templates as markup', () => {
    const input = `<script>alert("x")</script> & 'quotes'`;
    expect(html`<td title="${input}">${input}</td>`.value).toBe(
      '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;</td>',
    );
    expect(html`<ul>${['a<b', 'c'].map((item) => html`<li>${item}</li>`)}</ul>`.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
  });
});

describe('the resolve form of ticket-triage', () => {
  const fields = formFieldsOf('ticket-triage');

  it("has one input per output property, with the schema's limits", () => {
    expect(fields?.map((field) => [field.name, field.kind])).toEqual([
      ['category', 'select'],
      ['priority', 'select'],
      ['confidence', 'number'],
      ['summary', 'textarea'],
    ]);
    expect(fields?.find((field) => field.name === 'confidence')).toMatchObject({ min: 0, max: 1, required: true });
    expect(fields?.find((field) => field.name === 'summary')).toMatchObject({ minLength: 1, maxLength: 280 });
    expect(fields?.find((field) => field.name === 'category')?.options).toContain('billing');
  });

  it('is undefined for a task this pipectl does not know', () => {
    expect(formFieldsOf('no-such-task')).toBeUndefined();
  });

  const ledgerItem = { pk: 'k', task: 'ticket-triage', taskVersion: findTask('ticket-triage')?.version };
  const submit = (values: Record<string, string>) =>
    resultJsonFromForm(fields ?? [], new URLSearchParams(Object.fromEntries(Object.entries(values).map(([name, value]) => [`field.${name}`, value]))));

  it("turns a filled form into a result the CLI's validation accepts, numbers as numbers", () => {
    const json = submit({ category: 'billing', priority: 'high', confidence: '0.9', summary: 'Charged twice' });
    expect(validateResolution(ledgerItem, json)).toEqual({ category: 'billing', priority: 'high', confidence: 0.9, summary: 'Charged twice' });
  });

  it.each([
    [{ category: 'weather', priority: 'high', confidence: '0.9', summary: 'x' }, /category/],
    [{ category: 'billing', priority: 'high', confidence: '2', summary: 'x' }, /confidence/],
    [{ category: 'billing', priority: 'high', confidence: 'lots', summary: 'x' }, /confidence/],
    [{ category: 'billing', priority: 'high', confidence: '0.5' }, /summary/],
  ])('a result outside the schema is refused by the same check as `review resolve`: %j', (values, field) => {
    expect(() => validateResolution(ledgerItem, submit(values))).toThrow(field);
  });
});

describe('game day timeline', () => {
  it('places the fault window, the detection and the recovery from a `pipectl gameday --json` result', () => {
    const file = join(scratch, 'result.json');
    writeFileSync(
      file,
      JSON.stringify({
        scenario: 'model-outage',
        faults: 'outage=30-150',
        timeScale: 0.1,
        timeToDetectSeconds: 62,
        timeToRecoverSeconds: 95,
        detectedBy: 'model-error-rate',
        firedBeforeFault: [],
        passed: true,
        sent: 120,
        wallSeconds: 30,
        report: { unique: 120, completed: 118, deadLettered: 0, inReview: 2, invariantHolds: true, invariantViolations: [], byTier: {} },
        events: [
          { at: 1, virtualSeconds: 0, event: 'sending 2 message(s) per second (pipeline time); faults: outage=30-150' },
          { at: 2, virtualSeconds: 30, event: 'fault starts' },
          { at: 3, virtualSeconds: 80, event: 'breaker-open OK → ALARM' },
          { at: 4, virtualSeconds: 92, event: 'model-error-rate INSUFFICIENT_DATA → ALARM' },
          { at: 5, virtualSeconds: 150, event: 'fault ends' },
          { at: 6, virtualSeconds: 200, event: 'model-error-rate ALARM → OK' },
          { at: 7, virtualSeconds: 245, event: 'every alarm that fired is OK again' },
          { at: 8, virtualSeconds: 246, event: 'workload stopped; draining the input queue' },
        ],
      }),
    );
    const timeline = readGameDay(file);
    if ('missing' in timeline) throw new Error(timeline.missing);
    expect(timeline.fault).toEqual({ from: 30, to: 150 });
    expect(timeline.detectedAt).toBe(92);
    expect(timeline.recoveredAt).toBe(245);
    expect(timeline.entries.map((entry) => entry.kind)).toEqual(['action', 'fault', 'alarm', 'detection', 'fault', 'alarm', 'recovery', 'action']);
    expect(timeline.outcome).toMatch(/120 sent: 118 completed, 0 dead-lettered, 2 in review; invariant holds/);
  });

  it('says why there is no timeline: no file, or a file of another shape', () => {
    expect(readGameDay(join(scratch, 'absent.json'))).toMatchObject({ missing: expect.stringMatching(/no game day result at .*pipectl gameday/) });
    const other = join(scratch, 'other.json');
    writeFileSync(other, '{"scenario": 3}');
    expect(readGameDay(other)).toMatchObject({ missing: expect.stringMatching(/is not a `pipectl gameday --json` result: scenario/) });
  });
});
