import type { AnyTaskDefinition } from './task-definition';
import { ticketTriage } from './ticket-triage';

/** Every task type the processor accepts, by name. Add a task type here. */
export const TASKS: Readonly<Record<string, AnyTaskDefinition>> = Object.freeze({
  [ticketTriage.name]: ticketTriage,
});

export const TASK_NAMES = Object.keys(TASKS);

export function findTask(name: string): AnyTaskDefinition | undefined {
  return Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
}
