import {
  allows,
  judgeStateCandidates,
  type DeliveryUpdate,
  type ProfileState,
  type StateCandidate,
  type StateOrder,
  type StateVerdict,
} from '@ferry/core';
import type { MemoryDatabase } from './database';

type Candidate = StateOrder & { readonly deliveryId: string; readonly eventId: string };

const markKey = (destinationId: string, profile: string) => `${destinationId}\u0000${profile}`;

/** The ordering guard of `MemoryStore`, with the SQL stores' semantics (see `StateMarks.claimSubscriptionState`). */
export function claimStates(
  database: MemoryDatabase,
  destinationId: string,
  candidates: readonly StateCandidate[],
  nowMs: number,
): Map<string, StateVerdict> {
  const byProfile = new Map<string, Candidate[]>();
  const seen = new Set<string>();
  for (const { deliveryId, profile } of candidates) {
    const row = database.deliveries.get(deliveryId);
    if (!row || row.destinationId !== destinationId || seen.has(deliveryId)) continue;
    seen.add(deliveryId);
    const event = database.events.get(row.eventId)!;
    const candidate = { deliveryId, eventId: event.id, timestampMs: event.timestampMs, receivedSeq: database.receivedSeqs.get(event.id)! };
    byProfile.set(profile, [...(byProfile.get(profile) ?? []), candidate]);
  }
  const verdicts = new Map<string, StateVerdict>();
  for (const [profile, group] of byProfile) {
    const key = markKey(destinationId, profile);
    const mark = database.profileMarks.get(key) ?? {};
    const users = database.profileUsers.get(key) ?? new Set<string>();
    for (const { eventId } of group) for (const user of database.eventUsers.get(eventId) ?? []) users.add(user);
    database.profileUsers.set(key, users);

    const { accepted, claim } = mark;
    const claimed =
      claim !== undefined && !group.some((c) => c.deliveryId === claim.deliveryId) && inFlight(database, claim.deliveryId, nowMs);
    const judged = judgeStateCandidates(group, accepted, claimed);
    for (const [deliveryId, verdict] of judged.verdicts) verdicts.set(deliveryId, verdict);
    if (judged.claim) {
      const { deliveryId, timestampMs, receivedSeq } = judged.claim;
      database.profileMarks.set(key, { accepted, claim: { deliveryId, timestampMs, receivedSeq } });
    }
  }
  return verdicts;
}

/** `StateMarks.acceptedStates`: each profile's accepted state, and whether its claim is active (as `claimStates` judges it). */
export function acceptedStates(
  database: MemoryDatabase,
  destinationId: string,
  profiles: readonly string[],
  nowMs: number,
): ProfileState[] {
  return [...new Set(profiles)].map((profile) => {
    const { accepted, claim } = database.profileMarks.get(markKey(destinationId, profile)) ?? {};
    return { profile, accepted: accepted ?? null, claimInFlight: claim !== undefined && inFlight(database, claim.deliveryId, nowMs) };
  });
}

/** A claim is active while its delivery is in flight under a lease that has not expired. */
function inFlight(database: MemoryDatabase, deliveryId: string, nowMs: number): boolean {
  const row = database.deliveries.get(deliveryId);
  return row !== undefined && allows('takeOver', row.state) && (row.leaseUntilMs ?? 0) >= nowMs;
}

/** Settles the claim of a delivery whose update was applied: it ends, and the accepted mark moves if the destination took the state. */
export function settleClaim(database: MemoryDatabase, destinationId: string, update: DeliveryUpdate): void {
  if (!update.stateClaim) return;
  const key = markKey(destinationId, update.stateClaim.profile);
  const mark = database.profileMarks.get(key);
  if (mark?.claim?.deliveryId !== update.deliveryId) return; // lapsed, and claimed by another since
  const { deliveryId: _id, ...order } = mark.claim;
  database.profileMarks.set(key, { accepted: update.stateClaim.accepted ? order : mark.accepted });
}

/** Every user id the events naming `appUserId` name, with it: the customer an erasure covers. Read before the events go. */
export function customerOf(database: MemoryDatabase, appUserId: string): Set<string> {
  const customer = new Set([appUserId]);
  for (const users of database.eventUsers.values()) if (users.has(appUserId)) for (const user of users) customer.add(user);
  return customer;
}

/** Removes the marks of every profile the customer's events reached. */
export function eraseMarks(database: MemoryDatabase, customer: ReadonlySet<string>): void {
  for (const [key, users] of [...database.profileUsers]) {
    if (![...users].some((user) => customer.has(user))) continue;
    database.profileUsers.delete(key);
    database.profileMarks.delete(key);
  }
}
