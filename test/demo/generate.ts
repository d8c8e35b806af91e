/**
 * Realistic audit events for the demo, the tests and the benchmarks: several namespaces, the
 * event catalogue of the reference documents, actors, resources and payloads of 400–600 bytes
 * canonical. Deterministic for a given seed, so a run can be repeated exactly.
 */
import type { EventInput } from '../../src/events/schema.js';

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** First occurred_at; events are spread a few seconds apart. */
  start?: Date;
}

// mulberry32: small, fast, good enough for fixtures.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kind {
  namespace: string;
  type: string;
  resource: string;
  outcome?: 'failure' | 'denied';
  classification: 'internal' | 'confidential' | 'restricted';
}

const KINDS: Kind[] = [
  { namespace: 'billing', type: 'payment.created', resource: 'payment', classification: 'confidential' },
  { namespace: 'billing', type: 'payment.completed', resource: 'payment', classification: 'confidential' },
  { namespace: 'billing', type: 'payment.refunded', resource: 'payment', classification: 'confidential' },
  { namespace: 'billing', type: 'payment.failed', resource: 'payment', outcome: 'failure', classification: 'confidential' },
  { namespace: 'billing', type: 'invoice.issued', resource: 'invoice', classification: 'internal' },
  { namespace: 'clinic', type: 'record.accessed', resource: 'patient_record', classification: 'restricted' },
  { namespace: 'clinic', type: 'phi.exported', resource: 'patient_record', classification: 'restricted' },
  { namespace: 'brokerage', type: 'trade.executed', resource: 'order', classification: 'confidential' },
  { namespace: 'brokerage', type: 'communication.sent', resource: 'message', classification: 'internal' },
  { namespace: 'identity', type: 'user.login', resource: 'session', classification: 'internal' },
  { namespace: 'identity', type: 'user.login.failed', resource: 'session', outcome: 'failure', classification: 'internal' },
  { namespace: 'identity', type: 'permission.granted', resource: 'role', classification: 'internal' },
  { namespace: 'identity', type: 'permission.revoked', resource: 'role', outcome: 'denied', classification: 'internal' },
  { namespace: 'compliance', type: 'ofac.screen.cleared', resource: 'customer', classification: 'confidential' },
  { namespace: 'compliance', type: 'kyc.verified', resource: 'customer', classification: 'confidential' },
];

const FIRST = ['ana', 'bo', 'chen', 'dara', 'eli', 'fatima', 'gus', 'hana', 'ivan', 'jo', 'kemal', 'lea'];
const ROLES = ['analyst', 'clerk', 'compliance_officer', 'nurse', 'trader', 'admin'];
const AGENTS = ['Mozilla/5.0 Firefox/132.0', 'okhttp/4.12.0', 'Mozilla/5.0 Chrome/131.0', 'python-requests/2.32'];

function uuidFrom(r: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(r() * 16).toString(16)).join('');
  // Version 4 layout, so strict UUID validators accept it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(r() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function generateEvents(opts: GenerateOptions): EventInput[] {
  const r = rng(opts.seed ?? 42);
  const start = (opts.start ?? new Date('2026-11-01T09:00:00Z')).getTime();
  const out: EventInput[] = [];
  for (let i = 0; i < opts.count; i++) {
    const k = KINDS[Math.floor(r() * KINDS.length)]!;
    const who = FIRST[Math.floor(r() * FIRST.length)]!;
    const userNo = Math.floor(r() * 500);
    const actorType = r() < 0.1 ? 'service' : 'user';
    const withEmail = actorType === 'user' && r() < 0.3;
    const resourceId = `${k.resource.slice(0, 3)}_${Math.floor(r() * 100_000).toString(36)}`;
    const amount = Math.floor(r() * 1_000_000) / 100;
    const e: EventInput = {
      event_id: uuidFrom(r),
      namespace: k.namespace,
      event_type: k.type,
      occurred_at: new Date(start + i * 1500 + Math.floor(r() * 1000)).toISOString(),
      actor: {
        id: actorType === 'service' ? `svc-${k.namespace}` : `u_${who}_${userNo}`,
        type: actorType,
        role: ROLES[Math.floor(r() * ROLES.length)]!,
        ...(withEmail ? { email: `${who}.${userNo}@example.com` } : {}),
        ip: `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`,
        ...(!withEmail && r() < 0.25 ? { user_agent: AGENTS[Math.floor(r() * AGENTS.length)]! } : {}),
      },
      resource: { type: k.resource, id: resourceId },
      ...(k.namespace === 'clinic' ? { subject_id: `patient_${Math.floor(r() * 5000)}` } : {}),
      outcome: k.outcome ?? 'success',
      ...(k.outcome === 'failure' ? { failure_reason: k.namespace === 'identity' ? 'invalid_password' : 'card_declined' } : {}),
      correlation_id: uuidFrom(r),
      ...(r() < 0.4 ? { request_id: `req_${Math.floor(r() * 1e12).toString(36)}` } : {}),
      data_classification: k.classification,
      data:
        k.resource === 'payment' || k.resource === 'order'
          ? { amount, currency: r() < 0.8 ? 'USD' : 'EUR', reference: `ref-${Math.floor(r() * 1e9)}` }
          : { channel: r() < 0.5 ? 'web' : 'api', note: `sample ${i}` },
    };
    out.push(e);
  }
  return out;
}
