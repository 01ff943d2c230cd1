/**
 * What the quota chaos files share (quota-pacing.test.ts, quota-outage.test.ts): the quota, the
 * clock, the paced stack and one drained run. Two files so that the pacing runs and the outage
 * runs go beside each other in the worker pool rather than one after the other.
 */
import { startLocalPipeline } from '../../local/local-pipeline';
import { buildReport, type LocalRunReport } from '../../local/report';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { type LocalStackModel, synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

/**
 * Half speed, like the other timing-sensitive chaos scenarios: the runs compare rates, which a
 * starved CPU must not decide.
 */
export const TIME_SCALE = 0.5;

/**
 * 60 RPM: at half speed 2 calls/s, well under what the pipeline does even on a starved machine,
 * so the quota binds. (It was 120; at 60 the unpaced run of quota-pacing.test.ts overruns the
 * quota with half the messages, and its storm of 429s, most of that file's CPU, is about half.)
 */
export const RPM = 60;

export const PRIMARY = 'sim-primary';
export const SECONDARY = 'sim-secondary';

/**
 * Both models get the quota the simulator enforces, in the stage config as an operator would set
 * it (the template then sizes the event source from it).
 */
export const pacedStack = (): LocalStackModel =>
  synthesizeLocalStack({ overrides: { quotas: { models: { [PRIMARY]: { rpm: RPM }, [SECONDARY]: { rpm: RPM } } } } });

/** One run: send the messages, wait until the input queue has drained (or its timeout), report from the emulators' state. */
export async function drainedRun(faults: string, stack: LocalStackModel, messages = 150): Promise<LocalRunReport> {
  const bodies = buildBodies({ messages, seed: 14 });
  const pipeline = await startLocalPipeline({ stack, faults, timeScale: TIME_SCALE, monitors: false });
  try {
    const started = Date.now();
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    await waitForDrain(pipeline, 240_000);
    await pipeline.poller.stop();
    return await buildReport(pipeline, bodies, Date.now() - started, 0);
  } finally {
    await pipeline.stop();
  }
}
