import { issuesFromZod, MIN_SECRET_LENGTH, redactSettings, secretSettingKeys, stringLeaves, type AnyDestinationPlugin } from '@ferry/core';
import { z } from 'zod';
import type { DestinationContractOptions } from './options';
import { findSecret, type KnownSecret } from './secret-search';
import { formatIssues, kitSettings, knownSecrets, parseSettings, violation, type ContractCheck } from './support';

const NOT_OBJECTS: readonly unknown[] = [null, [], 'settings', 42];

/** The schema accepts the documented example and the kit's settings, and names the path of every problem. */
export function settingsChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  return [
    {
      title: 'accepts the documented example (exampleSettings)',
      run: () => void parseSettings(plugin, plugin.exampleSettings, 'exampleSettings'),
    },
    {
      title: 'accepts the settings given to the kit',
      run: () => void kitSettings(plugin, options),
    },
    {
      title: 'a fully configured destination misses nothing (missingConfig)',
      run() {
        const { settings, sandboxSettings } = kitSettings(plugin, options);
        for (const [label, parsed] of [
          ['options.settings', settings],
          ['options.sandboxSettings', sandboxSettings],
        ] as const) {
          if (parsed === undefined) continue;
          const missing = plugin.missingConfig?.(parsed) ?? [];
          if (missing.length > 0) violation(`missingConfig(${label}) says ${missing.join('; ')}`);
        }
      },
    },
    {
      title: 'rejects a config that is not an object',
      run() {
        for (const input of NOT_OBJECTS) {
          if (plugin.settings.safeParse(input).success) violation(`accepted ${JSON.stringify(input)} as settings`);
        }
      },
    },
    {
      title: 'is given bad configs to check (options.invalidSettings)',
      run() {
        if (options.invalidSettings.length === 0)
          violation('options.invalidSettings is empty: give at least one bad config and the paths it must name');
      },
    },
    ...options.invalidSettings.map((bad) => ({
      title: `rejects ${JSON.stringify(bad.settings)}, naming ${bad.paths.join(', ') || '(no path given)'}`,
      run() {
        if (bad.paths.length === 0) violation('an invalid settings case must name at least one path');
        const result = plugin.settings.safeParse({ ...options.settings, ...bad.settings });
        if (result.success) violation(`accepted ${JSON.stringify(bad.settings)} laid over options.settings`);
        const reported = new Set(issuesFromZod(result.error.issues).map((issue) => issue.path));
        const expected = new Set(bad.paths);
        const same = reported.size === expected.size && [...expected].every((path) => reported.has(path));
        if (!same) violation(`expected problems at ${[...expected].join(', ')}; the schema reported ${formatIssues(result.error.issues)}`);
      },
    })),
  ];
}

const SECRET_NAME = /password|passcode|passphrase|secret|token|apikey|privatekey|accesskey|credential|authorization/;

/** Whether a setting's name says it holds a credential, compared without case, dashes or underscores (`api_key` = `apiKey`). */
export function namedLikeCredential(name: string): boolean {
  return SECRET_NAME.test(name.toLowerCase().replace(/[-_]/g, ''));
}

