import type { DestinationPause, StoreStats } from '@ferry/core';
import { DELIVERY_ROUTES, DeliveryAdmin } from './deliveries';
import type { AdminDeps } from './deps';
import { DESTINATION_ROUTES, DestinationAdmin, type DestinationView } from './destinations';
import { ERASURE_ROUTES, ErasureAdmin } from './erasure';
import { EVENT_ROUTES, EventAdmin } from './events';
import { describeApi, openApiDocument, type OpenApiDocument } from './openapi';
import { ORPHAN_ROUTES, OrphanAdmin, type OrphanView } from './orphans';
import { PREVIEW_ROUTES, PreviewAdmin } from './preview';
import { SOURCE_ROUTES, SourceAdmin } from './sources';
import { USER_ROUTES, UserAdmin } from './users';
import { parseRouteInput, type AnswerOf, type AnyRoute, type RawInput } from './route';

/** A route with the operations it runs on: what the HTTP server and the command line call. */
export interface BoundRoute {
  readonly route: AnyRoute;
  call(raw: RawInput): Promise<unknown>;
}

function bind<Ops>(ops: Ops, routes: readonly AnyRoute<Ops>[]): BoundRoute[] {
  return routes.map((route) => ({ route, call: async (raw) => route.handle(ops, parseRouteInput(route, raw), raw) }));
}

/**
 * Every admin operation, once, concern by concern: the HTTP routes under /admin and the `ferry` command
 * line both call its routes, so they validate and answer alike.
 */
export class AdminService {
  readonly sources: SourceAdmin;
  readonly events: EventAdmin;
  readonly users: UserAdmin;
  readonly deliveries: DeliveryAdmin;
  readonly destinations: DestinationAdmin;
  readonly orphans: OrphanAdmin;
  readonly erasure: ErasureAdmin;
  readonly previews: PreviewAdmin;
  /** Every admin route bound to this service's operations, in the order the OpenAPI document lists them. */
  readonly routes: readonly BoundRoute[];
  private document?: OpenApiDocument;

  constructor(deps: AdminDeps) {
    this.sources = new SourceAdmin(deps);
    this.events = new EventAdmin(deps);
    this.users = new UserAdmin(deps);
    this.deliveries = new DeliveryAdmin(deps);
    this.destinations = new DestinationAdmin(deps);
    this.orphans = new OrphanAdmin(deps);
    this.erasure = new ErasureAdmin(deps);
    this.previews = new PreviewAdmin(deps);
    this.routes = [
      ...bind(this.events, EVENT_ROUTES),
      ...bind(this.users, USER_ROUTES),
      ...bind(this.deliveries, DELIVERY_ROUTES),
      ...bind(this.destinations, DESTINATION_ROUTES),
      ...bind(this.sources, SOURCE_ROUTES),
      ...bind(this.orphans, ORPHAN_ROUTES),
      ...bind(this.erasure, ERASURE_ROUTES),
      ...bind(this.previews, PREVIEW_ROUTES),
      ...bind({ document: () => this.apiDocument() }, [describeApi]),
    ];
  }

  /** Runs a route as a request would: its input parsed through its schemas (an InputError names each wrong field). */
  async call<Route extends AnyRoute>(route: Route, raw: RawInput = {}): Promise<AnswerOf<Route>> {
    const bound = this.routes.find((candidate) => candidate.route === route);
    if (!bound) throw new Error(`${route.id} is not an admin route`);
    return (await bound.call(raw)) as AnswerOf<Route>;
  }

  /** The OpenAPI document of every route. */
  apiDocument(): OpenApiDocument {
    return (this.document ??= openApiDocument(this.routes.map(({ route }) => route)));
  }

  /** For the metrics, from statistics already read. */
  destinationViews(stats: StoreStats, pauses: readonly DestinationPause[] = []): DestinationView[] {
    return this.destinations.views(stats, pauses);
  }

  orphanViews(stats: StoreStats): OrphanView[] {
    return this.orphans.views(stats);
  }
}

/** The admin API's OpenAPI document, without a runner (for generating the console's types). */
export function adminApiDocument(): OpenApiDocument {
  return new AdminService({ destinations: [], sources: [] }).apiDocument();
}
