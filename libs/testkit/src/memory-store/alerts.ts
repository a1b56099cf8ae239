import type { AlertClaim, AlertHold, UnsentAlert } from '@ferry/core';

interface OutboxRow extends UnsentAlert {
  readonly claimedAtMs: number;
  owner: string | null;
  leaseUntilMs: number | null;
}

/** The alert claims and their outbox as `MemoryStore`s sharing a `MemoryDatabase` keep them (the SQL stores' alert_claims, alert_outbox). */
export class MemoryAlerts {
  /** Key → when it was claimed. */
  private readonly claims = new Map<string, number>();
  /** `key \0 target` → the alert that target is not done with. */
  private readonly outbox = new Map<string, OutboxRow>();

  claim({ key, alert, targets, owner, nowMs, leaseMs }: AlertClaim): boolean {
    if (this.claims.has(key)) return false;
    this.claims.set(key, nowMs);
    for (let target = 0; target < targets; target++)
      this.outbox.set(`${key}\0${target}`, { key, target, alert, claimedAtMs: nowMs, owner, leaseUntilMs: nowMs + leaseMs });
    return true;
  }

  hold({ owner, nowMs, leaseMs, limit }: AlertHold): UnsentAlert[] {
    const held: OutboxRow[] = [];
    for (const row of this.outbox.values()) {
      if (row.owner === owner || row.owner === null || (row.leaseUntilMs ?? 0) < nowMs) {
        row.owner = owner;
        row.leaseUntilMs = nowMs + leaseMs;
        held.push(row);
      }
    }
    held.sort((a, b) => a.claimedAtMs - b.claimedAtMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : a.target - b.target));
    return held.slice(0, limit).map(({ key, target, alert }) => ({ key, target, alert }));
  }

  sent(key: string, target: number): void {
    this.outbox.delete(`${key}\0${target}`);
  }

  release(owner: string): number {
    let released = 0;
    for (const row of this.outbox.values()) {
      if (row.owner !== owner) continue;
      row.owner = null;
      row.leaseUntilMs = null;
      released += 1;
    }
    return released;
  }

  prune(beforeMs: number, limit: number): number {
    const unsent = new Set([...this.outbox.values()].map((row) => row.key));
    const old = [...this.claims]
      .filter(([key, claimedAtMs]) => claimedAtMs < beforeMs && !unsent.has(key))
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit);
    for (const [key] of old) this.claims.delete(key);
    return old.length;
  }
}
