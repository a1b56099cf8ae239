import { z } from 'zod';
import { routeFor, type AnyRoute } from './route';
import { errorAnswer } from './schema';

/** The OpenAPI 3.1 document of the admin API, built from the route declarations: served at GET /admin/openapi.json. */

/** A JSON Schema as zod writes it. */
export type JsonSchema = { [keyword: string]: unknown };

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly paths: Record<string, Record<string, JsonSchema>>;
  readonly components: { readonly schemas: Record<string, JsonSchema>; readonly securitySchemes: Record<string, JsonSchema> };
  readonly security: readonly Record<string, readonly string[]>[];
}

/** Where each named schema lives in the document. */
export const SCHEMA_REF = '#/components/schemas/';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'Done.',
  202: 'Started; the answer says how to follow it.',
  400: 'The request is wrong: `issues` names each field.',
  401: 'The Authorization header does not carry `Bearer <server.adminToken>`.',
  403: 'The admin API is disabled: the runner has no server.adminToken.',
};

export function openApiDocument(routes: readonly AnyRoute[]): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output') => hoistDefinitions(z.toJSONSchema(schema, { io }) as JsonSchema, schemas);
  const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
  const refusal = (description: string) => ({ description, content: json(convert(errorAnswer, 'output')) });

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = `/admin${route.path.replace(/:(\w+)/g, '{$1}')}`;
    const parameters = [
      ...parametersOf(route.params && convert(route.params, 'input'), 'path'),
      ...parametersOf(route.query && convert(route.query, 'input'), 'query'),
    ];
    const body = route.body && convert(route.body, 'input');
    const status = route.status ?? 200;
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: route.id,
      summary: route.summary,
      ...(route.description && { description: route.description }),
      ...(parameters.length > 0 && { parameters }),
      ...(body && { requestBody: { required: bodyRequired(body, schemas), content: json(body) } }),
      responses: {
        [status]: { description: STATUS_TEXT[status], content: json(convert(route.response, 'output')) },
        ...(parameters.length > 0 || body ? { 400: refusal(STATUS_TEXT[400]) } : {}),
        401: refusal(STATUS_TEXT[401]),
        403: refusal(STATUS_TEXT[403]),
        ...Object.fromEntries(Object.entries(route.refusals ?? {}).map(([code, description]) => [code, refusal(description)])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ferry admin API',
      version: '1',
      description:
        'Events, deliveries, replay, destinations and their pauses, orphans, erasure and preview. Every route needs the admin token.',
    },
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: "The runner's `server.adminToken`." } },
    },
    security: [{ adminToken: [] }],
  };
}

/**
 * Moves the named schemas zod puts under `$defs` into the document's components, pointing references
 * there. A name stands for one schema: two different ones under one name are a mistake in the declarations.
 */
function hoistDefinitions(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _dialect, $defs = {}, ...root } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const repoint = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(repoint);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key === '$ref' && typeof inner === 'string' ? inner.replace('#/$defs/', SCHEMA_REF) : repoint(inner),
      ]),
    );
  };
  for (const [name, definition] of Object.entries($defs)) {
    const pointed = repoint(definition) as JsonSchema;
    if (components[name] && JSON.stringify(components[name]) !== JSON.stringify(pointed)) {
      throw new Error(`two different schemas are named ${name} (an input and an output differ?)`);
    }
    components[name] = pointed;
  }
  return repoint(root) as JsonSchema;
}

/** One parameter per property of an object schema (a path's or a query's). */
function parametersOf(schema: JsonSchema | undefined, place: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const { properties = {}, required = [] } = schema as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: place,
    required: place === 'path' || required.includes(name),
    ...(description !== undefined && { description }),
    schema: property,
  }));
}

/** A body may be left out when it is an object with nothing required (a pause without a reason). */
function bodyRequired(body: JsonSchema, schemas: Record<string, JsonSchema>): boolean {
  const ref = typeof body.$ref === 'string' ? schemas[body.$ref.slice(SCHEMA_REF.length)] : body;
  return !(ref?.type === 'object' && !(ref.required as unknown[] | undefined)?.length);
}

/** What the document's route runs on: the document of the routes it serves beside. */
export interface ApiDocs {
  document(): OpenApiDocument;
}

export const describeApi = routeFor<ApiDocs>()({
  id: 'describeApi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This document: every admin route with its request and response schemas',
  response: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document.'),
  handle: (docs) => docs.document() as unknown as Record<string, unknown>,
});
