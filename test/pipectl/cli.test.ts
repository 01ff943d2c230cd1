/**
 * The command line itself: every command's --help has an example, usage errors exit 2 with a
 * message that says what to do, a missing target exits 1, and `pipectl gameday` runs a whole
 * game day on a local pipeline of its own and reports time-to-detect and time-to-recover.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pipectl } from './cli-harness';
import { GAMEDAY_SCENARIOS } from '../../pipectl/gameday-scenarios';

const ROOT = join(__dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'pipectl-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const COMMANDS = [
  ['send'],
  ['status'],
  ['triage'],
  ['dlq'],
  ['dlq', 'list'],
  ['dlq', 'show'],
  ['dlq', 'redrive'],
  ['pause'],
  ['resume'],
  ['breaker'],
  ['breaker', 'status'],
  ['breaker', 'open'],
  ['breaker', 'close'],
  ['breaker', 'release'],
  ['review'],
  ['review', 'list'],
  ['review', 'resolve'],
  ['review', 'entity'],
  ['jobs'],
  ['runbook'],
  ['gameday'],
  ['switch'],
  ['switch', 'list'],
  ['switch', 'set'],
  ['switch', 'unset'],
  ['canary'],
  ['canary', 'status'],
  ['canary', 'promote'],
  ['canary', 'abort'],
  ['canary', 'watch'],
  ['replay'],
  ['incident'],
  ['incident', 'timeline'],
] as const;

describe('pipectl --help', () => {
  it.each(COMMANDS.map((command) => [command.join(' '), command] as const))('%s has a description and an example', async (_name, command) => {
    const run = await pipectl([...command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: pipectl /);
    expect(run.stdout).toMatch(/\nExamples:\n {2}\$ pipectl /);
  });

  it('lists every command at the top level, and says commands are read-only unless they ask', async () => {
    const run = await pipectl(['--help']);
    expect(run.code).toBe(0);
    for (const name of ['local', 'send', 'status', 'triage', 'dlq', 'pause', 'resume', 'breaker', 'review', 'jobs', 'runbook', 'gameday']) {
      expect(run.stdout).toMatch(new RegExp(`\\n {2}${name}\\b`));
    }
    expect(run.stdout).toContain('read-only unless it says otherwise');
  });
});

describe('exit codes', () => {
  it('2 for an unknown option, with a pointer to --help', async () => {
    const run = await pipectl(['status', '--stagee', 'dev']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option '--stagee'/);
  });

  it('2 for a bad option value', async () => {
    const run = await pipectl(['dlq', 'redrive', '--rate', 'fast', '--local']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/a number in \(0, 500\] is expected/);
    const duration = await pipectl(['triage', '--since', 'yesterday', '--local', join(scratch, 'none.json')]);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toMatch(/--since "yesterday" is not a duration: use e\.g\. 90s, 15m, 3h or 2d/);
    const rate = await pipectl(['gameday', 'model-outage', '--rate', '0']);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/a number of messages per second in \[0\.1, 20\] is expected/);
  });

  it('2 for a file that is not there', async () => {
    const run = await pipectl(['send', join(scratch, 'missing.jsonl'), '--local']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no such file \(give a JSONL file, or - for standard input\)/);
  });

  it('1 when the local pipeline is not running, with how to start one', async () => {
    const run = await pipectl(['status', '--local', join(scratch, 'serve.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no local pipeline: .* does not exist; start one with `npm run pipectl -- local --serve`/);
  });

  it('2 for an unknown runbook alarm, listing the alarms', async () => {
    const run = await pipectl(['runbook', 'no-such-alarm']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no alarm "no-such-alarm"; the alarms are: pipeline-unhealthy, .*dlq-has-messages/);
  });

  it('the real binary maps them the same way (a child process, as a user runs it)', async () => {
    // bin/pipectl.js: the prebuilt bundle when it is fresh, the TypeScript source otherwise.
    const child = spawn(process.execPath, ['bin/pipectl.js', 'jobs', '--limit', '0', '--local'], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/a positive integer is expected/);
  });
});

describe('runbook', () => {
  it('prints the section of one alarm with its thresholds for the stage', async () => {
    const run = await pipectl(['runbook', 'AiPipeline-prod-dlq-has-messages', '--stage', 'prod']);
    expect(run.code, run.stderr).toBe(0);
    // For a terminal: no HTML anchor, no Markdown emphasis, the stage filled in.
    expect(run.stdout).toMatch(/^## dlq-has-messages: Input DLQ has messages\n\nTL;DR: pipectl status --stage prod/);
    expect(run.stdout).toMatch(/\| prod \| ≥ 1 messages \|/);
    expect(run.stdout).not.toMatch(/\| dev \|/);
    expect(run.stdout).toContain('1. First five minutes (stop the bleeding).');
  });

  it('lists the alarms without an argument', async () => {
    const run = await pipectl(['runbook']);
    expect(run.stdout).toMatch(/pipeline-unhealthy\s+page\s+Pipeline unhealthy/);
    expect(run.stdout).toMatch(/dlq-has-messages\s+ticket\s+Input DLQ has messages/);
  });
});

describe('gameday', () => {
  it('lists the scenarios, and names them when one is unknown', async () => {
    const list = await pipectl(['gameday']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/model-outage\s+outage=30-150\s+model-error-rate or breaker-open/);
    const unknown = await pipectl(['gameday', 'meteor']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no game day scenario "meteor"; the scenarios are: ${Object.keys(GAMEDAY_SCENARIOS).join(', ')}`);
  });

  it('model-outage: the outage is detected and recovered from, times are printed, and nothing is lost', async () => {
    const log = join(scratch, 'gameday', 'processor.log');
    // A generous bound of pipeline time: on a loaded machine the local pipeline runs slower.
    // ×0.2, not the scenario's ×0.1: inside the full suite (five workers on two cores) an invocation
    // at ×0.1 (6 s) timed out and paged processor-errors, which the drill rightly fails as a cause
    // not injected; that would be a test of the machine, not of the drill.
    // --rate 0.5, not the scenario's 2 messages per second: a quarter of the messages (~200, not
    // ~800) for the same drill, still 30 a minute, three times the rate alarms' minimum samples.
    const run = await pipectl(['gameday', 'model-outage', '--log', log, '--timeout', '20m', '--time-scale', '0.2', '--rate', '0.5', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ scenario: 'model-outage', passed: true, firedBeforeFault: [] });
    expect(['model-error-rate', 'breaker-open']).toContain(result.detectedBy);
    // The alarms evaluate minutes (of pipeline time): detection takes at least one period, at most
    // the timeout; recovery is measured from the fault's end.
    expect(result.timeToDetectSeconds).toBeGreaterThanOrEqual(60);
    expect(result.timeToDetectSeconds).toBeLessThan(600);
    expect(result.timeToRecoverSeconds).toBeGreaterThan(0);
    expect(result.timeToRecoverSeconds).toBeLessThan(600);
    expect(result.report.invariantHolds).toBe(true);
    expect(result.report.completed + result.report.deadLettered + result.report.inReview).toBe(result.report.unique);
    expect(result.report.unique).toBe(result.sent);
    expect(result.events[0].event).toMatch(/^sending 0\.5 message\(s\) per second \(pipeline time\)/);
    expect(result.events.map((event: { event: string }) => event.event)).toEqual(
      expect.arrayContaining(['fault starts', 'fault ends', 'every alarm that fired is OK again']),
    );
    expect(run.stderr).toMatch(/fault starts\n/);
  }, 330_000);
});