/** Every secret is declared, set by the kit, and never shown: redacted settings, validation errors, missingConfig. */
export function secretsChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const secretsOf = () => knownSecrets(plugin, kitSettings(plugin, options));
  return [
    {
      title: 'secrets are the settings the schema marks with secret()',
      run() {
        let marked: string[];
        try {
          marked = secretSettingKeys(plugin.settings);
        } catch (error) {
          return violation(`secrets cannot be read from the settings schema: ${(error as Error).message}`);
        }
        const unmarked = plugin.secrets.filter((key) => !marked.includes(key));
        if (unmarked.length > 0) violation(`mark ${unmarked.join(', ')} with secret() in the settings schema`);
        const unlisted = marked.filter((key) => !plugin.secrets.includes(key));
        if (unlisted.length > 0)
          violation(`${unlisted.join(', ')} marked secret but not in secrets: use secrets: secretSettingKeys(schema)`);
      },
    },
    {
      title: 'every declared secret is set by the kit to a value it can look for',
      run() {
        const { settings, sandboxSettings } = kitSettings(plugin, options);
        for (const key of plugin.secrets) {
          // A secret may be an object of credentials (static headers, say): then each of its strings counts.
          const values = [settings, sandboxSettings].flatMap((s) => stringLeaves((s as Record<string, unknown> | undefined)?.[key]));
          if (!values.some((v) => v.length >= MIN_SECRET_LENGTH)) {
            violation(
              `secret "${key}" must be a top-level setting that options.settings or sandboxSettings set to ≥ ${MIN_SECRET_LENGTH} characters (or to an object of such strings)`,
            );
          }
        }
      },
    },
    {
      title: 'settings named like credentials are declared secret',
      run() {
        const undeclared = settingNames(plugin, options).filter((name) => namedLikeCredential(name) && !plugin.secrets.includes(name));
        if (undeclared.length > 0) violation(`mark ${undeclared.join(', ')} with secret() in the settings schema`);
      },
    },
    {
      title: 'redacted settings show no secret',
      run() {
        const { settings, sandboxSettings } = kitSettings(plugin, options);
        const example = plugin.exampleSettings;
        const exampleSecrets: KnownSecret[] = knownSecrets(plugin, { settings: example, sandboxSettings: undefined });
        for (const [label, parsed, secrets] of [
          ['options.settings', settings, secretsOf()],
          ['options.sandboxSettings', sandboxSettings, secretsOf()],
          ['exampleSettings', example, exampleSecrets],
        ] as const) {
          if (parsed === undefined) continue;
          const leak = findSecret(JSON.stringify(redactSettings(parsed, plugin.secrets)), secrets);
          if (leak) violation(`redactSettings(${label}) shows ${leak}`);
        }
      },
    },
    {
      title: 'validation errors show no secret',
      run() {
        const secrets = secretsOf();
        for (const base of [options.settings, options.sandboxSettings]) {
          if (base === undefined) continue;
          for (const bad of options.invalidSettings) {
            const result = plugin.settings.safeParse({ ...base, ...bad.settings });
            const leak = result.success ? undefined : findSecret(formatIssues(result.error.issues), secrets);
            if (leak) violation(`the errors for ${JSON.stringify(bad.settings)} show ${leak}`);
          }
        }
      },
    },
    {
      title: 'missingConfig shows no secret',
      run() {
        const secrets = secretsOf();
        for (const base of [options.settings, options.sandboxSettings]) {
          if (base === undefined) continue;
          // With each secret removed in turn, so missingConfig has something to say.
          for (const removed of [undefined, ...plugin.secrets]) {
            const input = removed === undefined ? base : { ...base, [removed]: undefined };
            const result = plugin.settings.safeParse(input);
            const leak = result.success ? findSecret((plugin.missingConfig?.(result.data) ?? []).join('\n'), secrets) : undefined;
            if (leak) violation(`missingConfig shows ${leak}`);
          }
        }
      },
    },
  ];
}

/** Top-level setting names: the schema's properties and whatever the kit's settings and the example set. */
function settingNames(plugin: AnyDestinationPlugin, options: DestinationContractOptions): string[] {
  const names = new Set([...Object.keys(options.settings), ...Object.keys(options.sandboxSettings ?? {})]);
  for (const key of Object.keys(plugin.exampleSettings ?? {})) names.add(key);
  for (const key of schemaPropertyNames(plugin.settings)) names.add(key);
  return [...names];
}

/** The top-level properties a settings schema declares; none when JSON Schema cannot express it (the names in use are still checked). */
export function schemaPropertyNames(settings: z.ZodType): string[] {
  try {
    const schema = z.toJSONSchema(settings, { io: 'input', unrepresentable: 'any' }) as { properties?: object };
    return Object.keys(schema.properties ?? {});
  } catch {
    return [];
  }
}
