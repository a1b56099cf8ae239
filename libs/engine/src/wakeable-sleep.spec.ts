import { WakeableSleep } from './wakeable-sleep';

// A sleep of an hour that ends proves the wake-up ended it: the test would time out otherwise.
const HOUR = 60 * 60_000;

describe('WakeableSleep', () => {
  it('ends the sleep in progress on a wake-up', async () => {
    const sleeper = new WakeableSleep();
    const sleeping = sleeper.sleep(HOUR);
    sleeper.wake();
    await expect(sleeping).resolves.toBeUndefined();
  });

  it('keeps a wake-up that found no sleep for the next one only', async () => {
    const sleeper = new WakeableSleep();
    sleeper.wake();
    await sleeper.sleep(HOUR);
    let ended = false;
    const next = sleeper.sleep(HOUR).then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    sleeper.wake();
    await next;
  });

  it('forgets a wake-up when told the work it announced is already seen', async () => {
    const sleeper = new WakeableSleep();
    sleeper.wake();
    sleeper.forget();
    let ended = false;
    const sleeping = sleeper.sleep(HOUR).then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    sleeper.wake();
    await sleeping;
  });
});
