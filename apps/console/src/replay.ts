import { admin } from './api.js';
import { counted, h } from './dom.js';
import type { Shell } from './page.js';
import {
  REPLAYABLE_STATES,
  type CountReplayResponse,
  type DeliveryState,
  type ReplayableState,
  type ReplayJob,
  type ShowReplayResponse,
  type StartReplayBody,
  type StartReplayResponse,
} from './admin-api.js';

/** Replays of one delivery or one event: an operator may send a delivered one again, so every replayable state. */
export const ANY_REPLAYABLE: ReplayableState[] = [...REPLAYABLE_STATES];

const JOB_POLL_MS = 1_000;

/** Whether a delivery in this state can be replayed; a pending, in-flight or paused one is still on its way. */
export const isReplayable = (state: DeliveryState): boolean => (REPLAYABLE_STATES as readonly string[]).includes(state);

/** Why a delivery in this state has no replay. */
export function notReplayableWhy(state: DeliveryState): string {
  if (state === 'paused') return 'Paused: it is sent when its destination resumes.';
  return state === 'in_flight' ? 'In flight: being sent now.' : 'Pending: it is still being tried.';
}

/** How many deliveries a replay with this body would make pending now; changes nothing. */
export async function countReplay(request: StartReplayBody): Promise<number> {
  return (await admin<CountReplayResponse>('POST', '/replay/count', request)).count;
}

/** Replays and waits for the background job to end, showing its progress; answers how many it replayed. */
export async function replay(request: StartReplayBody, shell: Shell): Promise<number> {
  const answer = await admin<StartReplayResponse>('POST', '/replay', request);
  const { replayed } = await follow(answer.job, shell);
  return replayed;
}

async function follow(job: ReplayJob, shell: Shell): Promise<ReplayJob> {
  let current = job;
  while (current.state === 'running') {
    shell.notify(`Replaying… ${current.replayed} so far.`);
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    current = (await admin<ShowReplayResponse>('GET', `/replays/${encodeURIComponent(job.id)}`)).job;
  }
  if (current.state === 'failed') throw new Error(`The replay failed after ${current.replayed}: ${current.error ?? 'see the runner log'}`);
  return current;
}

/** The notice after a replay: `Replayed 1 delivery.` */
export const replayedNotice = (replayed: number, what = ''): string => `Replayed ${counted(replayed, 'delivery', 'deliveries')}${what}.`;

/**
 * A button that runs `action` once at a time: disabled while it runs, so a double click replays once.
 * `name` is its accessible name when the visible text alone would be ambiguous on the page.
 */
export function actionButton(text: string, name: string | undefined, action: () => Promise<void>, shell: Shell): HTMLButtonElement {
  const button: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      'aria-label': name,
      onclick: () => {
        button.disabled = true;
        void shell.act(action).finally(() => (button.disabled = false));
      },
    },
    text,
  );
  return button;
}
