import { issuesFromZod } from '@ferry/core';
import { amplitudePlugin } from './plugin';
import { AmplitudeSettings, missingConfig } from './settings';

const problems = (input: unknown) => {
  const result = AmplitudeSettings.safeParse(input);
  return result.success ? [] : issuesFromZod(result.error.issues);
};

describe('AmplitudeSettings', () => {
  it('defaults to the US data centre and gross revenue', () => {
    expect(AmplitudeSettings.parse({})).toEqual({ region: 'us', salesReporting: 'gross' });
  });

  it('names the valid regions when one is unknown', () => {
    expect(problems({ region: 'EU' })).toEqual([{ path: 'region', message: 'unknown region "EU"; valid regions: us, eu' }]);
  });

  it('reports every problem at once, each at its path', () => {
    expect(
      problems({ region: 'apac', endpoint: 'http://127.0.0.1:1/?key=1', eventNames: { renewal: null, teleport: 'x' } }).map((i) => i.path),
    ).toEqual(['region', 'endpoint', 'eventNames.renewal', 'eventNames.teleport']);
  });

  it('refuses what is not an object without throwing', () => {
    for (const input of [null, [], 'us', 7]) expect(problems(input)).toEqual([{ path: '(root)', message: expect.any(String) }]);
  });
});

describe('missingConfig', () => {
  it('asks for the API key, and only for it: without a sandbox key sandbox events are skipped, not paused', () => {
    expect(missingConfig(AmplitudeSettings.parse({}))).toEqual(['settings.apiKey is not set']);
    expect(missingConfig(AmplitudeSettings.parse({ apiKey: '  ' }))).toEqual(['settings.apiKey is not set']);
    expect(missingConfig(AmplitudeSettings.parse({ apiKey: 'k-0001' }))).toEqual([]);
  });

  it('is what the plugin reports', () => {
    expect(amplitudePlugin.missingConfig).toBe(missingConfig);
    expect(amplitudePlugin.secrets).toEqual(['apiKey', 'sandboxApiKey', 'secretKey']);
  });
});
