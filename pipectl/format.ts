import { UsageError } from './errors';

/** Units a duration option accepts: `90s`, `15m`, `3h`, `2d`. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `3h`, `15m`, `90s`, `2d` (and combinations such as `1h30m`) into milliseconds. */
export function parseDuration(text: string, option = 'duration'): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const consumed = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw new UsageError(`${option} "${text}" is not a duration: use e.g. 90s, 15m, 3h or 2d`);
  }
  return parts.reduce((total, part) => total + Number(part[1]) * (UNIT_MS[part[2] as string] as number), 0);
}

/** A duration for people: `850 ms`, `42 s`, `7 min 5 s`, `3 h 05 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3_600_000) {
    const seconds = Math.round(abs / 1000);
    return `${ms < 0 ? '-' : ''}${Math.floor(seconds / 60)} min${seconds % 60 > 0 ? ` ${seconds % 60} s` : ''}`;
  }
  if (abs < 86_400_000) {
    const hours = Math.floor(abs / 3_600_000);
    return `${hours} h ${String(Math.round((abs % 3_600_000) / 60_000)).padStart(2, '0')} min`;
  }
  return `${Math.floor(abs / 86_400_000)} d ${Math.round((abs % 86_400_000) / 3_600_000)} h`;
}

/** Left-aligned columns with a header; numbers are right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => String(cell)))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Cuts a string to `max` characters, with an ellipsis when it was longer. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

/** `2026-11-23T14:05:09Z`: seconds precision, UTC. */
export function isoSeconds(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A runbook section (Markdown) as a terminal shows it: no HTML anchors, no emphasis markers, no
 * code backticks, links as their text; with `stage`, every `<stage>` placeholder names it, so a
 * command can be pasted as it stands.
 */
export function markdownForTerminal(markdown: string, stage?: string): string {
  let text = markdown
    .replace(/^<a id="[^"]*"><\/a>\n\n?/gm, '')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=[\s.,:;)]|$)/gm, '$1$2')
    .replace(/\[([^\]]+)\]\(#[^)]*\)/g, '$1')
    // A console link: its text, then the address a terminal can open.
    .replace(/\[([^\]]+)\]\((https:\/\/[^)\s]+)\)/g, '$1: $2')
    .replace(/`([^`\n]+)`/g, '$1');
  if (stage) text = text.replaceAll('<stage>', stage);
  return text;
}

/** A path as the user would type it from here: relative to the working directory when under it. */
export function relativeToCwd(path: string): string {
  return path.startsWith(process.cwd()) ? path.slice(process.cwd().length + 1) : path;
}
