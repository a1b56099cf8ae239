import type { Transaction } from 'kysely';
import {
  replacesPause,
  STORED_PAUSE_CAUSES,
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
import type { Database } from '../database';
import * as alertOutbox from './alert-outbox';
import type { SqlContext } from './context';
import { movePaused } from './queue';
import { acceptedStates, claimStates } from './state-marks';

/** Coordination on SQL: the pauses, alert claims and state marks every store on the database shares. */
export class SqlCoordination implements Coordination {
  /** Whether the per-user marks of before migration 10 hold any row: asked once, as nothing adds to them since. */
  private legacyMarks: boolean | undefined;

  constructor(private readonly context: SqlContext) {}

  pauseDestination(pause: DestinationPause): Promise<DestinationPause> {
    // The pauses this one replaces (`replacesPause`); any other stays.
    const replaced = STORED_PAUSE_CAUSES.filter((cause) => replacesPause(pause.cause, cause));
    return this.context.write(async (trx) => {
      // One statement, so two runners pausing at once cannot both insert: the precedence decides on conflict.
      await trx
        .insertInto('destinationPauses')
        .values(pause)
        .onConflict((oc) =>
          replaced.length > 0
            ? oc
                .column('destinationId')
                .doUpdateSet({ cause: pause.cause, reason: pause.reason, sinceMs: pause.sinceMs, setBy: pause.setBy })
                .where('destinationPauses.cause', 'in', replaced)
            : oc.column('destinationId').doNothing(),
        )
        .execute();
      await movePaused(trx, pause.destinationId, true, pause.sinceMs, this.context.dialect.leaseClock(pause.sinceMs));
      return trx.selectFrom('destinationPauses').selectAll().where('destinationId', '=', pause.destinationId).executeTakeFirstOrThrow();
    });
  }

  resumeDestination(destinationId: string, nowMs: number, cause?: StoredPauseCause): Promise<DestinationPause | undefined> {
    return this.context.write(async (trx) => {
      await trx
        .deleteFrom('destinationPauses')
        .where('destinationId', '=', destinationId)
        .$if(cause !== undefined, (q) => q.where('cause', '=', cause!))
        .execute();
      const left = await trx.selectFrom('destinationPauses').selectAll().where('destinationId', '=', destinationId).executeTakeFirst();
      if (!left) await movePaused(trx, destinationId, false, nowMs, this.context.dialect.leaseClock(nowMs));
      return left;
    });
  }

  destinationPauses(destinationId?: string): Promise<DestinationPause[]> {
    return this.context.db
      .selectFrom('destinationPauses')
      .selectAll()
      .$if(destinationId !== undefined, (q) => q.where('destinationId', '=', destinationId!))
      .orderBy('destinationId')
      .execute();
  }

  claimAlert(claim: AlertClaim): Promise<boolean> {
    return this.context.write((trx) => alertOutbox.claim(trx, claim, this.context.dialect.leaseClock(claim.nowMs)));
  }

  holdAlerts(hold: AlertHold): Promise<UnsentAlert[]> {
    return this.context.write((trx) => alertOutbox.hold(trx, hold, this.context.dialect.leaseClock(hold.nowMs)));
  }

  alertSent(key: string, target: number): Promise<void> {
    return this.context.write((trx) => alertOutbox.sent(trx, key, target));
  }

  releaseAlerts(owner: string): Promise<number> {
    return this.context.write((trx) => alertOutbox.release(trx, owner));
  }

  pruneAlertClaims(beforeMs: number, limit: number): Promise<number> {
    return this.context.write((trx) => alertOutbox.prune(trx, beforeMs, limit));
  }

  acceptedStates(destinationId: string, profiles: readonly string[], nowMs: number): Promise<ProfileState[]> {
    return acceptedStates(this.context.db, destinationId, profiles, this.context.dialect.leaseClock(nowMs));
  }

  async claimSubscriptionState(
    destinationId: string,
    candidates: readonly StateCandidate[],
    nowMs: number,
  ): Promise<ReadonlyMap<string, StateVerdict>> {
    if (candidates.length === 0) return new Map();
    const { dialect } = this.context;
    return this.context.write((trx) =>
      claimStates(trx, {
        destinationId,
        candidates,
        now: dialect.leaseClock(nowMs),
        rowLocks: dialect.rowLocks,
        legacyMarks: async () => (this.legacyMarks ??= await hasRows(trx)),
      }),
    );
  }
}

/** Whether any mark of the per-user guard (before migration 10) is left. */
async function hasRows(trx: Transaction<Database>): Promise<boolean> {
  return (await trx.selectFrom('subscriptionStateMarks').select('destinationId').limit(1).execute()).length > 0;
}
