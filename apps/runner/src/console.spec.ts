import { readdir } from 'node:fs/promises';
import { ADMIN_TOKEN, closeHttp, send, startTestRunner, tempDir, testConfig, type TempDir, type TestRunner } from './testing/harness';
import { CONSOLE_HEADERS } from './server';
import { CONSOLE_DIR } from './shipped-files';

let dir: TempDir;
const runners: TestRunner[] = [];
const start = async (server: Record<string, unknown> = {}) => {
  const t = await startTestRunner(testConfig(dir.path, { server }));
  runners.push(t);
  return t.runner.url;
};

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  for (const t of runners.splice(0)) await t.runner.close();
  await dir.remove();
});
afterAll(() => closeHttp());

const expectSecurityHeaders = (headers: Record<string, unknown>) => {
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) expect(headers[name]).toBe(value);
  expect(CONSOLE_HEADERS['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
};

describe('GET /console', () => {
  it('serves the built page and its assets with strict security headers, and never the token', async () => {
    const url = await start();
    const page = await send('GET', `${url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectSecurityHeaders(page.headers);
    expect(page.text).toContain('<script type="module" src="/console/main.js">');
    // No inline script or style: the CSP would block them, and they would be a place for a token to leak.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son\w+=/);
    expect(page.text).not.toContain(ADMIN_TOKEN);
    expect((await send('GET', `${url}/console/`)).text).toBe(page.text);

    for (const name of (await readdir(CONSOLE_DIR)).filter((file) => file.endsWith('.js') || file.endsWith('.css'))) {
      const asset = await send('GET', `${url}/console/${name}`);
      expect([name, asset.status]).toEqual([name, 200]);
      expect(asset.headers['content-type']).toMatch(name.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expectSecurityHeaders(asset.headers);
      // Everything the page loads is from the runner itself.
      expect(asset.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
  });

  it("answers the page itself for each of the console's addresses, so a reload or a shared link opens it", async () => {
    const url = await start();
    const index = await send('GET', `${url}/console`);
    for (const address of [
      '/console/overview',
      '/console/events',
      '/console/events?user=alice&kind=renewal&state=dead',
      '/console/events/evt-1',
      '/console/events/evt.with.dots.json',
      '/console/dead?before=d-1&limit=2',
      '/console/users/ana%40example.com',
      '/console/users/a%2Fb/c',
      '/console/destinations',
      '/console/preview',
      '/console/erasures',
    ]) {
      const page = await send('GET', `${url}${address}`);
      expect([address, page.status, page.text]).toEqual([address, 200, index.text]);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expectSecurityHeaders(page.headers);
    }
  });

  it('answers 404 with the headers for anything outside the build output', async () => {
    const url = await start();
    for (const path of [
      '/console/nope.js',
      '/console/..%2Fpackage.json',
      '/console/static/index.html',
      '/console/tsconfig.json',
      '/console/nowhere',
      '/console/eventsx',
      '/console/main.js/x',
    ]) {
      const answer = await send('GET', `${url}${path}`);
      expect([path, answer.status]).toEqual([path, 404]);
      expectSecurityHeaders(answer.headers);
    }
  });

  it('without server.adminToken says how to enable it and serves nothing else', async () => {
    const url = await start({ adminToken: undefined });
    const page = await send('GET', `${url}/console`);
    expect(page.status).toBe(403);
    expect(page.text).toContain('server.adminToken');
    expect(page.text).not.toContain('<script');
    expectSecurityHeaders(page.headers);
    expect((await send('GET', `${url}/console/main.js`)).status).toBe(403);
    expect((await send('GET', `${url}/console/events/evt-1`)).status).toBe(403);
  });
});
