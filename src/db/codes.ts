/** Postgres SQLSTATE codes we act on (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const PG = {
  UNIQUE_VIOLATION: '23505',
  INSUFFICIENT_PRIVILEGE: '42501',
  UNDEFINED_TABLE: '42P01',
  INVALID_TEXT_REPRESENTATION: '22P02',
  CHARACTER_NOT_IN_REPERTOIRE: '22021',
  DATETIME_FIELD_OVERFLOW: '22008',
  UNTRANSLATABLE_CHARACTER: '22P05',
} as const;

export function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
