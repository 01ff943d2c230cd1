import type { AnyTaskDefinition, Prompt } from './task-definition';
import { ticketTriage } from './ticket-triage';

/** Every task type the processor accepts, by name. Add a task type here. */
export const TASKS: Readonly<Record<string, AnyTaskDefinition>> = Object.freeze({
  [ticketTriage.name]: ticketTriage,
});

export const TASK_NAMES = Object.keys(TASKS);

export function findTask(name: string): AnyTaskDefinition | undefined {
  return Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
}

/** A registered version of a task, as `<task>@<version>` names it. */
export interface TaskVersionRef {
  readonly task: AnyTaskDefinition;
  readonly version: string;
  /** True when it is the task's current `version`, false for a candidate. */
  readonly current: boolean;
}

/** `<task>@<version>`: how switches, replay and the model request name a version of a task's prompt. */
export function taskVersionName(task: string, version: string): string {
  return `${task}@${version}`;
}

/** A task version as `<task>@<version>` names it, split (not checked against the registry). */
export interface TaskVersionName {
  readonly task: string;
  readonly version: string;
}

/** Splits `<task>@<version>` at its last `@`; undefined when either side is empty. */
export function splitTaskVersionName(name: string): TaskVersionName | undefined {
  const at = name.lastIndexOf('@');
  return at <= 0 || at === name.length - 1 ? undefined : { task: name.slice(0, at), version: name.slice(at + 1) };
}

/** Every version `task` knows: its current one first, then its candidates. */
export function versionsOf(task: AnyTaskDefinition): string[] {
  return [task.version, ...Object.keys(task.candidateVersions ?? {}).filter((version) => version !== task.version)];
}

/**
 * Resolves `<task>@<version>` to a registered task version, or says why it cannot in a sentence
 * that lists what would work.
 */
export function resolveTaskVersion(name: string): TaskVersionRef | string {
  const split = splitTaskVersionName(name);
  if (!split) return `"${name}" is not <task>@<version>, e.g. ${taskVersionName(ticketTriage.name, ticketTriage.version)}`;
  const task = findTask(split.task);
  if (!task) return `no task "${split.task}"; tasks: ${TASK_NAMES.join(', ')}`;
  const { version } = split;
  if (version === task.version) return { task, version, current: true };
  if (task.candidateVersions && Object.hasOwn(task.candidateVersions, version)) return { task, version, current: false };
  return `task ${task.name} has no version "${version}"; registered: ${versionsOf(task).join(', ')}`;
}

/** The prompt of `input` under `version` of `task` (its current version when undefined or unknown). */
export function promptOf(task: AnyTaskDefinition, version: string | undefined, input: unknown): Prompt {
  const candidate = version !== undefined && version !== task.version ? task.candidateVersions?.[version] : undefined;
  return candidate ? candidate.buildPrompt(input) : task.buildPrompt(input);
}
