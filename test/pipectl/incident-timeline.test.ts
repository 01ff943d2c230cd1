/**
 * `pipectl incident timeline` after a local game day: the drill records its alarm transitions and
 * its pause/resume on the recovery clock; the command joins them, prints time-to-detect,
 * time-to-mitigate and time-to-stable-recovery, and writes them into the post-mortem file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GAMEDAY_SCENARIOS, type GameDayScenario, runGameDay } from '../../pipectl/gameday';
import { readGameDayIncident } from '../../pipectl/incident-report';
import { runAction } from '../../pipectl/console/console-actions';
import { getMapping } from '../../pipectl/event-source';
import { listRecoveryAttempts } from '../../pipectl/recovery-clock';
import { pipectl } from './cli-harness';
import { serveLocally } from './local-serve';

vi.setConfig({ testTimeout: 420_000 });

const scratch = mkdtempSync(join(tmpdir(), 'incident-timeline-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The processor-paused drill, with a pause of 7 minutes (pipeline time) instead of 20: long enough
// for processor-silent (5 silent minutes) to page before the resume, short enough for a test.
const shortPause: GameDayScenario = {
  ...(GAMEDAY_SCENARIOS['processor-paused'] as GameDayScenario),
  faults: [{ kind: 'pause', fromSeconds: 30, toSeconds: 450 }],
};

describe('pipectl incident timeline --gameday', () => {
  it('prints the three durations of the last game day and writes them into the post-mortem', async () => {
    const incidentFile = join(scratch, 'incident.json');
    // 0.2 messages per second (pipeline time), not the scenario's 0.5: the alarms of a pause
    // (messages waiting, none finishing) need waiting messages, not many, and a smaller backlog at
    // the resume (~85 messages, not ~210) drains, and lets the alarms recover, sooner.
    const result = await runGameDay(shortPause, {
      stage: 'dev',
      timeScale: 0.1,
      timeoutSeconds: 1_500,
      ratePerSecond: 0.2,
      logFile: join(scratch, 'processor.log'),
      incidentFile,
    });
    const diagnosis = JSON.stringify(result.events.map((event) => `${event.virtualSeconds} ${event.event}`));
    expect(result.events[0]?.event).toMatch(/^sending 0\.2 message\(s\) per second/);
    expect(existsSync(incidentFile), diagnosis).toBe(true);
    // The drill's pause and resume are on the recovery clock, as pipectl pause/resume record them.
    expect(readGameDayIncident(incidentFile).attempts.map((attempt) => attempt.action)).toEqual(['pause', 'resume']);
    // Detected before the resume (so the resume is the mitigation), stable once the alarms are OK after it.
    const clock = result.recoveryClock;
    expect(clock.timeToDetectSeconds, diagnosis).not.toBeNull();
    expect(clock.timeToMitigateSeconds, diagnosis).toBeGreaterThanOrEqual(clock.timeToDetectSeconds as number);
    expect(clock.timeToStableRecoverySeconds, diagnosis).toBeGreaterThanOrEqual(clock.timeToMitigateSeconds as number);

    const postMortem = join(scratch, 'postmortems', 'gameday.md');
    const run = await pipectl(['incident', 'timeline', '--gameday', incidentFile, '--write', postMortem]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/time to detect {11}\d.*\((processor-silent|input-age-over-sla)\)/);
    expect(run.stdout).toMatch(/time to mitigate {9}\d.*\(resume event source mapping\)/);
    expect(run.stdout).toMatch(/time to stable recovery {2}\d/);
    expect(run.stdout).toContain('action pause event source mapping by gameday');
    const markdown = readFileSync(postMortem, 'utf8');
    expect(markdown).toMatch(/\| \d{2}:\d{2}:\d{2} \| action: resume event source mapping by gameday/);
    expect(markdown).toMatch(/- time to detect: \d/);
    expect(markdown).toMatch(/- time to mitigate: \d/);
    expect(markdown).toMatch(/- time to stable recovery: \d/);
    // Same figures as the game day reported.
    const json = JSON.parse((await pipectl(['incident', 'timeline', '--gameday', incidentFile, '--json'])).stdout);
    expect(json).toMatchObject(clock);
    console.log(`short pause drill at ×0.1: ${JSON.stringify(clock)}, wall ${result.wallSeconds} s`);
  });
});

describe('pipectl incident timeline --local', () => {
  it('joins the pipeline’s recovery attempts, the console’s included: an override left in place keeps recovery from being stable', async () => {
    const served = await serveLocally(mkdtempSync(join(scratch, 'local-')));
    try {
      const { target, local } = served;
      // A pause from the console (its form, confirmed), a switch from the CLI; then the resume.
      const paused = await runAction(target, new URLSearchParams({ action: 'pause', confirm: 'y' }), 'carol');
      expect(paused.kind).toBe('done');
      expect((await getMapping(target)).paused).toBe(true);
      const set = await pipectl(['switch', 'set', 'tier-off.secondary', 'true', '--reason', 'secondary flaky', ...local, '--yes']);
      expect(set.code, set.stderr).toBe(0);
      const resumed = await pipectl(['resume', ...local, '--yes']);
      expect(resumed.code, resumed.stderr).toBe(0);

      const run = await pipectl(['incident', 'timeline', '--since', '10m', ...local, '--json']);

      expect(run.code, run.stderr).toBe(0);
      const timeline = JSON.parse(run.stdout);
      expect(timeline.events.filter((event: { kind: string }) => event.kind === 'action').map((event: { text: string }) => event.text.split(' ')[0])).toEqual([
        'pause',
        'switch-set',
        'resume',
      ]);
      expect(timeline.events.find((event: { text: string }) => event.text.startsWith('pause')).text).toContain('by carol');
      expect(timeline.overridesLeft).toEqual(['switch tier-off.secondary']);
      expect(timeline.timeToStableRecoverySeconds).toBeNull();
      const attempts = await listRecoveryAttempts(target.dynamodb, target.resources.controlTableName);
      expect(attempts.map((attempt) => [attempt.action, attempt.override])).toEqual([
        ['pause', 'placed'],
        ['switch-set', 'placed'],
        ['resume', 'removed'],
      ]);
      const text = await pipectl(['incident', 'timeline', '--since', '10m', ...local]);
      expect(text.stdout).toMatch(/time to stable recovery {2}not yet: override switch tier-off.secondary in place/);
    } finally {
      await served.stop();
    }
  });
});
