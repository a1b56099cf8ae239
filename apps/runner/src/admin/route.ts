import type { z } from 'zod';
import { parseInput } from './errors';
import type { DeepReadonly } from './schema';

/**
 * An admin route as data: what it takes and answers (zod schemas) and the operation it runs. The HTTP
 * routes under /admin, the OpenAPI document, the command line and the console's types all come from
 * these declarations; nothing else in the runner spells a route.
 */
export interface AdminRoute<
  Ops = never,
  Params extends z.ZodType | undefined = z.ZodType | undefined,
  Query extends z.ZodType | undefined = z.ZodType | undefined,
  Body extends z.ZodType | undefined = z.ZodType | undefined,
  Response extends z.ZodType = z.ZodType,
> {
  /** The OpenAPI operationId; the console's types are named after it. */
  readonly id: string;
  readonly method: 'GET' | 'POST';
  /** Under /admin, with Fastify's `:name` parameters. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly params?: Params;
  readonly query?: Query;
  readonly body?: Body;
  /** How a 400 names the body: "invalid replay request". */
  readonly bodyName?: string;
  /** The status of a success: 200 unless the route only starts the work (202). */
  readonly status?: 200 | 202;
  readonly response: Response;
  /** The refusals besides 400 (bad input) it may answer, with what they mean. */
  readonly refusals?: Readonly<Partial<Record<404 | 409, string>>>;
  /** Runs the operation on parsed input; `raw` is the input as it arrived (a replay job keeps its request so). */
  handle(ops: Ops, input: ParsedInput<Params, Query, Body>, raw: RawInput): Answer<Response> | Promise<Answer<Response>>;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ParsedInput<Params, Query, Body> {
  readonly params: Output<Params>;
  readonly query: Output<Query>;
  readonly body: Output<Body>;
}

/** A request's parts as they arrived, before their schemas parse them. */
export interface RawInput {
  readonly params?: unknown;
  readonly query?: unknown;
  readonly body?: unknown;
}

/** What a route answers with a success: its response schema's output. */
export type Answer<Response extends z.ZodType> = DeepReadonly<z.output<Response>>;
export type AnswerOf<Route> = Route extends { readonly response: infer Response extends z.ZodType } ? Answer<Response> : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of routes holds every shape of input and answer
export type AnyRoute<Ops = any> = AdminRoute<Ops, any, any, any, any>;

/**
 * Declares routes over one concern's operations (`const route = routeFor<EventAdmin>()`); each keeps its
 * own input and answer types, so its handler is checked against its schemas.
 */
export function routeFor<Ops>() {
  return <
    Params extends z.ZodType | undefined = undefined,
    Query extends z.ZodType | undefined = undefined,
    Body extends z.ZodType | undefined = undefined,
    Response extends z.ZodType = z.ZodType,
  >(
    route: AdminRoute<Ops, Params, Query, Body, Response>,
  ): AdminRoute<Ops, Params, Query, Body, Response> => route;
}

/** Parses a request's parts through the route's schemas: an InputError names each wrong field. */
export function parseRouteInput(route: AnyRoute, raw: RawInput): ParsedInput<unknown, unknown, unknown> {
  return {
    params: route.params ? parseInput(route.params, raw.params, 'path') : undefined,
    query: route.query ? parseInput(route.query, raw.query, 'query') : undefined,
    body: route.body ? parseInput(route.body, raw.body, route.bodyName ?? 'body') : undefined,
  };
}
