/**
 * aws-cli and kubectl conventions: `--version`, and `--output json|table|text` on every read
 * command (`--json` stays as an alias).
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { createProgram } from '../../bin/commands/program';
import { jsonToText } from '../../pipectl/output-format';
import packageJson from '../../package.json';
import { pipectl } from './cli-harness';

/** Commands that read (or run) and so must print JSON; state changes print their result too. */
const READ_COMMANDS = [
  ['local'],
  ['status'],
  ['triage'],
  ['dlq', 'list'],
  ['dlq', 'show'],
  ['review', 'list'],
  ['jobs'],
  ['drift'],
  ['breaker', 'status'],
  ['runbook'],
  ['gameday'],
  ['review', 'entity'],
  ['switch', 'list'],
  ['canary', 'status'],
  ['replay'],
  ['incident', 'timeline'],
] as const;

function find(program: Command, path: readonly string[]): Command | undefined {
  let command: Command | undefined = program;
  for (const name of path) command = command?.commands.find((child) => child.name() === name);
  return command;
}

describe('pipectl conventions', () => {
  it('--version prints the package version', async () => {
    const run = await pipectl(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(packageJson.version);
  });

  it.each(READ_COMMANDS.map((path) => [path.join(' '), path] as const))('%s takes --output json|table|text and --json', (_name, path) => {
    const command = find(createProgram(), path);
    expect(command, `command ${path.join(' ')}`).toBeDefined();
    const output = command?.options.find((option) => option.long === '--output');
    expect(output?.argChoices).toEqual(['table', 'json', 'text']);
    expect(command?.options.some((option) => option.long === '--json')).toBe(true);
  });

  it('an unknown --output is a usage error', async () => {
    const run = await pipectl(['runbook', '--output', 'yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Allowed choices are table, json, text');
  });

  it('runbook --output json lists every alarm; --output text prints one tab-separated line each; --json is the alias', async () => {
    const json = await pipectl(['runbook', '--output', 'json']);
    const alias = await pipectl(['runbook', '--json']);
    const text = await pipectl(['runbook', '--output', 'text']);
    const table = await pipectl(['runbook']);
    const alarms = JSON.parse(json.stdout) as Array<{ alarm: string; severity: string; title: string }>;
    expect(alarms.length).toBeGreaterThan(5);
    expect(alarms.map((alarm) => alarm.alarm)).toContain('dlq-has-messages');
    expect(alias.stdout).toBe(json.stdout);
    expect(text.stdout.trim().split('\n')).toEqual(alarms.map((alarm) => `${alarm.alarm}\t${alarm.severity}\t${alarm.title}`));
    expect(table.stdout).toContain('print one: pipectl runbook <alarm>');
  });

  it('runbook <alarm> --output json carries the section, its severity and its stages', async () => {
    const run = await pipectl(['runbook', 'dlq-has-messages', '--output', 'json', '--stage', 'dev']);
    expect(run.code).toBe(0);
    const section = JSON.parse(run.stdout) as { alarm: string; severity: string; stages: string[]; markdown: string; links: Array<Record<string, string>> };
    expect(section).toMatchObject({ alarm: 'dlq-has-messages', severity: 'ticket', stages: ['dev'] });
    expect(section.markdown).toContain('dlq-has-messages');
    expect(section.links).toHaveLength(1);
    expect(section.links[0]).toMatchObject({
      stage: 'dev',
      region: 'us-east-1',
      alarm: 'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/AiPipeline-dev-dlq-has-messages',
    });
  });

  it('runbook <alarm> --region puts the console links in that region', async () => {
    const run = await pipectl(['runbook', 'dlq-has-messages', '--stage', 'prod', '--region', 'eu-west-1']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Console (prod, eu-west-1):');
    expect(run.stdout).toContain(
      '- CloudWatch alarm AiPipeline-prod-dlq-has-messages: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/AiPipeline-prod-dlq-has-messages',
    );
    expect(run.stdout).toContain('Owner: prod: ai-pipeline-oncall');
  });
});

describe('jsonToText', () => {
  it.each([
    ['an object: one path<TAB>value line per scalar', { queues: { input: 3, dlq: 0 }, paused: false }, 'queues.input\t3\nqueues.dlq\t0\npaused\tfalse\n'],
    [
      'a list of records: one line per record',
      [
        { id: 'a', n: 1 },
        { id: 'b', n: 2 },
      ],
      'a\t1\nb\t2\n',
    ],
    ['a list of scalars: indexed paths', ['x', 'y'], '0\tx\n1\ty\n'],
    ['tabs and newlines in values are folded', { note: 'a\tb\nc' }, 'note\ta b c\n'],
    ['null prints empty', { missing: null }, 'missing\t\n'],
  ])('%s', (_name, value, expected) => {
    expect(jsonToText(`${JSON.stringify(value, null, 2)}\n`)).toBe(expected);
  });

  it('passes text that is not JSON through unchanged', () => {
    expect(jsonToText('incident-2026.md\n')).toBe('incident-2026.md\n');
  });
});

describe('pipectl runbook in a terminal', () => {
  it('prints no HTML anchor or Markdown markers, and fills in the stage of every command', async () => {
    const run = await pipectl(['runbook', 'dlq-has-messages', '--stage', 'prod']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/<a id=|\*\*|`/);
    const commands = run.stdout.match(/pipectl [a-z]+[^\n:(]*/g) ?? [];
    expect(commands.length).toBeGreaterThan(3);
    for (const command of commands) expect(command).toMatch(/--stage prod\b/);
  });

  it('RUNBOOK.md names the stage in every command, so none relies on an exported variable', async () => {
    const { readFileSync } = await import('node:fs');
    // The alarm sections and the preamble; the post-mortem template is a document to copy, not steps.
    const runbook = readFileSync(new URL('../../RUNBOOK.md', import.meta.url), 'utf8').split('## Post-mortem template')[0] ?? '';
    const commands = [...runbook.matchAll(/`(pipectl [^`]*)`/g)].map((match) => match[1] ?? '');
    expect(commands.length).toBeGreaterThan(20);
    // `local` and `gameday` run a pipeline on this machine: they take no stage.
    expect(commands.filter((command) => !/--(stage|local)\b/.test(command) && !/^pipectl (local|gameday)\b/.test(command))).toEqual([]);
  });
});
