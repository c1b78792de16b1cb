/**
 * Times as the UI shows them: a moment in the person's locale, how long ago, how long a task ran. Sizes,
 * shares and durations come from the one format module (`@format`, src/report/format.ts).
 */
import { MISSING, formatAgeS, formatDurationMs } from '@format';

/** An ISO time in the UI language's locale, 24-hour clock. */
export function formatTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return MISSING;
  return new Date(iso).toLocaleString(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** How long ago an ISO time was: "12 s", "5 min" (the words around it come from the catalog). */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return MISSING;
  return formatAgeS((now - Date.parse(iso)) / 1000);
}

/** From one ISO time to another. */
export function formatSpan(startIso: string | null, endIso: string | null): string {
  if (!startIso || !endIso) return MISSING;
  return formatDurationMs(Date.parse(endIso) - Date.parse(startIso));
}
