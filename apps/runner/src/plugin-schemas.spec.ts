import { z } from 'zod';
import type { AnyDestinationPlugin } from '@ferry/core';
import { destinationPlugins } from './plugins';
import { pluginJsonSchemas } from './plugin-schemas';

const withSchemas = (id: string, schemas: Record<string, z.ZodType>) => ({ ...destinationPlugins[0], id, schemas }) as AnyDestinationPlugin;

it('serves the registered plugins’ schemas as JSON Schema of what they send', () => {
  const schemas = pluginJsonSchemas(destinationPlugins);
  expect([...schemas.keys()]).toEqual(['ferry-event']);
  expect(schemas.get('ferry-event')).toMatchObject({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Ferry subscription event',
    required: ['type', 'timestamp', 'data'],
  });
});

it('refuses a malformed schema name, or one two plugins share', () => {
  const event = z.object({ type: z.string() });
  expect(() => pluginJsonSchemas([withSchemas('a', { 'Ferry Event': event })])).toThrow('plugin a: schema name "Ferry Event"');
  expect(() => pluginJsonSchemas([withSchemas('a', { 'my-event': event }), withSchemas('b', { 'my-event': event })])).toThrow(
    'plugins a and b both declare the schema "my-event"',
  );
});
