/**
 * Local mode evaluates the alarms `cdk deploy` would create for the stack it runs: the catalog of
 * the stage config the stack was synthesized from, overrides included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { synthesizeLocalStack } from '../../local/stack-model';
import { pacedStack } from '../chaos/quota-run';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
});

const alarmIds = (running: LocalPipeline) => running.alarms.states().map((alarm) => alarm.id);

describe('the alarm catalog local mode evaluates', () => {
  it("is built from the stack's overrides: a quota in the overrides brings the quota alarms the deployed stack would have", async () => {
    // The quota chaos runs' stack (test/chaos/quota-run.ts), so the synth cache is shared.
    const stack = pacedStack();
    expect(stack.overrides).toBeDefined();
    pipeline = await startLocalPipeline({ stack, monitors: false, autoStart: false });
    // Found by the drift-monitor-stopped game day: local mode built the catalog from the plain
    // stage, so these were missing and the drill's heartbeat was judged on the wrong period.
    expect(alarmIds(pipeline)).toContain('model-at-quota');
  });

  it('has no quota alarms for the plain stage, which sets no quota', async () => {
    pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), monitors: false, autoStart: false });
    expect(alarmIds(pipeline)).not.toContain('model-at-quota');
    expect(alarmIds(pipeline)).toContain('processor-errors');
  });
});
