import {
  replacesPause,
  type AlertClaim,
  type AlertHold,
  type Coordination,
  type DestinationPause,
  type ProfileState,
  type StateCandidate,
  type StateVerdict,
  type StoredPauseCause,
  type UnsentAlert,
} from '@ferry/core';
import type { MemoryConnection } from './database';
import { movePaused } from './queue';
import { acceptedStates, claimStates } from './state-marks';

/** Coordination in memory: the pauses, alert claims and state marks of the `MemoryDatabase` every store shares. */
export class MemoryCoordination implements Coordination {
  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  pauseDestination(pause: DestinationPause): Promise<DestinationPause> {
    return this.database.transaction(() => {
      this.connection.open();
      const current = this.database.pauses.get(pause.destinationId);
      // An operator's pause replaces a credentials pause; a credentials pause leaves any pause in place.
      if (!current || replacesPause(pause.cause, current.cause)) this.database.pauses.set(pause.destinationId, { ...pause });
      movePaused(this.connection, pause.destinationId, true, pause.sinceMs);
      return this.database.pauses.get(pause.destinationId)!;
    });
  }

  resumeDestination(destinationId: string, nowMs: number, cause?: StoredPauseCause): Promise<DestinationPause | undefined> {
    return this.database.transaction(() => {
      this.connection.open();
      const current = this.database.pauses.get(destinationId);
      if (current && (cause === undefined || current.cause === cause)) this.database.pauses.delete(destinationId);
      const left = this.database.pauses.get(destinationId);
      if (!left) movePaused(this.connection, destinationId, false, nowMs);
      return left;
    });
  }

  async destinationPauses(destinationId?: string): Promise<DestinationPause[]> {
    this.connection.open();
    return [...this.database.pauses.values()]
      .filter((pause) => destinationId === undefined || pause.destinationId === destinationId)
      .sort((a, b) => a.destinationId.localeCompare(b.destinationId));
  }

  async claimAlert(claim: AlertClaim): Promise<boolean> {
    this.connection.open();
    return this.database.alerts.claim(claim);
  }

  async holdAlerts(hold: AlertHold): Promise<UnsentAlert[]> {
    this.connection.open();
    return this.database.alerts.hold(hold);
  }

  async alertSent(key: string, target: number): Promise<void> {
    this.connection.open();
    this.database.alerts.sent(key, target);
  }

  async releaseAlerts(owner: string): Promise<number> {
    this.connection.open();
    return this.database.alerts.release(owner);
  }

  async pruneAlertClaims(beforeMs: number, limit: number): Promise<number> {
    this.connection.open();
    return this.database.alerts.prune(beforeMs, limit);
  }

  async acceptedStates(destinationId: string, profiles: readonly string[], nowMs: number): Promise<ProfileState[]> {
    this.connection.open();
    return acceptedStates(this.database, destinationId, profiles, nowMs);
  }

  claimSubscriptionState(
    destinationId: string,
    candidates: readonly StateCandidate[],
    nowMs: number,
  ): Promise<ReadonlyMap<string, StateVerdict>> {
    return this.database.transaction(() => {
      this.connection.open();
      return claimStates(this.database, destinationId, candidates, nowMs);
    });
  }
}
