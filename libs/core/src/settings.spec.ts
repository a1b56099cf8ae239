import { z } from 'zod';
import {
  BaseUrl,
  isSet,
  regionSetting,
  secret,
  secretSettingKeys,
  SETTINGS_TABLE_END,
  SETTINGS_TABLE_START,
  settingsTable,
  urlUnder,
  whenFieldsValid,
  withSettingsTable,
} from './index';

describe('isSet', () => {
  it('counts blank strings as not set', () => {
    expect([undefined, '', '   ', 'k', ' k '].map(isSet)).toEqual([false, false, false, true, true]);
  });
});

describe('regionSetting', () => {
  const Region = regionSetting(['eu1', 'us1'] as const);
  it('takes the listed regions and refuses anything else with the list', () => {
    expect(Region.parse('us1')).toBe('us1');
    for (const input of ['eu2', 7, null]) {
      const result = Region.safeParse(input);
      expect(result.success ? [] : result.error.issues.map((issue) => issue.message)).toEqual([
        `unknown region ${JSON.stringify(input)}; valid regions: eu1, us1`,
      ]);
    }
  });
});

describe('BaseUrl', () => {
  const problems = (input: unknown) => {
    const result = BaseUrl.safeParse(input);
    return result.success ? [] : result.error.issues.map((issue) => issue.message);
  };
  it('takes http(s) base URLs, with or without a path', () => {
    for (const url of ['http://127.0.0.1:9999', 'https://proxy.example.com/clevertap/']) expect(problems(url)).toEqual([]);
  });
  it('refuses other protocols and non-URLs once, with an example', () => {
    for (const url of ['ftp://127.0.0.1', 'not a url'])
      expect(problems(url)).toEqual(['must be an http(s) base URL, e.g. http://127.0.0.1:9999']);
  });
  it('refuses credentials, a query or a fragment', () => {
    for (const url of ['http://user:pw@127.0.0.1', 'http://127.0.0.1/?key=1', 'http://127.0.0.1/#top']) {
      expect(problems(url)).toEqual(['must be a plain base URL: no credentials, query or fragment']);
    }
  });
});

describe('urlUnder', () => {
  it('appends the path once, whatever slashes the base ends in', () => {
    expect(urlUnder('http://127.0.0.1:9999', '/1/upload')).toBe('http://127.0.0.1:9999/1/upload');
    expect(urlUnder('http://127.0.0.1:9999/proxy//', '/1/upload')).toBe('http://127.0.0.1:9999/proxy/1/upload');
  });
});

describe('whenFieldsValid', () => {
  const schema = z.strictObject({ a: z.string().optional(), b: z.string().optional(), c: z.number().optional() }).superRefine(
    (value, ctx) => {
      if (value.a !== undefined && value.b === undefined) ctx.addIssue({ code: 'custom', path: ['b'], message: 'needed with a' });
    },
    whenFieldsValid('a', 'b'),
  );
  const paths = (input: unknown) => {
    const result = schema.safeParse(input);
    return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.') || '(root)');
  };
  it('runs the cross-field check even when another field is wrong, so every problem is reported at once', () => {
    expect(paths({ a: 'x', c: 'not a number' })).toEqual(['c', 'b']);
  });
  it('skips it when a field it reads is wrong, or the input is no object', () => {
    expect(paths({ a: 7 })).toEqual(['a']);
    expect(paths({ a: 'x', b: 7 })).toEqual(['b']);
    expect(paths(null)).toEqual(['(root)']);
  });
});

describe('secret and secretSettingKeys', () => {
  it('finds the marked keys through optional, default and describe, on a refined object', () => {
    const schema = z
      .strictObject({
        region: z.enum(['eu', 'us']).default('eu'),
        apiKey: secret(z.string()).optional().describe('the key'),
        token: secret(z.string().optional()),
        password: secret(z.string()).default('changeme'),
        user: z.string().optional().describe('not a secret'),
      })
      .superRefine(() => undefined);
    expect(secretSettingKeys(schema)).toEqual(['apiKey', 'token', 'password']);
  });

  it('leaves the validation alone', () => {
    const schema = z.strictObject({ apiKey: secret(z.string()).optional() });
    expect(schema.parse({ apiKey: 'k' })).toEqual({ apiKey: 'k' });
    expect(schema.safeParse({ apiKey: 7 }).success).toBe(false);
  });

  it('refuses a schema that is not an object', () => {
    expect(() => secretSettingKeys(z.string())).toThrow('a settings schema must be a zod object');
  });
});

describe('settingsTable', () => {
  const schema = z
    .strictObject({
      region: z.enum(['eu', 'us']).default('eu').describe('data centre'),
      endpoint: BaseUrl.optional().describe('base URL\noverride'),
      apiKey: secret(z.string()).optional().describe('the key | the only one'),
      eventNames: z.record(z.string(), z.string().nullable()).optional(),
      retries: z.number().int().default(3),
    })
    .superRefine(() => undefined);

  it('renders key, type, default, secret and description, one row per setting in schema order', () => {
    expect(settingsTable(schema)).toBe(
      [
        '| key | type | default | secret | description |',
        '| --- | --- | --- | --- | --- |',
        '| `region` | `eu` \\| `us` | `eu` |  | data centre |',
        '| `endpoint` | URL |  |  | base URL override |',
        '| `apiKey` | string |  | yes | the key \\| the only one |',
        '| `eventNames` | { [key]: string \\| null } |  |  |  |',
        '| `retries` | integer | `3` |  |  |',
      ].join('\n'),
    );
  });

  it('replaces what lies between the markers and keeps the rest', () => {
    const readme = `# x\n\n${SETTINGS_TABLE_START}\nold table\n${SETTINGS_TABLE_END}\n\nmore\n`;
    expect(withSettingsTable(readme, 'new table')).toBe(`# x\n\n${SETTINGS_TABLE_START}\nnew table\n${SETTINGS_TABLE_END}\n\nmore\n`);
    expect(withSettingsTable(withSettingsTable(readme, 'new table'), 'new table')).toBe(withSettingsTable(readme, 'new table'));
  });

  it('refuses a README without the markers', () => {
    expect(() => withSettingsTable('# x\n', 'table')).toThrow('the README has no');
    expect(() => withSettingsTable(`${SETTINGS_TABLE_END}\n${SETTINGS_TABLE_START}`, 'table')).toThrow('the README has no');
  });
});
