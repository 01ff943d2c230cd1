import { describe, expect, it } from 'vitest';
import {
  NO_SWITCHES,
  parseSwitch,
  RuntimeSwitches,
  type SwitchSet,
  type SwitchSource,
  SwitchError,
  toSwitchSet,
} from '../../lambda/resilience/runtime-switches';

/** A source that counts reads and answers what the test says. */
class FakeSource implements SwitchSource {
  reads = 0;
  next: SwitchSet | Error = NO_SWITCHES;
  async read(): Promise<SwitchSet> {
    this.reads += 1;
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

describe('parseSwitch', () => {
  it.each([
    ['tier-off.primary', 'true', 'true'],
    ['force-rules.ticket-triage', 'true', 'true'],
    ['stop-task.ticket-triage', 'true', 'true'],
    ['canary.percent', '10', '10'],
    ['canary.percent', '12.50', '12.5'],
    ['shadow.model', 'anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0'],
    ['canary.version', 'ticket-triage@2', 'ticket-triage@2'],
    ['shadow.version', 'ticket-triage@2', 'ticket-triage@2'],
  ])('accepts %s = %s', (name, value, stored) => {
    expect(parseSwitch(name, value)).toBe(stored);
  });

  it.each([
    ['tier-off.rules', 'true'],
    ['tier-off.primary', 'false'],
    ['canary.percent', '101'],
    ['canary.percent', ''],
    ['canary.percent', '0x10'],
    ['canary.model', 'has space'],
    // A version must be a registered candidate of a registered task, and not the live one.
    ['canary.version', 'ticket-triage'],
    ['canary.version', 'ticket-triage@9'],
    ['canary.version', 'no-such-task@2'],
    ['canary.version', 'ticket-triage@1'],
    ['shadow.version', '@2'],
    ['stop-task', 'true'],
    ['pause-everything', 'true'],
  ])('refuses %s = %s with a SwitchError naming the switch', (name, value) => {
    expect(() => parseSwitch(name, value)).toThrow(SwitchError);
    try {
      parseSwitch(name, value);
    } catch (error) {
      expect((error as SwitchError).switchName).toBe(name);
    }
  });
});

describe('toSwitchSet', () => {
  it('groups the switches and skips an entry that does not validate', () => {
    const set = toSwitchSet(
      { 'tier-off.secondary': 'true', 'stop-task.a': 'true', 'force-rules.b': 'true', 'canary.percent': '10', 'canary.model': 'm2', 'tier-off.rules': 'true' },
      7,
    );
    expect([...set.tiersOff]).toEqual(['secondary']);
    expect([...set.stoppedTasks]).toEqual(['a']);
    expect([...set.forceRules]).toEqual(['b']);
    expect(set.canary).toEqual({ percent: 10, modelId: 'm2' });
    expect(set.version).toBe(7);
  });

  it('a percentage without a model or a version is 0 (nobody is routed to no candidate)', () => {
    expect(toSwitchSet({ 'canary.percent': '50' }, 1).canary).toEqual({ percent: 0 });
  });

  it('a task version alone is a candidate; with a model, both', () => {
    expect(toSwitchSet({ 'canary.percent': '10', 'canary.version': 'ticket-triage@2' }, 1).canary).toEqual({
      percent: 10,
      taskVersion: { task: 'ticket-triage', version: '2' },
    });
    expect(toSwitchSet({ 'shadow.percent': '5', 'shadow.version': 'ticket-triage@2', 'shadow.model': 'm2' }, 1).shadow).toEqual({
      percent: 5,
      modelId: 'm2',
      taskVersion: { task: 'ticket-triage', version: '2' },
    });
    // A stored version the code no longer knows (promoted and deployed, say) is skipped, not trusted.
    expect(toSwitchSet({ 'canary.percent': '10', 'canary.version': 'ticket-triage@7' }, 1).canary).toEqual({ percent: 0 });
  });
});

describe('RuntimeSwitches (virtual clock)', () => {
  it('reads at most once per refresh interval, and sees a change at the first refresh after it', async () => {
    let now = 1_000_000;
    const source = new FakeSource();
    const switches = new RuntimeSwitches(source, { refreshMs: 15_000, now: () => now });
    await switches.refresh();
    expect(source.reads).toBe(1);
    source.next = toSwitchSet({ 'stop-task.a': 'true' }, 1);
    for (let step = 0; step < 14; step += 1) {
      now += 1000;
      await switches.refresh();
    }
    // 14 invocations in 14 s: no read, the cached set is still in force.
    expect(source.reads).toBe(1);
    expect(switches.current().stoppedTasks.has('a')).toBe(false);
    now += 1000;
    await switches.refresh();
    expect(source.reads).toBe(2);
    expect(switches.current().stoppedTasks.has('a')).toBe(true);
  });

  it('a failed read keeps the previous switches and is reported; the next interval tries again', async () => {
    let now = 0;
    const source = new FakeSource();
    const failures: string[] = [];
    const switches = new RuntimeSwitches(source, { refreshMs: 15_000, now: () => now, onReadFailed: (error) => failures.push(error.message) });
    source.next = toSwitchSet({ 'stop-task.a': 'true' }, 1);
    await switches.refresh();
    source.next = new Error('throttled');
    now += 15_000;
    await switches.refresh();
    expect(failures).toEqual(['throttled']);
    expect(switches.current().stoppedTasks.has('a')).toBe(true);
    source.next = NO_SWITCHES;
    now += 15_000;
    await switches.refresh();
    expect(switches.current().stoppedTasks.has('a')).toBe(false);
    expect(source.reads).toBe(3);
  });

  it('until one read has succeeded, every refresh reads (no stale "nothing stopped" after a failed cold read)', async () => {
    const source = new FakeSource();
    source.next = new Error('cold connection timed out');
    const switches = new RuntimeSwitches(source, { now: () => 0 });
    await switches.refresh();
    source.next = toSwitchSet({ 'stop-task.a': 'true' }, 1);
    await switches.refresh();
    expect(source.reads).toBe(2);
    expect(switches.current().stoppedTasks.has('a')).toBe(true);
    await switches.refresh();
    expect(source.reads).toBe(2);
  });

  it('concurrent refreshes share one read', async () => {
    const source = new FakeSource();
    const switches = new RuntimeSwitches(source, { now: () => 0 });
    await Promise.all([switches.refresh(), switches.refresh(), switches.refresh()]);
    expect(source.reads).toBe(1);
  });
});
