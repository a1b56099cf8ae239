import { hash } from 'node:crypto';

/**
 * How event_users keys a user id: its SHA-256, so any id, however long, fits an index entry. Not a privacy
 * measure (ids are guessable); erasure removes these rows with their events.
 */
export function userKey(userId: string): string {
  return hash('sha256', userId, 'hex');
}

/** How the ordering guard keys a destination profile (`stateProfileOf`): its SHA-256, so no raw id sits in the marks. */
export function profileKey(profile: string): string {
  return hash('sha256', profile, 'hex');
}
