import { z } from 'zod';
import type { EventRow } from '@ferry/core';
import { eventRow } from './records';
import { mirrors, time } from './schema';

describe('mirrors', () => {
  it("compiles only while a schema describes exactly its type (checked by the typecheck's @ts-expect-error lines)", () => {
    const missingField = eventRow.omit({ receivedAtMs: true });
    const widerField = eventRow.extend({ userId: z.string().nullable().optional() });
    // @ts-expect-error a field of EventRow is missing from the schema
    mirrors<EventRow>()(missingField);
    // @ts-expect-error the schema lets a required field be left out
    mirrors<EventRow>()(widerField);
    expect(mirrors<EventRow>()(eventRow)).toBe(eventRow);
  });
});

describe('time', () => {
  it.each([
    ['2025-03-01T00:00:00Z', Date.UTC(2025, 2, 1)],
    ['1740787200000', 1740787200000],
    [1740787200000, 1740787200000],
  ])('reads %j', (input, expected) => {
    expect(time.parse(input)).toBe(expected);
  });

  it.each(['yesterday-ish', '', '99999999999999999999', true])('refuses %j, saying what it expects', (input) => {
    expect(time.safeParse(input).error?.issues[0].message).toMatch(/ISO 8601 time or milliseconds since the epoch/);
  });
});
