import { readFileSync } from 'node:fs';
import { DELIVERY_STATES } from '@ferry/core';
import { CONSOLE_TYPES_FILE, consoleTypes } from './console-types';
import type { OpenApiDocument } from './openapi';
import { adminApiDocument } from './service';

it("the console's admin-api.ts is what the admin routes' schemas generate (when stale: npm run docs:api)", () => {
  expect(readFileSync(CONSOLE_TYPES_FILE, 'utf-8')).toBe(consoleTypes(adminApiDocument()));
});

/** A document with these named schemas and no route. */
const withSchemas = (schemas: OpenApiDocument['components']['schemas']): OpenApiDocument => ({
  ...adminApiDocument(),
  paths: {},
  components: { schemas, securitySchemes: {} },
});

describe('the types it writes', () => {
  const generated = consoleTypes(adminApiDocument());

  it("give the console core's delivery states as a value, in the transition table's order", () => {
    const line = generated.split('\n').find((candidate) => candidate.startsWith('export const DELIVERY_STATES'));
    expect(line).toBe(`export const DELIVERY_STATES: readonly DeliveryState[] = [${DELIVERY_STATES.map((s) => `'${s}'`).join(', ')}];`);
  });

  it("name each route's answer, body and query after its operation", () => {
    expect(generated).toContain('export interface ListEventsResponse {\n  events: EventListRow[];');
    expect(generated).toContain('export type ShowUserResponse = UserView;');
    expect(generated).toContain('export type CountReplayBody = ReplayRequest;');
    expect(generated).toContain('export type StartReplayBody = ReplayRequest;');
    expect(generated).toContain('export interface ListDeliveriesQuery {');
    expect(generated).toContain('  deliveries: CountsByState;');
    expect(generated).toContain('export type CountsByState = Record<DeliveryState, number>;');
  });

  it('break a union wider than the print width as prettier does', () => {
    const values = Array.from({ length: 12 }, (_, index) => `a_rather_long_value_${index}`);
    expect(consoleTypes(withSchemas({ Wide: { type: 'string', enum: values } }))).toContain(
      `export type Wide =\n${values.map((value) => `  | '${value}'`).join('\n')};`,
    );
  });

  it('refuse what they cannot write faithfully', () => {
    const inlineVariants = { anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'null' }] };
    expect(() => consoleTypes(withSchemas({ Mixed: inlineVariants }))).toThrow(/give each variant an id/);
    expect(() => consoleTypes(withSchemas({ Both: { allOf: [{ type: 'string' }, { minLength: 1 }] } }))).toThrow(/cannot write a type/);
  });
});
