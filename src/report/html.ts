/** Escaping and wording helpers for the HTML report. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// Control characters cannot be read, and bidirectional overrides can make "billing" display as
// something else: show them as visible \u escapes instead of passing them to the page.
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Escape a string for HTML text and for double- or single-quoted attribute values. Every string
 * that comes from data goes through here; markup is only ever built from literals.
 */
export function esc(value: string | number): string {
  return String(value)
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An ISO 8601 UTC instant as HTML "2026-11-23 11:14:18 UTC"; anything else is shown as it came, escaped. */
export function when(iso: string | null): string {
  if (iso === null) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  // Date and time each stay whole; a narrow column wraps between them.
  return m ? `<span class="d">${m[1]}</span> <span class="t">${m[2]} UTC</span>` : esc(iso);
}

export function num(n: number): string {
  return n.toLocaleString('en-US');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}

/** Reason classes in words (docs/FORMAT.md, "Verdicts"); unknown, newer classes keep their name. */
const REASONS: Record<string, { label: string; meaning: string }> = {
  content_changed: { label: 'content changed', meaning: 'bytes differ from what was sealed' },
  missing: { label: 'missing', meaning: 'an object version, batch or hot row that must exist does not' },
  chain_broken: { label: 'chain broken', meaning: 'a manifest does not name its predecessor’s SHA-256' },
  reordered: { label: 'reordered', meaning: 'a batch sits at another position than the one it names' },
  truncated: { label: 'truncated tail', meaning: 'the bucket holds batches beyond the registry’s last' },
  lock_weaker: { label: 'lock weaker than required', meaning: 'not COMPLIANCE, or retain-until too early' },
  legal_hold_mismatch: { label: 'legal hold mismatch', meaning: 'the object’s legal hold flag disagrees with the holds' },
  signature_invalid: { label: 'signature invalid', meaning: 'a checkpoint signature does not verify' },
  delete_marker: { label: 'delete marker', meaning: 'a delete marker hides a sealed version (the version is intact)' },
  overwritten: { label: 'overwritten', meaning: 'another version was written under a batch key (the sealed one is intact)' },
};

export function reasonLabel(reason: string): string {
  return REASONS[reason]?.label ?? reason.replace(/_/g, ' ');
}

export function reasonMeaning(reason: string): string {
  return REASONS[reason]?.meaning ?? '';
}
