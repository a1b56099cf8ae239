import { Agent, request } from 'undici';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown;
}

export interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Text and bytes go as they are; anything else as JSON. */
  readonly body?: unknown;
}

/**
 * A fake's spec harness: one HTTP client for the file, and the fakes its tests start. Each fake is closed
 * after its test and the client after the file, so Jest exits without open handles.
 */
export function fakeSpecHarness<F extends { close(): Promise<void> }>() {
  let agent: Agent;
  const running: F[] = [];
  beforeAll(() => {
    agent = new Agent();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((fake) => fake.close()));
  });
  afterAll(() => agent.close());

  return {
    /** Closes `fake` after the test. */
    track(fake: F): F {
      running.push(fake);
      return fake;
    },
    get agent(): Agent {
      return agent;
    },
    async send(url: string, { method = 'POST', headers = {}, body }: SendOptions = {}): Promise<Reply> {
      const res = await request(url, {
        method: method as 'POST',
        headers,
        body: body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
        dispatcher: agent,
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers, text, json };
    },
  };
}

/** Polls until `ready()` holds (a fake cannot tell a test when it has seen a request it does not answer). */
export async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(ready()).toBe(true);
}
