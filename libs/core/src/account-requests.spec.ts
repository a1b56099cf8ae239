import { idBatches, standardCheckVerdict, standardErasureAnswer } from './account-requests';
import type { HttpResult } from './http';

const response = (status: number, body = '', headers: Record<string, string> = {}): HttpResult => ({
  kind: 'response',
  status,
  headers,
  body,
});

describe('standardErasureAnswer', () => {
  it('is done on 2xx', () => {
    expect(standardErasureAnswer(response(200))).toEqual({ type: 'done', status: 200 });
  });
  it('retries network errors, 429 with Retry-After and 5xx', () => {
    expect(standardErasureAnswer({ kind: 'network', message: 'ECONNREFUSED' })).toEqual({ type: 'retry', reason: 'network: ECONNREFUSED' });
    expect(standardErasureAnswer(response(429, 'slow down', { 'Retry-After': '7' }), 0)).toMatchObject({
      type: 'retry',
      status: 429,
      retryAfterMs: 7_000,
    });
    expect(standardErasureAnswer(response(503, 'busy'))).toMatchObject({ type: 'retry', status: 503, reason: 'HTTP 503: busy' });
  });
  it('fails on refused credentials and other statuses, keeping the answer', () => {
    expect(standardErasureAnswer(response(401, 'bad key'))).toEqual({
      type: 'failed',
      status: 401,
      reason: 'credentials refused: HTTP 401: bad key',
    });
    expect(standardErasureAnswer(response(400, 'x'.repeat(400)))).toMatchObject({ type: 'failed', status: 400 });
    expect((standardErasureAnswer(response(400, 'x'.repeat(400))) as { reason: string }).reason).toHaveLength('HTTP 400: '.length + 300);
  });
});

describe('standardCheckVerdict', () => {
  it('tells accepted, refused and unknown apart', () => {
    expect(standardCheckVerdict(response(204)).ok).toBe(true);
    expect(standardCheckVerdict(response(403, 'no')).ok).toBe(false);
    expect(standardCheckVerdict(response(404, 'no such app')).ok).toBe(false);
    expect(standardCheckVerdict(response(502)).ok).toBeNull();
    expect(standardCheckVerdict({ kind: 'timeout', message: 'after 10 s' })).toEqual({ ok: null, reason: 'timeout: after 10 s' });
  });
});

describe('idBatches', () => {
  it('keeps each id once, in first-seen order, without empty ones, in groups of at most the limit', () => {
    expect(idBatches(['b', 'a', '', 'b', 'c', 'd', 'a', 'e'], 2)).toEqual([['b', 'a'], ['c', 'd'], ['e']]);
    expect(idBatches([], 100)).toEqual([]);
    expect(idBatches([''], 100)).toEqual([]);
  });
});
