import { sql, type RawBuilder, type Transaction } from 'kysely';
import {
  judgeStateCandidates,
  olderState,
  statesFrom,
  type ProfileState,
  type StateCandidate,
  type StateOrder,
  type StateVerdict,
} from '@ferry/core';
import type { Database } from '../database';
import { profileKey, userKey } from '../user-key';
import { chunks, stateOfRow, type Queryable } from './context';

/**
 * The ordering guard's tables (SPEC §12, `StateMarks.claimSubscriptionState`): per destination and profile (by
 * SHA-256 key, so no raw id sits here) the state the destination accepted and the claim in flight, and which
 * users' events reached each profile, so erasure finds its marks after retention removed the events.
 */

/** Where an event stands in a profile's order: its timestamp, then the order the store received it. */
interface Candidate extends StateOrder {
  readonly deliveryId: string;
  readonly eventId: string;
  readonly userId: string | null;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface ClaimRequest {
  readonly destinationId: string;
  readonly candidates: readonly StateCandidate[];
  /** Now on the clock leases are judged by: a claim is active while its delivery's lease lasts past it. */
  readonly now: RawBuilder<number>;
  /** Postgres: lock the profiles' rows, so two runners never both claim one. */
  readonly rowLocks: boolean;
  /** Whether marks of the per-user guard (before migration 10) may be left to seed new profiles from. */
  readonly legacyMarks: () => Promise<boolean>;
}

/** `StateMarks.claimSubscriptionState` in one transaction: rows made and locked in profile order, decided, claims written. */
export async function claimStates(trx: Transaction<Database>, request: ClaimRequest): Promise<Map<string, StateVerdict>> {
  const { destinationId } = request;
  const groups = await candidatesByProfile(trx, request);
  const keys = [...groups.keys()].sort(byKey);
  const verdicts = new Map<string, StateVerdict>();
  if (keys.length === 0) return verdicts;

  // Every profile gets its row first (one statement; in key order, so concurrent claims wait on each other alike).
  const created = new Set<string>();
  for (const part of chunks(keys)) {
    const rows = await trx
      .insertInto('profileStateMarks')
      .values(part.map((key) => ({ destinationId, profileKey: key })))
      .onConflict((oc) => oc.columns(['destinationId', 'profileKey']).doNothing())
      .returning('profileKey')
      .execute();
    for (const row of rows) created.add(row.profileKey);
  }
  if (created.size > 0 && (await request.legacyMarks())) await seedFromLegacyMarks(trx, destinationId, created, groups);

  const marks = new Map<string, Database['profileStateMarks']>();
  for (const part of chunks(keys)) {
    const rows = await trx
      .selectFrom('profileStateMarks')
      .selectAll()
      .where('destinationId', '=', destinationId)
      .where('profileKey', 'in', part)
      .orderBy('profileKey')
      .$if(request.rowLocks, (q) => q.forUpdate())
      .execute();
    for (const row of rows) marks.set(row.profileKey, row);
  }
  const active = await activeClaims(trx, [...marks.values()], groups, request.now);

  const claims: { profileKey: string; claim: Candidate }[] = [];
  for (const key of keys) {
    const mark = marks.get(key)!;
    const group = groups.get(key)!;
    const accepted: StateOrder | undefined =
      mark.acceptedTimestampMs === null ? undefined : { timestampMs: mark.acceptedTimestampMs, receivedSeq: mark.acceptedReceivedSeq! };
    const judged = judgeStateCandidates(group, accepted, active.has(key));
    for (const [deliveryId, verdict] of judged.verdicts) verdicts.set(deliveryId, verdict);
    if (judged.claim) claims.push({ profileKey: key, claim: judged.claim });
  }

  for (const part of chunks(claims)) {
    // The rows exist and are ours: one statement sets every claim of the chunk.
    await trx
      .insertInto('profileStateMarks')
      .values(
        part.map(({ profileKey: key, claim }) => ({
          destinationId,
          profileKey: key,
          claimDeliveryId: claim.deliveryId,
          claimTimestampMs: claim.timestampMs,
          claimReceivedSeq: claim.receivedSeq,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['destinationId', 'profileKey']).doUpdateSet((eb) => ({
          claimDeliveryId: eb.ref('excluded.claimDeliveryId'),
          claimTimestampMs: eb.ref('excluded.claimTimestampMs'),
          claimReceivedSeq: eb.ref('excluded.claimReceivedSeq'),
        })),
      )
      .execute();
  }
  await linkUsers(trx, destinationId, groups);
  return verdicts;
}

/** The candidates of this destination, with their events' order, by profile key. Unknown ids and other destinations' are left out. */
async function candidatesByProfile(trx: Transaction<Database>, request: ClaimRequest): Promise<Map<string, Candidate[]>> {
  const profiles = new Map(request.candidates.map(({ deliveryId, profile }) => [deliveryId, profile]));
  const groups = new Map<string, Candidate[]>();
  for (const ids of chunks([...profiles.keys()])) {
    // Found by id alone (the destination is checked here): beside the ids, SQLite would walk the destination's
    // whole range of an index instead.
    const rows = await trx
      .selectFrom('deliveries')
      .innerJoin('events', 'events.id', 'deliveries.eventId')
      .select([
        'deliveries.id as deliveryId',
        'deliveries.destinationId',
        'events.id as eventId',
        'events.userId',
        'events.timestampMs',
        'events.receivedSeq',
      ])
      .where('deliveries.id', 'in', ids)
      .execute();
    for (const { destinationId, ...candidate } of rows) {
      if (destinationId !== request.destinationId) continue;
      const key = profileKey(profiles.get(candidate.deliveryId)!);
      groups.set(key, [...(groups.get(key) ?? []), candidate]);
    }
  }
  return groups;
}

/**
 * The profiles whose claim another delivery holds while in flight under an unexpired lease. A claim held
 * by one of the candidates is not active: that delivery is being sent again (retried or taken over).
 */
async function activeClaims(
  trx: Transaction<Database>,
  marks: readonly Database['profileStateMarks'][],
  groups: ReadonlyMap<string, readonly Candidate[]>,
  now: RawBuilder<number>,
): Promise<Set<string>> {
  const holders = new Map<string, string>();
  for (const mark of marks) {
    const holder = mark.claimDeliveryId;
    if (holder !== null && !groups.get(mark.profileKey)!.some((candidate) => candidate.deliveryId === holder))
      holders.set(holder, mark.profileKey);
  }
  const active = new Set<string>();
  for (const ids of chunks([...holders.keys()])) {
    const rows = await trx
      .selectFrom('deliveries')
      .select('id')
      .where('id', 'in', ids)
      .where(stateOfRow, 'in', statesFrom('takeOver'))
      .where('leaseUntilMs', '>=', now)
      .execute();
    for (const row of rows) active.add(holders.get(row.id)!);
  }
  return active;
}

/**
 * A profile first seen after the upgrade to per-profile marks starts from the newest mark the per-user guard
 * left for any of its candidates' app user ids: the best knowledge of what the destination holds.
 */
async function seedFromLegacyMarks(
  trx: Transaction<Database>,
  destinationId: string,
  created: ReadonlySet<string>,
  groups: ReadonlyMap<string, readonly Candidate[]>,
): Promise<void> {
  const userIds = [...new Set([...created].flatMap((key) => groups.get(key)!.flatMap((candidate) => candidate.userId ?? [])))];
  const legacy = new Map<string, StateOrder>();
  for (const ids of chunks(userIds)) {
    const rows = await trx
      .selectFrom('subscriptionStateMarks')
      .select(['userId', 'timestampMs', 'receivedSeq'])
      .where('destinationId', '=', destinationId)
      .where('userId', 'in', ids)
      .execute();
    for (const { userId, ...order } of rows) legacy.set(userId, order);
  }
  if (legacy.size === 0) return;
  for (const key of [...created].sort(byKey)) {
    const orders = groups.get(key)!.flatMap((candidate) => legacy.get(candidate.userId ?? '') ?? []);
    if (orders.length === 0) continue;
    const newest = orders.reduce((a, b) => (olderState(a, b) ? b : a));
    await trx
      .updateTable('profileStateMarks')
      .set({ acceptedTimestampMs: newest.timestampMs, acceptedReceivedSeq: newest.receivedSeq })
      .where('destinationId', '=', destinationId)
      .where('profileKey', '=', key)
      .execute();
  }
}

/** Records every user key of the candidates' events against the profile they reach, for erasure. */
async function linkUsers(trx: Transaction<Database>, destinationId: string, groups: ReadonlyMap<string, readonly Candidate[]>) {
  const profilesOf = new Map<string, Set<string>>();
  for (const [key, group] of groups)
    for (const { eventId } of group) profilesOf.set(eventId, (profilesOf.get(eventId) ?? new Set()).add(key));
  const links = new Map<string, { destinationId: string; profileKey: string; userKey: string }>();
  for (const ids of chunks([...profilesOf.keys()])) {
    const rows = await trx.selectFrom('eventUsers').select(['eventId', 'userKey']).where('eventId', 'in', ids).execute();
    for (const { eventId, userKey: user } of rows)
      for (const key of profilesOf.get(eventId)!) links.set(`${key} ${user}`, { destinationId, profileKey: key, userKey: user });
  }
  const sorted = [...links.keys()].sort(byKey).map((link) => links.get(link)!);
  for (const part of chunks(sorted)) {
    await trx
      .insertInto('profileStateUsers')
      .values(part)
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/**
 * `StateMarks.acceptedStates`: each profile's mark, read by its key, with whether its claim's delivery is in flight
 * under a lease lasting past `now`. A profile with no mark (never claimed) has accepted nothing. Marks the per-user
 * guard left before migration 10 are not read: they count only once a claim seeds a new profile from them.
 */
export async function acceptedStates(
  db: Queryable,
  destinationId: string,
  profiles: readonly string[],
  now: RawBuilder<number>,
): Promise<ProfileState[]> {
  const asked = [...new Set(profiles)];
  const keys = new Map(asked.map((profile) => [profile, profileKey(profile)]));
  const marks = new Map<string, { accepted: StateOrder | null; claimInFlight: boolean }>();
  for (const part of chunks([...keys.values()])) {
    const rows = await db
      .selectFrom('profileStateMarks as marks')
      .leftJoin('deliveries as claim', (join) =>
        join
          .onRef('claim.id', '=', 'marks.claimDeliveryId')
          .on(sql<string>`(${sql.ref('claim.state')} || '')`, 'in', statesFrom('takeOver'))
          .on('claim.leaseUntilMs', '>=', now),
      )
      .select(['marks.profileKey', 'marks.acceptedTimestampMs', 'marks.acceptedReceivedSeq', 'claim.id as claimInFlight'])
      .where('marks.destinationId', '=', destinationId)
      .where('marks.profileKey', 'in', part)
      .execute();
    for (const row of rows) {
      const accepted =
        row.acceptedTimestampMs === null
          ? null
          : { timestampMs: Number(row.acceptedTimestampMs), receivedSeq: Number(row.acceptedReceivedSeq) };
      marks.set(row.profileKey, { accepted, claimInFlight: row.claimInFlight !== null });
    }
  }
  return asked.map((profile) => ({ profile, ...(marks.get(keys.get(profile)!) ?? { accepted: null, claimInFlight: false }) }));
}

/** One applied update of a delivery sent under a state claim. */
export interface Settlement {
  readonly destinationId: string;
  readonly deliveryId: string;
  readonly profile: string;
  readonly accepted: boolean;
}

/**
 * Ends the claims of these deliveries, in the transaction that stores their outcomes; the accepted mark moves
 * to a claim's event only when the destination took the state. A claim another delivery took since (this one
 * lapsed) is left alone.
 */
export async function settleClaims(trx: Transaction<Database>, settlements: readonly Settlement[]): Promise<void> {
  const groups = new Map<string, Settlement[]>();
  for (const settlement of settlements) {
    const group = `${settlement.destinationId}\u0000${settlement.accepted}`;
    groups.set(group, [...(groups.get(group) ?? []), settlement]);
  }
  for (const group of groups.values()) {
    const { destinationId, accepted } = group[0];
    const sorted = group.map((s) => ({ ...s, profileKey: profileKey(s.profile) })).sort((a, b) => byKey(a.profileKey, b.profileKey));
    for (const part of chunks(sorted)) {
      await trx
        .updateTable('profileStateMarks')
        .set((eb) => ({
          ...(accepted && { acceptedTimestampMs: eb.ref('claimTimestampMs'), acceptedReceivedSeq: eb.ref('claimReceivedSeq') }),
          claimDeliveryId: null,
          claimTimestampMs: null,
          claimReceivedSeq: null,
        }))
        .where('destinationId', '=', destinationId)
        .where(
          'profileKey',
          'in',
          part.map((s) => s.profileKey),
        )
        .where(
          'claimDeliveryId',
          'in',
          part.map((s) => s.deliveryId),
        )
        .execute();
    }
  }
}

/** Whom an erasure covers: the user keys of the customer, and the app user ids the per-user guard kept marks under. */
export interface Customer {
  readonly userKeys: readonly string[];
  readonly appUserIds: readonly string[];
}

/**
 * The customer of `appUserId`: it, and every user id the events naming it name (aliases, original app user
 * id, transfers). Read before the events go.
 */
export async function customerOf(db: Queryable, appUserId: string): Promise<Customer> {
  const key = userKey(appUserId);
  const keys = await db
    .selectFrom('eventUsers')
    .select('userKey')
    .distinct()
    .where('eventId', 'in', (eb) => eb.selectFrom('eventUsers as named').select('named.eventId').where('named.userKey', '=', key))
    .execute();
  const ids = await db
    .selectFrom('events')
    .select('userId')
    .distinct()
    .where('id', 'in', (eb) => eb.selectFrom('eventUsers').select('eventId').where('userKey', '=', key))
    .where('userId', 'is not', null)
    .execute();
  return {
    userKeys: [...new Set([key, ...keys.map((row) => row.userKey)])],
    appUserIds: [...new Set([appUserId, ...ids.map((row) => row.userId!)])],
  };
}

/** Removes the marks (and links) of every profile the customer's events reached, and the customer's per-user marks. */
export async function eraseMarks(trx: Transaction<Database>, customer: Customer): Promise<void> {
  const profiles = new Map<string, Set<string>>();
  for (const keys of chunks(customer.userKeys)) {
    const rows = await trx.selectFrom('profileStateUsers').select(['destinationId', 'profileKey']).where('userKey', 'in', keys).execute();
    for (const { destinationId, profileKey: key } of rows) profiles.set(destinationId, (profiles.get(destinationId) ?? new Set()).add(key));
  }
  for (const [destinationId, keys] of profiles) {
    for (const part of chunks([...keys].sort(byKey))) {
      await trx.deleteFrom('profileStateMarks').where('destinationId', '=', destinationId).where('profileKey', 'in', part).execute();
      await trx.deleteFrom('profileStateUsers').where('destinationId', '=', destinationId).where('profileKey', 'in', part).execute();
    }
  }
  for (const ids of chunks(customer.appUserIds)) await trx.deleteFrom('subscriptionStateMarks').where('userId', 'in', ids).execute();
}
